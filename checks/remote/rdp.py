"""``remote.rdp``: RDP answers; which security protocols it accepts; whether NLA is
required (see :mod:`accessready.checks.remote` for what the remote checks prove)."""

from __future__ import annotations

import dataclasses
from typing import Any

from accessready.agent.core.model import Requirement, Result, Status, Text, t
from accessready.agent.core.profile_types import Profile, Server
from accessready.agent.io.net import tcp_exchange
from accessready.agent.plugin.checkapi import Check, CheckContext, Contact, Target
from accessready.agent.plugin.serverscript import server_targets
from accessready.agent.plugin.transport_texts import (
    KIND_OWNERS,
    KIND_REMEDIATION,
)
from accessready.checks.protocols import rdp

from .outcomes import probe_failure_result


def _confirm_complete(data: bytes) -> bool:
    """Stop reading once one TPKT packet is in (or the bytes cannot be one)."""
    if len(data) < 4:
        return False
    try:
        return len(data) >= rdp.tpkt_length(data[:4])
    except rdp.RdpParseError:
        return True


REQUEST_CAP_S = 4.0  # each X.224 request (connect included) takes at most this

class RdpCheck(Check):
    """RDP answers; which security protocols it accepts; whether NLA is required."""

    id = "remote.rdp"
    owners = KIND_OWNERS
    requirement = Requirement.REMOTE
    title = t("RDP reachable", "RDP nåbart")
    description = t(
        "X.224 connection negotiation: the server speaks RDP; accepted security protocols; "
        "NLA (CredSSP) required or not.",
        "X.224-förhandling: servern talar RDP; vilka säkerhetsprotokoll den godtar; om NLA "
        "(CredSSP) krävs.")
    needs = ("network",)
    remediation = {
        **KIND_REMEDIATION,
        "default": t("Allow Remote Desktop on the server and open TCP 3389 (or the port in the "
                     "profile) from the supplier through the VPN.",
                     "Tillåt fjärrskrivbord på servern och öppna TCP 3389 (eller porten i "
                     "profilen) från leverantören genom VPN:et."),
        "classic": t("The server accepts classic RDP security, which is weak. Set the RDP-Tcp "
                     "security layer to TLS (SSL) and require Network Level Authentication "
                     "(System Properties → Remote → 'Allow connections only from computers "
                     "running Remote Desktop with Network Level Authentication').",
                     "Servern godtar klassisk RDP-säkerhet, som är svag. Sätt RDP-Tcp:s "
                     "säkerhetslager till TLS (SSL) och kräv autentisering på nätverksnivå "
                     "(Systemegenskaper → Fjärranslutning → 'Tillåt endast anslutningar från "
                     "datorer som kör Fjärrskrivbord med autentisering på nätverksnivå')."),
        "nla": t("The server lets anyone reach its logon screen without Network Level "
                 "Authentication. Microsoft recommends requiring NLA: System Properties → "
                 "Remote → 'Allow connections only from computers running Remote Desktop with "
                 "Network Level Authentication'.",
                 "Servern visar inloggningsskärmen för vem som helst utan autentisering på "
                 "nätverksnivå (NLA). Microsoft rekommenderar att NLA krävs: Systemegenskaper "
                 "→ Fjärranslutning → 'Tillåt endast anslutningar från datorer som kör "
                 "Fjärrskrivbord med autentisering på nätverksnivå'."),
        "nla_unknown": t("The server's answers do not say whether Network Level "
                         "Authentication is required. Check on the server: System Properties → "
                         "Remote → 'Allow connections only from computers running Remote "
                         "Desktop with Network Level Authentication', and the RDP-Tcp "
                         "security layer (the evidence shows the failure code it sent).",
                         "Serverns svar säger inte om autentisering på nätverksnivå (NLA) "
                         "krävs. Kontrollera på servern: Systemegenskaper → Fjärranslutning → "
                         "'Tillåt endast anslutningar från datorer som kör Fjärrskrivbord med "
                         "autentisering på nätverksnivå', och säkerhetslagret för RDP-Tcp "
                         "(underlaget visar felkoden den skickade)."),
        "protocol": t("Something other than RDP answers on this port: check the port in the "
                      "profile (rdp = { port = … }) and what listens there.",
                      "Något annat än RDP svarar på porten: kontrollera porten i profilen "
                      "(rdp = { port = … }) och vad som lyssnar där."),
    }

    def targets(self, profile: Profile) -> list[Target]:
        return server_targets(profile, ("rdp",))

    def first_contact(self, target: Target) -> Contact:
        server: Server = target.data
        return Contact(server.address, server.rdp.port, REQUEST_CAP_S)

    def run(self, ctx: CheckContext, target: Target) -> Result:
        server: Server = target.data
        host, port = server.address, server.rdp.port
        probes: list[dict[str, Any]] = []
        replies: dict[int, rdp.ConnectionConfirm] = {}
        garbage = False
        for requested in rdp.PROBE_REQUESTS:
            names = "|".join(rdp.protocol_names(requested))
            request = rdp.build_connection_request(requested)
            exchange = tcp_exchange(host, port, request, _confirm_complete,
                                    ctx.timeout(REQUEST_CAP_S), max_bytes=4096)
            if not exchange.ok:
                # Nothing answered the first request: the next two would not fare better.
                if not probes and exchange.kind not in ("protocol", "closed", "reset",
                                                        "too_big"):
                    return probe_failure_result(self, target, exchange, f"RDP {host}:{port}",
                                                {"endpoint": f"{host}:{port}"})
                probes.append({"requested": names, "failure": exchange.kind,
                               "message": exchange.message})
                continue
            entry = {"requested": names, **exchange.to_json()}
            try:
                length = rdp.tpkt_length(exchange.received[:4])
                confirm = rdp.parse_connection_confirm(exchange.received[:length])
            except rdp.RdpParseError as exc:
                garbage = True
                entry["parse_error"] = str(exc)
                probes.append(entry)
                continue
            replies[requested] = confirm
            entry["reply"] = {k: v for k, v in dataclasses.asdict(confirm).items()
                              if v not in (None, (), 0) or k == "selected_protocol"}
            probes.append(entry)
        assessment = rdp.assess(replies)
        details: dict[str, Any] = {"endpoint": f"{host}:{port}", "probes": probes,
                                   "assessment": dataclasses.asdict(assessment)}
        where = f"{host}:{port}"
        if not assessment.speaks_rdp:
            why = t("answers, but not with RDP", "svarar, men inte med RDP") if garbage else \
                t("accepts connections but gave no RDP answer",
                  "tar emot anslutningar men gav inget RDP-svar")
            return self.result(target, Status.FAIL, t(f"RDP {where} {why.en}.",
                                                      f"RDP {where} {why.sv}."),
                               details, fix="protocol")
        accepted = ", ".join(assessment.accepted_protocol_names) or "-"
        if assessment.nla_required:
            return self.result(target, Status.PASS, t(
                f"RDP answers on {where}; NLA (CredSSP) is required; accepted: {accepted}.",
                f"RDP svarar på {where}; NLA (CredSSP) krävs; godtar: {accepted}."), details)
        if assessment.nla_required is None:
            # Only an answer that says so decides NLA: an unknown refusal code does not.
            return self.result(target, Status.WARN, self._nla_undecided(
                where, assessment, accepted), details, fix="nla_unknown")
        # xrdp: asked for CredSSP, it selects TLS — compare selected with requested.
        got_tls = assessment.nla_supported is False and rdp.PROTOCOL_SSL in \
            assessment.accepted_protocols
        nla_en = "NLA is not required" + (" (asked for CredSSP, got TLS)" if got_tls else "")
        nla_sv = "NLA krävs inte" + (" (bad om CredSSP, fick TLS)" if got_tls else "")
        if assessment.classic_rdp_security_allowed:
            return self.result(target, Status.WARN, t(
                f"RDP answers on {where}, but accepts classic RDP security; {nla_en}; "
                f"accepted: {accepted}.",
                f"RDP svarar på {where}, men godtar klassisk RDP-säkerhet; {nla_sv}; "
                f"godtar: {accepted}."), details, fix="classic")
        return self.result(target, Status.WARN, t(
            f"RDP answers on {where}; {nla_en}; accepted: {accepted}.",
            f"RDP svarar på {where}; {nla_sv}; godtar: {accepted}."), details, fix="nla")


    @staticmethod
    def _nla_undecided(where: str, assessment: rdp.RdpAssessment, accepted: str) -> Text:
        """RDP answers, but no reply says whether NLA is required: say what came back."""
        codes = ", ".join(f"{c} (0x{c:02X})" for c in assessment.unknown_failure_codes)
        if codes:
            why_en = f"the server refused with failure code {codes}, which RDP does not define"
            why_sv = (f"servern avvisade med felkod {codes}, som RDP inte definierar")
        else:
            why_en = "no request without CredSSP got an answer that says"
            why_sv = "ingen begäran utan CredSSP fick ett svar som säger det"
        return t(f"RDP answers on {where}; could not tell whether NLA is required: {why_en}; "
                 f"accepted: {accepted}.",
                 f"RDP svarar på {where}; kunde inte avgöra om NLA krävs: {why_sv}; "
                 f"godtar: {accepted}.")
