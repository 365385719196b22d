"""``windows_vpn``: does the customer's VPN server answer Windows' built-in VPN client?

One check per tunnel type; only the one that matches ``[access.windows_vpn] tunnel``
runs, the others skip ("tunnel type is …").

* ``winvpn.ikev2`` sends an IKEv2 IKE_SA_INIT on UDP 500 (``ports.ike``) offering what a
  Windows client offers (AES-CBC/3DES, SHA2-256/SHA1, MODP2048/MODP1024), and the same
  message with the non-ESP marker on UDP 4500 (``ports.natt``), where clients behind NAT
  continue. Any well-formed reply proves an IKE responder: an SA, a COOKIE demand,
  INVALID_KE_PAYLOAD (we then retry once with the group it asks for) or
  NO_PROPOSAL_CHOSEN. The last means the server is there but refuses what Windows offers:
  a warning, not a pass.
* ``winvpn.l2tp`` does the same with IKEv1 Main Mode message 1 as Windows' L2TP/IPsec
  client sends it (12 transforms, PSK, the Windows vendor IDs).
* ``winvpn.pptp`` sends a Start-Control-Connection-Request on TCP 1723 (``ports.pptp``)
  and reads the reply: result code, host name, vendor, firmware.

What these prove: the control channel of the tunnel answers from this machine. What they
cannot prove: that a login succeeds (no credentials are sent), that ESP (IP protocol 50),
L2TP (UDP 1701 inside IPsec) or GRE (IP protocol 47, PPTP's data channel) pass the
firewalls and NAT on the way — userspace cannot send those without a full session and
raw sockets. PPTP is reported as a warning at best: MS-CHAPv2/MPPE are broken (any
captured handshake can be cracked to the password's NT hash), so it should be replaced.
Some IKE responders only answer initiators whose source port is 500, which needs root;
this probe uses an ephemeral port and says so when nothing answers.
"""

from __future__ import annotations

import os
import time
from typing import Any, ClassVar

from accessready.agent.core.model import Requirement, Result, Status, Text, t
from accessready.agent.core.profile_types import Profile, WindowsVpnCfg
from accessready.agent.io import net
from accessready.agent.io.net import ProbeFailure, hex_excerpt
from accessready.agent.plugin.checkapi import Check, CheckContext, DeadlineExceeded, Target
from accessready.agent.plugin.probekit import Budget, describe_failure, endpoint, failure_status
from accessready.checks.protocols import ike, pptp

IKE_CAP_S = 3.0
PPTP_CAP_S = 5.0
IKE_ATTEMPTS = 3


class _WinVpnCheck(Check):
    """Common metadata and applicability of the three tunnel checks."""

    requirement = Requirement.ACCESS
    method = "windows_vpn"
    needs = ("network",)
    tunnel: ClassVar[str]

    def applies(self, profile: Profile) -> Text | None:
        why_not = super().applies(profile)
        if why_not is not None:
            return why_not
        cfg = profile.access.windows_vpn
        if cfg is None:
            return t("No [access.windows_vpn] table.", "Ingen [access.windows_vpn]-tabell.")
        if cfg.tunnel != self.tunnel:
            return t(f"The tunnel type is {cfg.tunnel}.", f"Tunneltypen är {cfg.tunnel}.")
        return None

    def targets(self, profile: Profile) -> list[Target]:
        cfg = profile.access.windows_vpn
        assert cfg is not None  # applies() made sure
        return [Target(cfg.server, cfg)]


# --- IKE ------------------------------------------------------------------------------

def _outcome(reply: ike.IkeReply) -> str:
    """``sa``, ``cookie``, ``invalid_ke``, ``no_proposal``, ``notify`` or ``other``."""
    if reply.kind == "sa":
        return "sa"
    if reply.cookie is not None:
        return "cookie"
    codes = {n.type for n in reply.errors}
    if 14 in codes:
        return "no_proposal"
    if reply.preferred_dh_group is not None:
        return "invalid_ke"
    return "notify" if reply.errors else "other"


_OUTCOME_TEXT: dict[str, Text] = {
    "sa": t("chose a proposal (SA)", "valde ett förslag (SA)"),
    "cookie": t("asked for a cookie (DoS protection active)",
                "begärde en cookie (DoS-skydd aktivt)"),
    "invalid_ke": t("asked for another Diffie-Hellman group", "begärde en annan DH-grupp"),
    "no_proposal": t("answered NO_PROPOSAL_CHOSEN: it refuses Windows' proposals",
                     "svarade NO_PROPOSAL_CHOSEN: den avvisar Windows förslag"),
    "notify": t("answered with an error notification", "svarade med ett felmeddelande"),
    "other": t("answered", "svarade"),
}


def _reply_json(reply: ike.IkeReply) -> dict[str, Any]:
    """The decoded reply as evidence (bounded: real replies carry a handful of items)."""
    return {
        "version": reply.version,
        "exchange": reply.header.exchange_name,
        "kind": reply.kind,
        "payloads": list(reply.payload_names[:32]),
        "chosen": [tr.label for tr in reply.chosen[:16]],
        "notifies": [f"{n.type} {n.name}" for n in reply.notifies[:16]],
        "vendor_ids": [{"hex": v.hex[:80], "name": v.name} for v in reply.vendor_ids[:16]],
        "preferred_dh_group": reply.preferred_dh_group,
        "responder_spi": reply.header.spi_r.hex(),
    }


def ike_exchange(host: str, port: int, payload: bytes, spi_i: bytes, *, natt: bool,
                 timeout: float, attempts: int = IKE_ATTEMPTS
                 ) -> tuple[ike.IkeReply | None, dict[str, Any]]:
    """Send one IKE message (with the non-ESP marker when ``natt``) and parse the answer.

    Returns (reply or None, evidence). Datagrams that are not a response to *our* SPI —
    garbage, strays, a reflected copy of the request — are ignored but kept as evidence;
    if only such datagrams came, the evidence says so.
    """
    wire = ike.add_non_esp_marker(payload) if natt else payload
    ignored: list[bytes] = []
    parsed: list[ike.IkeReply] = []

    def accept(datagram: bytes) -> bool:
        try:
            body = ike.strip_non_esp_marker(datagram) if natt else datagram
            reply = ike.parse_ike_reply(body)
        except ike.IkeParseError:
            ignored.append(datagram)
            return False
        if not ike.matches_request(reply, spi_i) or not reply.responder_alive:
            ignored.append(datagram)
            return False
        parsed.append(reply)
        return True

    evidence: dict[str, Any] = {"probe": f"{'NAT-T ' if natt else ''}udp/{port}",
                                "sent_hex": hex_excerpt(wire), "sent_bytes": len(wire)}
    try:
        datagram, rtt_ms, attempt = net.udp_exchange(host, port, wire, accept, timeout,
                                                     attempts)
    except ProbeFailure as failure:
        evidence.update(failure.to_json())
        if ignored:
            evidence["ignored_replies"] = len(ignored)
            evidence["ignored_hex"] = hex_excerpt(ignored[-1])
            if failure.kind == "timeout":
                evidence["failure"] = "garbage"
                evidence["message"] = (f"{len(ignored)} datagram(s) came back, none a valid "
                                       "IKE response to this request")
        return None, evidence
    evidence.update({"received_hex": hex_excerpt(datagram), "received_bytes": len(datagram),
                     "rtt_ms": round(rtt_ms, 1), "attempt": attempt})
    reply = parsed[-1]
    evidence["reply"] = _reply_json(reply)
    evidence["outcome"] = _outcome(reply)
    return reply, evidence


def _v2_message(group: int = 14) -> tuple[bytes, bytes]:
    spi, nonce, ke_value = ike.new_sa_init_inputs(group)
    return ike.build_ikev2_sa_init(spi, nonce, ke_value, group), spi


def _v1_message() -> tuple[bytes, bytes]:
    cookie = os.urandom(8)
    if cookie == bytes(8):
        cookie = bytes(7) + b"\x01"
    return ike.build_ikev1_main_mode(cookie), cookie


class _IkeCheck(_WinVpnCheck):
    """IKEv2 / IKEv1 responder probe on the IKE port and the NAT-T port."""

    version: ClassVar[int]
    label: ClassVar[str]

    def _message(self, group: int = 14) -> tuple[bytes, bytes]:
        return _v2_message(group) if self.version == 2 else _v1_message()

    def _probe(self, ctx: CheckContext, host: str, port: int, natt: bool,
               budget: Budget) -> tuple[ike.IkeReply | None, dict[str, Any]]:
        payload, spi = self._message()
        try:
            reply, evidence = ike_exchange(host, port, payload, spi, natt=natt,
                                           timeout=budget.timeout())
        except DeadlineExceeded:
            return None, {"probe": f"{'NAT-T ' if natt else ''}udp/{port}",
                          "failure": "deadline", "message": "no time left"}
        # IKEv2: a responder that wants another MODP group gets one more try with it.
        group = reply.preferred_dh_group if reply is not None else None
        if self.version == 2 and group in ike.MODP_KE_LENGTHS and group != 14:
            payload, spi = self._message(group)
            try:
                retry, again = ike_exchange(host, port, payload, spi, natt=natt,
                                            timeout=budget.timeout())
            except DeadlineExceeded:
                retry, again = None, {"failure": "deadline"}
            evidence["retry_with_group"] = {"group": group, **again}
            if retry is not None:
                evidence["outcome"] = again["outcome"]
                evidence["reply"] = again["reply"]
                reply = retry
        return reply, evidence

    def run(self, ctx: CheckContext, target: Target) -> Result:
        cfg: WindowsVpnCfg = target.data
        ports = dict(cfg.ports)
        host = cfg.server
        budget = Budget(ctx, parts=3 if self.version == 2 else 2, cap=IKE_CAP_S)
        main, main_ev = self._probe(ctx, host, ports["ike"], False, budget)
        natt, natt_ev = self._probe(ctx, host, ports["natt"], True, budget)
        details: dict[str, Any] = {"server": host, "tunnel": cfg.tunnel, "ike_version":
                                   self.version, "ports": ports, "probes": [main_ev, natt_ev]}
        vids = [v["name"] or v["hex"] for ev in (main_ev, natt_ev)
                for v in ev.get("reply", {}).get("vendor_ids", [])]
        details["vendor_ids"] = list(dict.fromkeys(vids))
        where = endpoint(host, ports["ike"])
        if main is None:
            kind = main_ev.get("failure", "timeout")
            text = describe_failure(f"{self.label} {where}", ProbeFailure(kind, ""))
            hint_en = hint_sv = ""
            if kind == "timeout":
                hint_en = (" Some responders only answer initiators on source port 500 "
                           "(needs root); ike-scan --sport=500 can confirm.")
                hint_sv = (" Vissa svarare svarar bara initierare på källport 500 (kräver "
                           "root); ike-scan --sport=500 kan bekräfta.")
            if natt is not None:
                hint_en += " UDP 4500 answered, but Windows clients always start on 500."
                hint_sv += " UDP 4500 svarade, men Windows-klienter börjar alltid på 500."
            status = failure_status(kind)
            return self.result(target, status, t(text.en + hint_en, text.sv + hint_sv),
                               details, "unreachable" if status is Status.FAIL else "error")
        outcome = main_ev["outcome"]
        said = _OUTCOME_TEXT[outcome]
        vid_en = f"; vendor IDs: {', '.join(details['vendor_ids'])}" if vids else ""
        vid_sv = f"; leverantörs-ID: {', '.join(details['vendor_ids'])}" if vids else ""
        chosen = ", ".join(main_ev["reply"]["chosen"])
        chosen_part = f" ({chosen})" if chosen else ""
        head = t(f"{self.label} responder at {where} {said.en}{chosen_part}{vid_en}.",
                 f"{self.label}-svarare på {where} {said.sv}{chosen_part}{vid_sv}.")
        problems: list[tuple[Text, str]] = []
        if outcome in ("no_proposal", "notify"):
            problems.append((t("Windows' default proposals are refused.",
                               "Windows standardförslag avvisas."), "no_proposal"))
        if natt is None:
            kind = natt_ev.get("failure", "timeout")
            clause = describe_failure(f"NAT-T {endpoint(host, ports['natt'])}",
                                      ProbeFailure(kind, ""))
            problems.append((t(f"{clause.en} Clients behind NAT will fail.",
                               f"{clause.sv} Klienter bakom NAT kommer att misslyckas."),
                             "natt"))
        elif main.version != self.version:
            problems.append((t(f"It answered with IKEv{main.version}.",
                               f"Den svarade med IKEv{main.version}."), "no_proposal"))
        if problems:
            en = " ".join([head.en, *(p.en for p, _ in problems)])
            sv = " ".join([head.sv, *(p.sv for p, _ in problems)])
            return self.result(target, Status.WARN, t(en, sv), details, problems[0][1])
        natt_said = t(" NAT-T (UDP 4500) answers too.", " NAT-T (UDP 4500) svarar också.")
        return self.result(target, Status.PASS, t(head.en + natt_said.en, head.sv + natt_said.sv),
                           details)


_IKE_REMEDIATION = {
    "unreachable": t(
        "Open UDP 500 and UDP 4500 from the Internet to the VPN server (and IP protocol 50, "
        "ESP, if clients are not behind NAT), and make sure the IKE service (RRAS "
        "'Routing and Remote Access' or the gateway's IPsec service) is running.",
        "Öppna UDP 500 och UDP 4500 från Internet till VPN-servern (och IP-protokoll 50, "
        "ESP, om klienterna inte sitter bakom NAT), och se till att IKE-tjänsten (RRAS "
        "'Routing och fjärråtkomst' eller gatewayens IPsec-tjänst) körs."),
    "no_proposal": t(
        "The server refuses the algorithms a Windows client offers by default. Add a "
        "proposal with AES-CBC-256/AES-CBC-128, SHA-256/SHA-1 and DH group 2 or 14 on the "
        "server, or configure the Windows connection to match with "
        "Set-VpnConnectionIPsecConfiguration.",
        "Servern avvisar de algoritmer en Windows-klient erbjuder som standard. Lägg till "
        "ett förslag med AES-CBC-256/AES-CBC-128, SHA-256/SHA-1 och DH-grupp 2 eller 14 på "
        "servern, eller anpassa Windows-anslutningen med Set-VpnConnectionIPsecConfiguration."),
    "natt": t(
        "Open UDP 4500 to the VPN server: behind NAT (home routers, hotels, 4G) IKE and "
        "ESP move to UDP 4500 after the first exchange.",
        "Öppna UDP 4500 till VPN-servern: bakom NAT (hemroutrar, hotell, 4G) flyttar IKE "
        "och ESP till UDP 4500 efter första utbytet."),
}


class Ikev2Check(_IkeCheck):
    """An IKEv2 responder answers Windows' IKE_SA_INIT on UDP 500 and 4500."""

    id = "winvpn.ikev2"
    tunnel = "ikev2"
    version = 2
    label = "IKEv2"
    title = t("Windows VPN: IKEv2 responder", "Windows-VPN: IKEv2-svarare")
    description = t(
        "An IKEv2 IKE_SA_INIT like the Windows client's, on UDP 500 and NAT-T 4500; any "
        "valid reply proves a responder. Cannot prove that a login or ESP works.",
        "Ett IKEv2 IKE_SA_INIT likt Windows-klientens, på UDP 500 och NAT-T 4500; varje "
        "giltigt svar visar att en svarare finns. Kan inte visa att inloggning eller ESP "
        "fungerar.")
    remediation = _IKE_REMEDIATION


class L2tpCheck(_IkeCheck):
    """An IKEv1 responder answers Windows' L2TP/IPsec Main Mode on UDP 500 and 4500."""

    id = "winvpn.l2tp"
    tunnel = "l2tp"
    version = 1
    label = "IKEv1"
    title = t("Windows VPN: L2TP/IPsec (IKEv1) responder",
              "Windows-VPN: L2TP/IPsec-svarare (IKEv1)")
    description = t(
        "IKEv1 Main Mode message 1 like the Windows L2TP/IPsec client's, on UDP 500 and "
        "NAT-T 4500. Cannot prove that L2TP (UDP 1701 inside IPsec) or ESP work.",
        "IKEv1 Main Mode meddelande 1 likt Windows L2TP/IPsec-klientens, på UDP 500 och "
        "NAT-T 4500. Kan inte visa att L2TP (UDP 1701 inuti IPsec) eller ESP fungerar.")
    remediation = _IKE_REMEDIATION


# --- PPTP -----------------------------------------------------------------------------

def _pptp_complete(data: bytes) -> bool:
    """One whole PPTP message is in; garbage that cannot be PPTP ends the read at once."""
    if len(data) < 2:
        return False
    try:
        return len(data) >= pptp.expected_reply_length(data)
    except pptp.PptpParseError:
        return True


def pptp_exchange(host: str, port: int, timeout: float) -> tuple[pptp.SccrpReply | None,
                                                                 dict[str, Any], str | None]:
    """SCCRQ → SCCRP, then a polite Stop-Control-Connection-Request.

    Returns (reply or None, evidence, failure kind or None).
    """
    request = pptp.build_sccrq()
    evidence: dict[str, Any] = {"probe": f"tcp/{port}", "sent_hex": hex_excerpt(request),
                                "sent_bytes": len(request)}
    started = time.monotonic()
    deadline = started + timeout
    try:
        sock, connect_ms, resolution = net.connect(host, port, timeout)
    except ProbeFailure as failure:
        evidence.update(failure.to_json())
        return None, evidence, failure.kind
    evidence.update({"connect_ms": round(connect_ms, 1), **net.resolve_json(resolution)})
    received = b""
    with sock:
        try:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            sock.sendall(request)
            received = net.recv_until(sock, _pptp_complete, deadline,
                                      pptp.MAX_MESSAGE_LENGTH)
        except Exception as exc:  # connected: running out of time here means "silent"
            failure = net.as_failure(exc, started, host, port, connected=True)
            evidence.update(failure.to_json())
            return None, evidence, failure.kind
        evidence.update({"received_hex": hex_excerpt(received), "received_bytes": len(received),
                         "total_ms": round((time.monotonic() - started) * 1000, 1)})
        if not received:
            evidence.update({"failure": "closed", "message": "closed without a reply"})
            return None, evidence, "closed"
        try:
            reply = pptp.parse_sccrp(received)
        except pptp.PptpParseError as exc:
            evidence.update({"failure": "garbage", "message": str(exc)})
            return None, evidence, "garbage"
        try:  # free the server's control-connection slot; best effort
            sock.settimeout(0.2)
            sock.sendall(pptp.build_stop_ccrq())
            evidence["stop_sent"] = True
        except OSError:
            evidence["stop_sent"] = False
    return reply, evidence, None


class PptpCheck(_WinVpnCheck):
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
        cfg: WindowsVpnCfg = target.data
        port = cfg.ports["pptp"]
        where = endpoint(cfg.server, port)
        details: dict[str, Any] = {"server": cfg.server, "tunnel": "pptp", "port": port}
        reply, evidence, kind = pptp_exchange(cfg.server, port, ctx.timeout(PPTP_CAP_S))
        details["probes"] = [evidence]
        if reply is None:
            assert kind is not None
            status = failure_status(kind)
            return self.result(target, status, describe_failure(f"PPTP {where}",
                               ProbeFailure(kind, "")), details,
                               "unreachable" if status is Status.FAIL else "error")
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

