"""``adfs.dns``: the federation service name resolves through the internal resolvers and
through the external ones, and the answers follow the usual split-brain layout (inside →
the AD FS farm, outside → the WAP). It cannot see NAT: an outside address that is not a
listed WAP is reported, not judged. A CNAME inside is flagged (browsers build the
Kerberos SPN from the canonical name, so Windows integrated sign-in breaks).
"""

from __future__ import annotations

from typing import Any

from accessready.agent.core.model import Result, Status, t
from accessready.agent.plugin.checkapi import CheckContext, Target
from accessready.checks.adfs.base import (
    LOOKUP_CAP,
    AdfsCheck,
    adfs_nodes,
    is_address,
    node_role,
    resolve_addresses,
)
from accessready.checks.adfs.http_texts import DNS_REMEDIATION
from accessready.checks.common.findings import Finding, conclude


class AdfsDnsCheck(AdfsCheck):
    """The federation service name resolves inside and outside, in a split-brain layout."""

    id = "adfs.dns"
    title = t("AD FS name in DNS", "AD FS-namnet i DNS")
    description = t(
        "The federation service name resolves through the internal and the external "
        "resolvers; inside it points at the AD FS farm, outside at the Web Application Proxy.",
        "Federationstjänstens namn går att slå upp via de interna och de externa "
        "DNS-servrarna; internt pekar det på AD FS-servrarna, externt på Web Application "
        "Proxy.")
    needs = ("dns",)
    remediation = DNS_REMEDIATION

    def run(self, ctx: CheckContext, target: Target) -> Result:
        cfg = ctx.profile.adfs
        assert cfg is not None
        fs = cfg.federation_service
        resolvers = ctx.service("dns")
        internal_configured = bool(resolvers.servers("internal"))
        views = (["internal"] if internal_configured else []) + ["external"]
        seen: dict[str, dict[str, Any]] = {}
        for view in views:
            addresses, evidence, outcome = resolve_addresses(ctx, fs, view)
            seen[view] = {"addresses": addresses, "outcome": outcome, "answers": evidence,
                          "resolvers": [str(s) for s in resolvers.servers(view)] or ["system"]}
        if internal_configured and seen["internal"]["outcome"] != "unanswered":
            cname = resolvers.lookup(fs, "CNAME", view="internal",
                                     timeout=ctx.timeout(LOOKUP_CAP))
            seen["internal"]["cname"] = cname.to_json()
        node_addr: dict[str, set[str]] = {"adfs": set(), "wap": set()}
        nodes_ev = []
        node_view = "internal" if internal_configured else "external"
        view_silent = seen[node_view]["outcome"] == "unanswered"
        for node in adfs_nodes(ctx.profile):
            if view_silent and not is_address(node.address):
                nodes_ev.append({"name": node.name, "role": node_role(node),
                                 "address": node.address, "resolved": [],
                                 "outcome": "not asked: the resolvers did not answer"})
                continue
            addrs, _, outcome = resolve_addresses(ctx, node.address, node_view)
            node_addr[node_role(node)].update(addrs)
            nodes_ev.append({"name": node.name, "role": node_role(node),
                             "address": node.address, "resolved": addrs, "outcome": outcome})
        details: dict[str, Any] = {"name": fs, "views": seen, "nodes": nodes_ev}
        if not internal_configured:
            details["note"] = "network.internal_resolvers is empty: only one view was asked"
        findings = self._judge(fs, seen, node_addr, internal_configured)
        inside = ", ".join(seen.get("internal", {}).get("addresses", [])) or "-"
        outside = ", ".join(seen["external"]["addresses"]) or "-"
        ok_en = (f"{fs}: inside → {inside}, outside → {outside}." if internal_configured
                 else f"{fs} → {outside} (no internal resolvers configured).")
        ok_sv = (f"{fs}: internt → {inside}, externt → {outside}." if internal_configured
                 else f"{fs} → {outside} (inga interna DNS-servrar angivna).")
        status, summary, fix = conclude(findings, ok_en, ok_sv)
        if status is not Status.PASS:
            summary = t(f"{ok_en} {summary.en}", f"{ok_sv} {summary.sv}")
        return self.result(target, status, summary, details, fix)

    @staticmethod
    def _judge(fs: str, seen: dict[str, dict[str, Any]], nodes: dict[str, set[str]],
               internal_configured: bool) -> list[Finding]:
        findings: list[Finding] = []
        ext = seen["external"]
        if ext["outcome"] == "missing":
            findings.append(Finding(Status.FAIL, "It does not resolve outside: users on the "
                                    "Internet cannot reach the sign-in page.",
                                    "Namnet går inte att slå upp externt: användare på "
                                    "internet når inte inloggningssidan.", "missing_external"))
        elif ext["outcome"] == "unanswered":
            findings.append(Finding(Status.ERROR, "The external resolvers did not answer.",
                                    "De externa DNS-servrarna svarade inte.", "error"))
        if internal_configured:
            inside = seen["internal"]
            if inside["outcome"] == "missing":
                findings.append(Finding(Status.FAIL, "It does not resolve inside: the WAP "
                                        "and internal clients cannot find AD FS.",
                                        "Namnet går inte att slå upp internt: WAP och interna "
                                        "klienter hittar inte AD FS.", "missing_internal"))
            elif inside["outcome"] == "unanswered":
                findings.append(Finding(Status.ERROR, "The internal resolvers did not answer.",
                                        "De interna DNS-servrarna svarade inte.", "error"))
            if inside.get("cname", {}).get("outcome") == "ok":
                target = ", ".join(inside["cname"]["records"])
                findings.append(Finding(Status.WARN, f"Inside it is a CNAME (→ {target}).",
                                        f"Internt är det en CNAME (→ {target}).", "cname"))
        ext_set = set(ext["addresses"])
        int_set = set(seen.get("internal", {}).get("addresses", []))
        if ext_set & nodes["adfs"]:
            findings.append(Finding(Status.WARN, "The outside answer is an AD FS server "
                                    "itself, not the WAP.", "Det externa svaret är en "
                                    "AD FS-server, inte WAP.", "outside_to_adfs"))
        if int_set & nodes["wap"] and not int_set & nodes["adfs"]:
            findings.append(Finding(Status.WARN, "The inside answer is the WAP, not the AD FS "
                                    "farm.", "Det interna svaret är WAP, inte AD FS-servrarna.",
                                    "inside_to_wap"))
        elif int_set and int_set == ext_set:
            findings.append(Finding(Status.WARN, "Inside and outside get the same answer: no "
                                    "split-brain DNS.", "Internt och externt ges samma svar: "
                                    "ingen delad DNS (split-brain).", "no_split"))
        if findings:
            return findings
        notes: list[Finding] = []
        if int_set and nodes["adfs"] and not int_set & nodes["adfs"]:
            notes.append(Finding(Status.PASS, "The inside address is not a listed AD FS "
                                 "server (a load balancer?).", "Den interna adressen är "
                                 "ingen angiven AD FS-server (en lastbalanserare?)."))
        if ext_set and nodes["wap"] and not ext_set & nodes["wap"]:
            notes.append(Finding(Status.PASS, "The outside address is not a listed WAP "
                                 "(public NAT or a load balancer?).", "Den externa adressen "
                                 "är ingen angiven WAP (publik NAT eller lastbalanserare?)."))
        return notes
