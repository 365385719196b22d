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
from accessready.agent.core.profile_types import AdfsCfg, Server
from accessready.agent.io.http import http_request
from accessready.agent.plugin.checkapi import Budget, CheckContext, Target
from accessready.checks.adfs.base import (
    CONNECT_CAP,
    METADATA_PATH,
    MEX_PATH,
    PROBE_PATH,
    AdfsCheck,
    http_port,
    https_port,
    probe_nodes,
    role_label,
    service_address,
    tls_options,
)
from accessready.checks.adfs.http_texts import PROBE_REMEDIATION
from accessready.checks.protocols.fedmeta import (
    MetadataParseError,
    parse_metadata,
    parse_mex,
)


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
        up_roles = {role for _, role, state, _ in outcomes
                    if state in ("up", "proven", "proven_by_metadata")}
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
        name = role_label(role)
        note_en = ("(/adfs/probe on a WAP answers even when AD FS behind it is down; "
                   "only the mex fetch proves the back end.)")
        note_sv = ("(/adfs/probe på en WAP svarar även när AD FS bakom den är nere; "
                   "först hämtningen av mex visar att AD FS svarar.)")
        if state == "unresolved":
            return self.result(label, Status.ERROR, t(
                "The federation service name does not resolve here (see adfs.dns).",
                "Federationstjänstens namn går inte att slå upp härifrån (se adfs.dns)."),
                details, "error")
        if state == "unknown":
            return self.result(label, Status.ERROR, t(
                f"{name}: /adfs/probe could not be reached from here "
                f"({details['probe'].get('message', '')}).",
                f"{name}: /adfs/probe gick inte att nå härifrån "
                f"({details['probe'].get('message', '')})."), details, "error")
        if state == "down":
            shown = details["probe"].get("status") or details["probe"].get("message", "")
            status = Status.WARN if role_up else Status.FAIL
            extra_en = ("another node of the same role still answers" if role_up
                        else f"no {name} node answers: sign-in is down")
            extra_sv = ("en annan server med samma roll svarar fortfarande" if role_up
                        else f"ingen {name}-server svarar: inloggningen fungerar inte")
            return self.result(label, status, t(
                f"{name}: /adfs/probe failed ({shown}); {extra_en}.",
                f"{name}: /adfs/probe misslyckades ({shown}); {extra_sv}."), details, "down")
        if state == "backend_down":
            shown = (details["mex"].get("status") or details["mex"].get("message", "")
                     or details.get("mex_parse_error", ""))
            if "metadata" in details:  # mex was off, and the metadata did not prove it either
                meta = details["metadata"]
                shown = f"{shown}; metadata: " + str(
                    meta.get("status") if meta.get("status") not in (None, 200) else
                    meta.get("message") or details.get("metadata_parse_error")
                    or ("not signed" if details.get("metadata_signed") is False else ""))
            return self.result(label, Status.FAIL, t(
                f"{name}: /adfs/probe answers 200, but AD FS behind it does not answer through "
                f"it (mex: {shown}). {note_en}",
                f"{name}: /adfs/probe svarar 200, men AD FS bakom den svarar inte genom den "
                f"(mex: {shown}). {note_sv}"), details, "backend")
        if state == "backend_unknown":
            return self.result(label, Status.WARN, t(
                f"{name}: /adfs/probe answers 200, but the back end could not be checked "
                f"(mex: {details['mex'].get('message', '')}). {note_en}",
                f"{name}: /adfs/probe svarar 200, men AD FS bakom den kunde inte kontrolleras "
                f"(mex: {details['mex'].get('message', '')}). {note_sv}"), details, "backend")
        if state == "proven_by_metadata":
            shown = details["mex"].get("status") or details.get("mex_parse_error", "")
            return self.result(label, Status.PASS, t(
                f"{name}: /adfs/probe answers 200; /adfs/services/trust/mex is not published "
                f"through it (mex: {shown}; proxies often turn it off), but signed federation "
                "metadata through it proves that AD FS behind it answers.",
                f"{name}: /adfs/probe svarar 200; /adfs/services/trust/mex publiceras inte "
                f"genom den (mex: {shown}; proxyer stänger ofta av den), men signerad "
                "federationsmetadata genom den visar att AD FS bakom den svarar."), details)
        if state == "proven":
            return self.result(label, Status.PASS, t(
                f"{name}: /adfs/probe answers 200, and /adfs/services/trust/mex through it "
                f"proves that AD FS behind it answers. {note_en}",
                f"{name}: /adfs/probe svarar 200, och /adfs/services/trust/mex genom den visar "
                f"att AD FS bakom den svarar. {note_sv}"), details)
        return self.result(label, Status.PASS, t(
            f"{name}: /adfs/probe answers 200 (served by the AD FS service itself).",
            f"{name}: /adfs/probe svarar 200 (levereras av AD FS-tjänsten själv)."), details)
