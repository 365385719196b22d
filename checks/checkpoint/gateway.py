"""``checkpoint``: does the customer's Check Point remote-access gateway answer?

``checkpoint.gateway`` probes the three doors a Check Point RA gateway has (reference G,
E.3; bytes from the codec :mod:`accessready.checks.protocols.checkpoint`):

1. **HTTPS ``port`` (443)**: TLS, then the Endpoint Security client's ``ClientHello`` —
   ``POST /clients/`` with a ``(CCCclientRequest … :type (ClientHello) …)`` body. A gateway
   with remote access enabled answers ``(CCCserverResponse``: the tunnel protocols
   (IPsec, SSL), Visitor Mode's ``tcpt_port``, ``natt_port``, ``client_enabled`` and the
   login options (realms).
2. **TCP ``ports.topology`` (264)**: the FW-1 topology service, ``Q\\0\\0\\0`` handshake
   and the ``securemote`` query whose answer discloses ``CN=<firewall>,O=<management>``.
3. **UDP ``ports.ike`` (500)**: IKEv1 Main Mode; a Check Point responder's vendor ID
   starts with ``f4ed19e0…``.

Pass: the CCC exchange answers with remote-access clients enabled and the certificate is
trusted. Fail: no TLS, or no CCC answer (the Endpoint Security client cannot connect), or
the gateway says clients are disabled. Warn: the certificate is not trusted (the Check
Point client then asks the user to accept its fingerprint — normal with the internal CA,
but the fingerprint must be confirmed out of band), or the topology service discloses
internal host names to anyone. A closed 264 or a silent IKE port is *not* a fault: modern
gateways block 264, and Visitor Mode carries IKE inside 443.

What this cannot prove: that the support account may log in, or that the tunnel is split
(``checkpoint.split_tunnel`` looks at that).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from accessready.agent.core.model import INSECURE, Requirement, Result, Status, Text, t, worst
from accessready.agent.core.outcome import ProbeOutcome
from accessready.agent.core.profile_types import GatewayCfg, Profile, TlsOptions
from accessready.agent.io import net
from accessready.agent.io.http import http_request
from accessready.agent.io.tls import TlsInfo
from accessready.agent.plugin.checkapi import Budget, Check, CheckContext, DeadlineExceeded, Target
from accessready.agent.plugin.probekit import (
    TLS_REMEDIATION,
    describe_failure,
    endpoint,
    judge_tls,
    out_of_time,
    probe_fix,
    verify_off_note,
)
from accessready.checks.common.ike import ike_exchange
from accessready.checks.protocols import checkpoint as codec
from accessready.checks.protocols import ike

PROBE_CAP_S = 5.0
USER_AGENT = "TRAC/986000125"  # the Endpoint Security client's, as what-vpn sends it


def _topology_complete(data: bytes) -> bool:
    """The DN has arrived, or enough bytes that more will not help."""
    return b"CN=" in data and (b"\x00" in data.split(b"CN=", 1)[1] or len(data) > 4096)


def topology_probe(host: str, port: int, timeout: float) -> ProbeOutcome:
    """The TCP 264 exchange. ``facts``: ``acknowledged`` when the service answered the
    handshake, ``names`` when it disclosed them (``parse_error`` when the answer did not
    parse); an answer other than ``Y\\0\\0\\0`` is ``protocol`` (none at all ``closed``)."""

    def talk(conversation: net.Conversation) -> None:
        conversation.send(codec.TOPOLOGY_HELLO)
        banner = conversation.recv_until(lambda d: len(d) >= 4, 64)
        if not codec.is_topology_ack(banner[:4]):
            conversation.fail("closed" if not banner else "protocol", "no 'Y\\0\\0\\0' answer")
        conversation.facts["acknowledged"] = True
        conversation.send(codec.build_topology_query())
        answer = conversation.recv_until(_topology_complete, 64 * 1024)
        try:
            info = codec.parse_topology_reply(answer)
        except codec.CheckpointParseError as exc:
            conversation.facts["parse_error"] = str(exc)
            return
        conversation.facts["names"] = {"firewall": info.firewall_host,
                                       "management": info.smartcenter_host,
                                       "dn": info.raw_dn}

    outcome = net.tcp_dialogue(host, port, timeout, talk)
    return dataclasses.replace(outcome, facts={"probe": f"tcp/{port}", **outcome.facts})


class CheckpointGatewayCheck(Check):
    """A Check Point remote-access gateway answers the Endpoint Security handshake."""

    id = "checkpoint.gateway"
    owners = {"verify_off": "supplier"}  # a setting of the profile
    requirement = Requirement.ACCESS
    method = "checkpoint"
    needs = ("network",)
    title = t("Check Point: remote-access gateway answers",
              "Check Point: fjärråtkomstgatewayen svarar")
    description = t(
        "TLS and the Endpoint Security client's ClientHello (POST /clients/) on 443, the "
        "topology service on TCP 264 and IKE on UDP 500: what answered, and any gateway "
        "name disclosed. No credentials are sent.",
        "TLS och Endpoint Security-klientens ClientHello (POST /clients/) på 443, "
        "topologitjänsten på TCP 264 och IKE på UDP 500: vad som svarade och vilka "
        "gatewaynamn som röjs. Inga inloggningsuppgifter skickas.")
    remediation = {
        **TLS_REMEDIATION,
        "unreachable": t(
            "Make sure the gateway's name resolves and TCP 443 is open to it, and that "
            "Remote Access (Mobile Access / IPsec VPN blade, 'Endpoint Security VPN' "
            "clients) is enabled on the gateway.",
            "Se till att gatewayens namn går att slå upp och att TCP 443 är öppen mot den, "
            "och att fjärråtkomst (Mobile Access-/IPsec VPN-bladet, klienter 'Endpoint "
            "Security VPN') är aktiverad på gatewayen."),
        "not_checkpoint": t(
            "The address answers HTTPS but not the Check Point client handshake: check "
            "that the profile names the VPN gateway and that Remote Access with Visitor "
            "Mode on 443 is enabled.",
            "Adressen svarar på HTTPS men inte på Check Point-klientens handskakning: "
            "kontrollera att profilen anger VPN-gatewayen och att fjärråtkomst med Visitor "
            "Mode på 443 är aktiverad."),
        "clients_disabled": t(
            "The gateway says remote-access clients are disabled: enable them in the "
            "gateway's Remote Access / VPN Clients settings and install the policy.",
            "Gatewayen säger att fjärråtkomstklienter är avstängda: aktivera dem i "
            "gatewayens inställningar för Remote Access / VPN Clients och installera "
            "policyn."),
        "cert_untrusted": t(
            "The client will ask the engineer to accept the gateway's certificate "
            "fingerprint. Send the supplier the fingerprint out of band, or install a "
            "certificate from a trusted CA on the gateway.",
            "Klienten kommer att be teknikern godkänna gatewayens certifikatfingeravtryck. "
            "Skicka fingeravtrycket till leverantören via en annan kanal, eller installera "
            "ett certifikat från en betrodd CA på gatewayen."),
        "cert_expired": t("Renew the gateway's certificate.", "Förnya gatewayens certifikat."),
        "cert_expiring": t("Renew the gateway's certificate before it expires.",
                           "Förnya gatewayens certifikat innan det går ut."),
        "verify_off": t(
            "TLS verification is off in the profile: remove 'verify = false' (use ca_file "
            "for the gateway's internal CA).",
            "TLS-verifiering är avstängd i profilen: ta bort 'verify = false' (använd "
            "ca_file för gatewayens interna CA)."),
        "topology_leak": t(
            "The topology service (TCP 264) tells anyone the firewall's and the management "
            "server's names. Block TCP 264 from the Internet unless legacy SecuRemote "
            "clients need it (Check Point sk69360).",
            "Topologitjänsten (TCP 264) berättar för vem som helst brandväggens och "
            "management-serverns namn. Blockera TCP 264 från Internet om inte äldre "
            "SecuRemote-klienter behöver den (Check Point sk69360)."),
        "return_code": t(
            "The gateway answered the client handshake with an unexpected return code; see "
            "the evidence and the gateway's logs.",
            "Gatewayen svarade på klientens handskakning med en oväntad returkod; se "
            "underlaget och gatewayens loggar."),
    }

    def applies(self, profile: Profile) -> Any:
        why_not = super().applies(profile)
        if why_not is None and profile.access.checkpoint is None:
            return t("No [access.checkpoint] table.", "Ingen [access.checkpoint]-tabell.")
        return why_not

    def targets(self, profile: Profile) -> list[Target]:
        cfg = profile.access.checkpoint
        assert cfg is not None
        return [Target(cfg.gateway, cfg)]

    def _ccc(self, cfg: GatewayCfg, tls: TlsOptions, timeout: float) -> ProbeOutcome:
        """The CCC ClientHello over HTTPS; ``answer`` is the parsed
        :class:`~accessready.checks.protocols.checkpoint.ClientHelloReply` when the gateway
        answered it (``None`` when it answered something else: ``parse_error`` says why)."""
        body = codec.build_client_hello()
        outcome = http_request(
            cfg.gateway, cfg.port, "POST", codec.CLIENTS_PATH,
            headers=[("User-Agent", USER_AGENT), ("Content-Type", "text/plain")],
            body=body, tls=tls, server_name=cfg.gateway, timeout=timeout,
            max_body=codec.MAX_SEXPR_CHARS)
        facts: dict[str, Any] = {"probe": f"https/{cfg.port}", **outcome.facts}
        if not outcome.ok:
            return dataclasses.replace(outcome, facts=facts)
        facts["request_body"] = body.decode()
        response = outcome.answer
        reply = None
        if response.status == 200 and response.body.lstrip().startswith(b"(CCCserverResponse"):
            try:
                reply = codec.parse_client_hello_reply(response.body)
            except codec.CheckpointParseError as exc:
                facts["parse_error"] = str(exc)
        if reply is not None:
            facts["reply"] = {
                "return_code": reply.return_code, "protocol_version": reply.protocol_version,
                "tunnel_protocols": list(reply.supported_tunnel_protocols[:20]),
                "connectivity_type": reply.connectivity_type, "server_ip": reply.server_ip,
                "tcpt_port": reply.tcpt_port, "natt_port": reply.natt_port,
                "client_enabled": reply.client_enabled,
                "ipsec_transport": reply.ipsec_transport,
                "gateway_names": list(reply.gateway_names[:10]),
                "login_options": [{"id": o.id, "name": o.display_name,
                                   "factors": list(o.factors)}
                                  for o in reply.login_options[:20]],
            }
        return dataclasses.replace(outcome, facts=facts, answer=reply)

    def run(self, ctx: CheckContext, target: Target) -> Result:
        cfg: GatewayCfg = target.data
        ports = {"https": cfg.port, **cfg.ports}  # topology, ike
        where = endpoint(cfg.gateway, cfg.port)
        details: dict[str, Any] = {"gateway": cfg.gateway, "ports": ports}
        budget = Budget(ctx, parts=3, cap=PROBE_CAP_S)
        ccc = self._ccc(cfg, cfg.tls, budget.timeout())
        reply: codec.ClientHelloReply | None = ccc.answer
        tls_info: TlsInfo | None = ccc.fact("tls")
        ccc_ev = details["ccc"] = ccc.to_json()
        try:
            topology = topology_probe(cfg.gateway, ports["topology"], budget.timeout())
        except DeadlineExceeded:
            topology = out_of_time(endpoint(cfg.gateway, ports["topology"]))
        topo_ev = details["topology"] = topology.to_json()
        cookie = os.urandom(7) + b"\x01"
        try:
            ike_out = ike_exchange(cfg.gateway, ports["ike"],
                                   ike.build_ikev1_main_mode(cookie), cookie,
                                   natt=False, timeout=budget.timeout(), attempts=2)
        except DeadlineExceeded:
            ike_out = out_of_time(endpoint(cfg.gateway, ports["ike"]))
        ike_ev = details["ike"] = ike_out.to_json()

        answered: list[str] = []
        names: list[str] = []
        findings: list[tuple[Status, Text, str | None]] = []
        if not ccc.ok:
            findings.append((ccc.status, describe_failure(f"HTTPS {where}", ccc),
                             probe_fix(ccc)))
        elif reply is None:
            code = ccc_ev.get("status")
            findings.append((Status.FAIL, t(
                f"HTTPS {where} answers (HTTP {code}) but not the Check Point client "
                "handshake.",
                f"HTTPS {where} svarar (HTTP {code}) men inte på Check Point-klientens "
                "handskakning."), "not_checkpoint"))
        else:
            tunnels = ", ".join(reply.supported_tunnel_protocols) or "?"
            answered.append(f"CCC/{cfg.port} ({tunnels})")
            names += list(reply.gateway_names)
            if reply.client_enabled is False:
                findings.append((Status.FAIL, t(
                    "The gateway says remote-access clients are disabled.",
                    "Gatewayen säger att fjärråtkomstklienter är avstängda."),
                    "clients_disabled"))
            if reply.return_code not in (None, 600):
                findings.append((Status.WARN, t(
                    f"Unexpected return code {reply.return_code}.",
                    f"Oväntad returkod {reply.return_code}."), "return_code"))
        due = None  # the gateway certificate's expiry, when that is a finding
        if tls_info is not None:
            if tls_info.verification_disabled:
                details[INSECURE] = verify_off_note(f"Check Point gateway {where}")
            if tls_info.cert is not None:
                details["certificate_names"] = list(tls_info.cert.dns_names[:10])
            verdict = judge_tls(tls_info, ctx.now(), untrusted=Status.WARN)
            due = verdict.due
            if verdict.status is not Status.PASS:
                findings.append((verdict.status, t(f"TLS: {verdict.text.en}.",
                                                   f"TLS: {verdict.text.sv}."), verdict.fix))
        if topo_ev.get("acknowledged"):
            answered.append(f"topology/{ports['topology']}")
        disclosed = topo_ev.get("names")
        if disclosed:
            names += [disclosed["firewall"], disclosed["management"]]
            findings.append((Status.WARN, t(
                f"TCP {ports['topology']} discloses the firewall '{disclosed['firewall']}' and "
                f"the management server '{disclosed['management']}' to anyone.",
                f"TCP {ports['topology']} röjer brandväggen '{disclosed['firewall']}' och "
                f"management-servern '{disclosed['management']}' för vem som helst."),
                "topology_leak"))
        if ike_out.answer is not None:
            vids = [v["name"] or v["hex"] for v in ike_ev["reply"]["vendor_ids"]]
            answered.append(f"IKE/{ports['ike']} ({ike_ev['outcome']}"
                            + (f"; {', '.join(vids)}" if vids else "") + ")")
        details["answered"] = answered
        details["disclosed_names"] = list(dict.fromkeys(names))
        said_en = ", ".join(answered) if answered else "nothing"
        said_sv = ", ".join(answered) if answered else "ingenting"
        head = t(f"Check Point gateway {where} — answered: {said_en}",
                 f"Check Point-gateway {where} — svarade: {said_sv}")
        if details["disclosed_names"]:
            shown = ", ".join(details["disclosed_names"])
            head = t(f"{head.en}; names disclosed: {shown}", f"{head.sv}; röjda namn: {shown}")
        if not findings:
            return self.result(target, Status.PASS, t(head.en + ".", head.sv + "."), details)
        status = worst([s for s, _, _ in findings])
        fix = next((f for s, _, f in findings if s is status and f), None)
        return self.result(target, status, t(
            f"{head.en}. " + " ".join(x.en for _, x, _ in findings),
            f"{head.sv}. " + " ".join(x.sv for _, x, _ in findings)), details, fix, due=due)
