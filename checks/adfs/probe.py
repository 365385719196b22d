"""``adfs.probe``: ``http://<node>/adfs/probe`` answers 200, as load balancers expect. A
WAP answers it even when AD FS behind it is down, so for a WAP the back end is proven
separately by fetching ``/adfs/services/trust/mex`` through it (only AD FS writes that).
Many customers turn mex off on the proxy (404): then signed federation metadata fetched
through the same WAP proves the back end instead, and the mex answer is only named.
"""

from __future__ import annotations

from typing import Any

from accessready.agent.core.model import Result, Status, t
from accessready.agent.core.outcome import ProbeOutcome
from accessready.agent.core.profile_types import AdfsCfg, Profile, Server
from accessready.agent.io.http import http_request
from accessready.agent.plugin.checkapi import Budget, CheckContext, Target
from accessready.checks.adfs.base import (
    CONNECT_CAP,
    METADATA_PATH,
    MEX_PATH,
    PROBE_PATH,
    AdfsCheck,
    farm_target,
    http_port,
    https_port,
    probe_nodes,
    role_label,
    service_address,
    tls_options,
)
from accessready.checks.adfs.remediation import PROBE_REMEDIATION
from accessready.checks.adfs.summaries import PROBE_SAID, said
from accessready.checks.protocols.fedmeta import (
    MetadataParseError,
    parse_metadata,
    parse_mex,
)

# What a node's state means: its status and remediation key (``down`` is only a warning
# while another node of the same role answers). The wording is PROBE_SAID[state].
STATES: dict[str, tuple[Status, str | None]] = {
    "unresolved": (Status.ERROR, "error"),
    "unknown": (Status.ERROR, "error"),
    "down": (Status.FAIL, "down"),
    "backend_down": (Status.FAIL, "backend"),
    "backend_unknown": (Status.WARN, "backend"),
    "proven_by_metadata": (Status.PASS, None),
    "proven": (Status.PASS, None),
    "up": (Status.PASS, None),
}


class AdfsProbeCheck(AdfsCheck):
    """``/adfs/probe`` on every node, and proof that each WAP reaches AD FS."""

    id = "adfs.probe"
    title = t("AD FS health probe", "AD FS hälsoprob")
    description = t(
        "http://<node>/adfs/probe answers 200 on every AD FS and WAP node, as load balancers "
        "expect; through every WAP, /adfs/services/trust/mex (or, where the proxy turns mex "
        "off, signed federation metadata) proves that AD FS answers.",
        "http://<server>/adfs/probe svarar 200 på varje AD FS- och WAP-server, som "
        "lastbalanserare förväntar sig; via varje WAP visar /adfs/services/trust/mex (eller, "
        "där proxyn stängt av mex, signerad federationsmetadata) att AD FS svarar.")
    remediation = PROBE_REMEDIATION

    def targets(self, profile: Profile) -> list[Target]:
        return farm_target(profile, http_port, CONNECT_CAP)  # each node's first probe

    def run(self, ctx: CheckContext, target: Target) -> list[Result]:
        cfg = ctx.profile.adfs
        assert cfg is not None
        nodes = probe_nodes(ctx)
        outcomes: list[tuple[str, str, str, dict[str, Any]]] = []  # label, role, state, details
        for i, (label, role, address, server) in enumerate(nodes):
            left = len(nodes) - i
            details: dict[str, Any] = {"role": role, "port": http_port(cfg, server)}
            if address is None:
                address, dns_ev = service_address(ctx, cfg.federation_service)
                details["dns"] = dns_ev
            details["address"] = address
            if address is None:
                outcomes.append((label, role, "unresolved", details))
                continue
            state = self._probe(ctx, address, left, cfg, server, details)
            if state == "up" and role in ("wap", "service"):
                state = self._backend(ctx, address, left, cfg, server, details)
            outcomes.append((label, role, state, details))
        up_roles = {role for _, role, state, _ in outcomes if STATES[state][0] is Status.PASS}
        return [self._result(label, role, state, details, role in up_roles)
                for label, role, state, details in outcomes]

    @staticmethod
    def _probe(ctx: CheckContext, address: str, left: int, cfg: AdfsCfg,
               server: Server | None, details: dict[str, Any]) -> str:
        exchange = http_request(address, http_port(cfg, server), "GET", PROBE_PATH,
                                timeout=Budget(ctx, parts=left * 2, cap=CONNECT_CAP).timeout(),
                                max_body=65536, body_excerpt=120)
        details["probe"] = exchange.to_json()
        if not exchange.ok:
            return "unknown" if exchange.status is Status.ERROR else "down"
        return "up" if exchange.answer.status == 200 else "down"

    @staticmethod
    def _backend(ctx: CheckContext, address: str, left: int, cfg: AdfsCfg,
                 server: Server | None, details: dict[str, Any]) -> str:
        exchange = AdfsProbeCheck._through(ctx, address, left, cfg, server, MEX_PATH)
        details["mex"] = exchange.to_json()
        if not exchange.ok:
            return "backend_unknown" if exchange.status is Status.ERROR else "backend_down"
        if exchange.answer.status != 200:
            return AdfsProbeCheck._metadata_proof(ctx, address, left, cfg, server, details)
        try:
            mex = parse_mex(exchange.answer.body)
        except MetadataParseError as exc:
            details["mex_parse_error"] = str(exc)
            return AdfsProbeCheck._metadata_proof(ctx, address, left, cfg, server, details)
        details["mex_endpoints"] = list(mex.addresses[:10])
        return "proven"

    @staticmethod
    def _through(ctx: CheckContext, address: str, left: int, cfg: AdfsCfg,
                 server: Server | None, path: str) -> ProbeOutcome:
        """GET ``path`` over HTTPS from the node, as the federation service name."""
        return http_request(address, https_port(cfg, server), "GET", path,
                            tls=tls_options(ctx.profile, server),
                            server_name=cfg.federation_service,
                            timeout=Budget(ctx, parts=left * 2 - 1, cap=CONNECT_CAP).timeout(),
                            body_excerpt=120)

    @staticmethod
    def _metadata_proof(ctx: CheckContext, address: str, left: int, cfg: AdfsCfg,
                        server: Server | None, details: dict[str, Any]) -> str:
        """mex did not answer as AD FS does (hardened proxies turn it off): signed federation
        metadata through the same WAP proves AD FS behind it answers just as well."""
        exchange = AdfsProbeCheck._through(ctx, address, left, cfg, server, METADATA_PATH)
        details["metadata"] = exchange.to_json()
        if not exchange.ok:
            # as for mex: our own deadline or resolver proves nothing about the back end
            return "backend_unknown" if exchange.status is Status.ERROR else "backend_down"
        if exchange.answer.status != 200:
            return "backend_down"
        try:
            meta = parse_metadata(exchange.answer.body)
        except MetadataParseError as exc:
            details["metadata_parse_error"] = str(exc)
            return "backend_down"
        details["metadata_entity_id"] = meta.entity_id
        details["metadata_signed"] = meta.signed
        return "proven_by_metadata" if meta.signed else "backend_down"

    def _result(self, label: str, role: str, state: str, details: dict[str, Any],
                role_up: bool) -> Result:
        status, fix = STATES[state]
        key = state
        if state == "down" and role_up:  # load balancers still have a node of this role
            status, key = Status.WARN, "down_other_up"
        return self.result(label, status, said(PROBE_SAID[key], name=role_label(role),
                                               shown=self._shown(state, details),
                                               note=PROBE_SAID["wap_note"]), details, fix)

    @staticmethod
    def _shown(state: str, details: dict[str, Any]) -> object:
        """What the node answered, as the summary of ``state`` names it."""
        probe, mex = details.get("probe", {}), details.get("mex", {})
        if state == "unknown":
            return probe.get("message", "")
        if state == "down":
            return probe.get("status") or probe.get("message", "")
        if state == "backend_unknown":
            return mex.get("message", "")
        if state == "proven_by_metadata":
            return mex.get("status") or details.get("mex_parse_error", "")
        if state != "backend_down":
            return ""
        shown = mex.get("status") or mex.get("message", "") or details.get("mex_parse_error", "")
        if "metadata" in details:  # mex was off, and the metadata did not prove it either
            meta = details["metadata"]
            shown = f"{shown}; metadata: " + str(
                meta.get("status") if meta.get("status") not in (None, 200) else
                meta.get("message") or details.get("metadata_parse_error")
                or ("not signed" if details.get("metadata_signed") is False else ""))
        return shown
