"""``adfs.dns``: the federation service name resolves through the internal resolvers and
through the external ones, and the answers follow the usual split-brain layout (inside →
the AD FS farm, outside → the WAP). It cannot see NAT: an outside address that is not a
listed WAP is reported, not judged. A CNAME inside is flagged (browsers build the
Kerberos SPN from the canonical name, so Windows integrated sign-in breaks).
"""

from __future__ import annotations

from typing import Any

from accessready.agent.core.model import Result, Status, t
from accessready.agent.io.dns import is_ip_literal
from accessready.agent.plugin.checkapi import CheckContext, Target
from accessready.checks.adfs.base import (
    LOOKUP_CAP,
    AdfsCheck,
    adfs_nodes,
    node_role,
    noted,
    resolve_addresses,
)
from accessready.checks.adfs.remediation import DNS_REMEDIATION
from accessready.checks.adfs.summaries import DNS_SAID, said
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
        internal_configured = bool(ctx.service("dns").servers("internal"))
        seen = self._views(ctx, fs, internal_configured)
        node_view = "internal" if internal_configured else "external"
        node_addr, nodes_ev = self._nodes(ctx, node_view,
                                          seen[node_view]["outcome"] == "unanswered")
        details: dict[str, Any] = {"name": fs, "views": seen, "nodes": nodes_ev}
        if not internal_configured:
            details["note"] = "network.internal_resolvers is empty: only one view was asked"
        findings = self._judge(fs, seen, node_addr, internal_configured)
        inside = ", ".join(seen.get("internal", {}).get("addresses", [])) or "-"
        outside = ", ".join(seen["external"]["addresses"]) or "-"
        answers = said(DNS_SAID["answers" if internal_configured else "outside_only"], fs=fs,
                       inside=inside, outside=outside)
        status, summary, fix = conclude(findings, answers.en, answers.sv)
        if status is not Status.PASS:
            summary = t(f"{answers.en} {summary.en}", f"{answers.sv} {summary.sv}")
        return self.result(target, status, summary, details, fix)

    @staticmethod
    def _views(ctx: CheckContext, fs: str,
               internal_configured: bool) -> dict[str, dict[str, Any]]:
        """The name's answers in each view asked (internal first), and its CNAME inside."""
        resolvers = ctx.service("dns")
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
        return seen

    @staticmethod
    def _nodes(ctx: CheckContext, view: str,
               view_silent: bool) -> tuple[dict[str, set[str]], list[dict[str, Any]]]:
        """The addresses of the listed AD FS and WAP nodes, by role, and their evidence.

        A view whose resolvers stayed silent for the service name is not asked again for
        each node: that would only spend the time the other checks need."""
        node_addr: dict[str, set[str]] = {"adfs": set(), "wap": set()}
        nodes_ev = []
        for node in adfs_nodes(ctx.profile):
            if view_silent and not is_ip_literal(node.address):
                nodes_ev.append({"name": node.name, "role": node_role(node),
                                 "address": node.address, "resolved": [],
                                 "outcome": "not asked: the resolvers did not answer"})
                continue
            addrs, _, outcome = resolve_addresses(ctx, node.address, view)
            node_addr[node_role(node)].update(addrs)
            nodes_ev.append({"name": node.name, "role": node_role(node),
                             "address": node.address, "resolved": addrs, "outcome": outcome})
        return node_addr, nodes_ev

    @staticmethod
    def _judge(fs: str, seen: dict[str, dict[str, Any]], nodes: dict[str, set[str]],
               internal_configured: bool) -> list[Finding]:
        findings: list[Finding] = []
        ext = seen["external"]
        if ext["outcome"] == "missing":
            findings.append(noted(Status.FAIL, DNS_SAID["missing_external"], "missing_external"))
        elif ext["outcome"] == "unanswered":
            findings.append(noted(Status.ERROR, DNS_SAID["external_silent"], "error"))
        if internal_configured:
            inside = seen["internal"]
            if inside["outcome"] == "missing":
                findings.append(noted(Status.FAIL, DNS_SAID["missing_internal"],
                                      "missing_internal"))
            elif inside["outcome"] == "unanswered":
                findings.append(noted(Status.ERROR, DNS_SAID["internal_silent"], "error"))
            if inside.get("cname", {}).get("outcome") == "ok":
                cname = ", ".join(inside["cname"]["records"])
                findings.append(noted(Status.WARN, said(DNS_SAID["cname"], target=cname),
                                      "cname"))
        ext_set = set(ext["addresses"])
        int_set = set(seen.get("internal", {}).get("addresses", []))
        if ext_set & nodes["adfs"]:
            findings.append(noted(Status.WARN, DNS_SAID["outside_to_adfs"], "outside_to_adfs"))
        if int_set & nodes["wap"] and not int_set & nodes["adfs"]:
            findings.append(noted(Status.WARN, DNS_SAID["inside_to_wap"], "inside_to_wap"))
        elif int_set and int_set == ext_set:
            findings.append(noted(Status.WARN, DNS_SAID["no_split"], "no_split"))
        if findings:
            return findings
        notes: list[Finding] = []
        if int_set and nodes["adfs"] and not int_set & nodes["adfs"]:
            notes.append(noted(Status.PASS, DNS_SAID["inside_unlisted"]))
        if ext_set and nodes["wap"] and not ext_set & nodes["wap"]:
            notes.append(noted(Status.PASS, DNS_SAID["outside_unlisted"]))
        return notes
