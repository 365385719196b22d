"""``winvpn.pptp``: a PPTP server answers a Start-Control-Connection-Request (see
:mod:`.tunnels` for what this proves and cannot prove)."""

from __future__ import annotations

import dataclasses
from typing import Any

from accessready.agent.core.model import Result, Status, t
from accessready.agent.core.outcome import ProbeOutcome
from accessready.agent.io import net
from accessready.agent.plugin.checkapi import CheckContext, Target
from accessready.agent.plugin.probekit import describe_failure, endpoint, probe_fix
from accessready.checks.protocols import pptp

from .tunnels import WinVpnCheck

PPTP_CAP_S = 5.0

def _pptp_complete(data: bytes) -> bool:
    """One whole PPTP message is in; garbage that cannot be PPTP ends the read at once."""
    if len(data) < 2:
        return False
    try:
        return len(data) >= pptp.expected_reply_length(data)
    except pptp.PptpParseError:
        return True


def pptp_exchange(host: str, port: int, timeout: float) -> ProbeOutcome:
    """SCCRQ → SCCRP, then a polite Stop-Control-Connection-Request.

    ``answer`` is the :class:`~accessready.checks.protocols.pptp.SccrpReply`; no reply is
    ``closed``, one that is not PPTP ``protocol``.
    """

    def talk(conversation: net.Conversation) -> None:
        conversation.send(pptp.build_sccrq())
        received = conversation.recv_until(_pptp_complete, pptp.MAX_MESSAGE_LENGTH)
        if not received:
            conversation.fail("closed", "closed without a reply")
        try:
            conversation.answer = pptp.parse_sccrp(received)
        except pptp.PptpParseError as exc:
            conversation.fail("protocol", str(exc))
        # free the server's control-connection slot; best effort
        conversation.facts["stop_sent"] = conversation.send_quietly(pptp.build_stop_ccrq())

    outcome = net.tcp_dialogue(host, port, timeout, talk)
    return dataclasses.replace(outcome, facts={"probe": f"tcp/{port}", **outcome.facts})


class PptpCheck(WinVpnCheck):
    """A PPTP server answers a Start-Control-Connection-Request on TCP 1723."""

    id = "winvpn.pptp"
    tunnel = "pptp"
    title = t("Windows VPN: PPTP control connection", "Windows-VPN: PPTP-styrförbindelse")
    description = t(
        "A Start-Control-Connection-Request on TCP 1723; the reply's result code, host "
        "name, vendor and firmware. PPTP is cryptographically broken, and GRE (IP protocol "
        "47) cannot be confirmed without a full session.",
        "En Start-Control-Connection-Request på TCP 1723; svarets resultatkod, värdnamn, "
        "leverantör och firmware. PPTP är kryptografiskt knäckt, och GRE (IP-protokoll 47) "
        "kan inte bekräftas utan en fullständig session.")
    remediation = {
        "default": t(
            "PPTP answers, but it is cryptographically broken (MS-CHAPv2/MPPE): plan a move "
            "to IKEv2 or SSTP. Also make sure GRE (IP protocol 47) passes every firewall and "
            "NAT device between the engineer and the server; a Windows error 806/619 means "
            "it does not.",
            "PPTP svarar, men är kryptografiskt knäckt (MS-CHAPv2/MPPE): planera en övergång "
            "till IKEv2 eller SSTP. Se också till att GRE (IP-protokoll 47) släpps igenom av "
            "alla brandväggar och NAT-enheter mellan teknikern och servern; fel 806/619 i "
            "Windows betyder att det inte gör det."),
        "unreachable": t(
            "Open TCP 1723 and GRE (IP protocol 47) from the Internet to the VPN server and "
            "make sure the PPTP service (RRAS) is running — or, better, offer IKEv2 instead.",
            "Öppna TCP 1723 och GRE (IP-protokoll 47) från Internet till VPN-servern och se "
            "till att PPTP-tjänsten (RRAS) körs — eller, hellre, erbjud IKEv2 i stället."),
        "refused": t(
            "The PPTP server refused the control connection (see the result code): check "
            "its connection limit and which clients it admits.",
            "PPTP-servern avvisade styrförbindelsen (se resultatkoden): kontrollera dess "
            "anslutningsgräns och vilka klienter den släpper in."),
    }

    def run(self, ctx: CheckContext, target: Target) -> Result:
        cfg = target.data
        port = cfg.ports["pptp"]
        where = endpoint(cfg.server, port)
        details: dict[str, Any] = {"server": cfg.server, "tunnel": "pptp", "port": port}
        outcome = pptp_exchange(cfg.server, port, ctx.timeout(PPTP_CAP_S))
        details["probes"] = [outcome.to_json()]
        reply: pptp.SccrpReply | None = outcome.answer
        if reply is None:
            status = outcome.status
            return self.result(target, status, describe_failure(f"PPTP {where}", outcome),
                               details, probe_fix(outcome))
        details["reply"] = {
            "result_code": reply.result_code, "result": reply.result_text,
            "error_code": reply.error_code, "error": reply.error_text,
            "protocol_version": reply.version_text, "host_name": reply.host_name,
            "vendor": reply.vendor, "firmware": reply.firmware_revision,
            "max_channels": reply.max_channels,
            "framing": reply.framing_capabilities, "bearer": reply.bearer_capabilities}
        details["gre_verified"] = False
        ident = (f"host '{reply.host_name}', vendor '{reply.vendor}', "
                 f"firmware {reply.firmware_revision}")
        ident_sv = (f"värd '{reply.host_name}', leverantör '{reply.vendor}', "
                    f"firmware {reply.firmware_revision}")
        if not reply.accepted:
            return self.result(target, Status.FAIL, t(
                f"PPTP server at {where} refused the control connection: result "
                f"{reply.result_code} ({reply.result_text}), error {reply.error_code} "
                f"({reply.error_text}); {ident}.",
                f"PPTP-servern på {where} avvisade styrförbindelsen: resultat "
                f"{reply.result_code} ({reply.result_text}), fel {reply.error_code} "
                f"({reply.error_text}); {ident_sv}."), details, "refused")
        return self.result(target, Status.WARN, t(
            f"PPTP control connection to {where} accepted ({ident}). PPTP is "
            "cryptographically broken, and GRE (IP protocol 47) is unverified: only a real "
            "session shows it passes.",
            f"PPTP-styrförbindelsen till {where} accepterades ({ident_sv}). PPTP är "
            "kryptografiskt knäckt, och GRE (IP-protokoll 47) är inte verifierat: bara en "
            "riktig session visar att det går igenom."), details)

