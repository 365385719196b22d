"""``winvpn.ikev2`` and ``winvpn.l2tp``: an IKE responder answers what Windows' built-in
VPN client sends (see :mod:`.tunnels` for what these prove and cannot prove)."""

from __future__ import annotations

import dataclasses
import os
from typing import Any, ClassVar

from accessready.agent.core.model import Result, Status, Text, t
from accessready.agent.core.outcome import ProbeOutcome
from accessready.agent.plugin.checkapi import Budget, CheckContext, DeadlineExceeded, Target
from accessready.agent.plugin.probekit import describe_failure, endpoint, out_of_time, probe_fix
from accessready.checks.common.ike import ike_exchange, probe_name
from accessready.checks.protocols import ike

from .tunnels import WinVpnCheck

IKE_CAP_S = 3.0

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


def _v2_message(group: int = 14) -> tuple[bytes, bytes]:
    spi, nonce, ke_value = ike.new_sa_init_inputs(group)
    return ike.build_ikev2_sa_init(spi, nonce, ke_value, group), spi


def _v1_message() -> tuple[bytes, bytes]:
    cookie = os.urandom(8)
    if cookie == bytes(8):
        cookie = bytes(7) + b"\x01"
    return ike.build_ikev1_main_mode(cookie), cookie


class _IkeCheck(WinVpnCheck):
    """IKEv2 / IKEv1 responder probe on the IKE port and the NAT-T port."""

    version: ClassVar[int]
    label: ClassVar[str]

    def _message(self, group: int = 14) -> tuple[bytes, bytes]:
        return _v2_message(group) if self.version == 2 else _v1_message()

    def _probe(self, host: str, port: int, natt: bool, budget: Budget) -> ProbeOutcome:
        payload, spi = self._message()
        try:
            outcome = ike_exchange(host, port, payload, spi, natt=natt,
                                   timeout=budget.timeout())
        except DeadlineExceeded:
            return out_of_time(endpoint(host, port), probe=probe_name(port, natt))
        # IKEv2: a responder that wants another MODP group gets one more try with it.
        reply: ike.IkeReply | None = outcome.answer
        group = reply.preferred_dh_group if reply is not None else None
        if self.version == 2 and group in ike.MODP_KE_LENGTHS and group != 14:
            payload, spi = self._message(group)
            try:
                retry = ike_exchange(host, port, payload, spi, natt=natt,
                                     timeout=budget.timeout())
            except DeadlineExceeded:
                retry = out_of_time(endpoint(host, port))
            facts = {**outcome.facts, "retry_with_group": {"group": group, **retry.to_json()}}
            if retry.ok:
                facts.update(outcome=retry.facts["outcome"], reply=retry.facts["reply"])
            outcome = dataclasses.replace(outcome, facts=facts,
                                          answer=retry.answer if retry.ok else reply)
        return outcome

    def run(self, ctx: CheckContext, target: Target) -> Result:
        cfg = target.data
        port_of = cfg.ports
        host = cfg.server
        budget = Budget(ctx, parts=3 if self.version == 2 else 2, cap=IKE_CAP_S)
        main_out = self._probe(host, port_of["ike"], False, budget)
        natt_out = self._probe(host, port_of["natt"], True, budget)
        main_ev, natt_ev = main_out.to_json(), natt_out.to_json()
        main: ike.IkeReply | None = main_out.answer
        details: dict[str, Any] = {"server": host, "tunnel": cfg.tunnel, "ike_version":
                                   self.version, "ports": port_of, "probes": [main_ev, natt_ev]}
        vids = [v["name"] or v["hex"] for ev in (main_ev, natt_ev)
                for v in ev.get("reply", {}).get("vendor_ids", [])]
        details["vendor_ids"] = list(dict.fromkeys(vids))
        where = endpoint(host, port_of["ike"])
        if main is None:
            text = describe_failure(f"{self.label} {where}", main_out)
            hint_en = hint_sv = ""
            if main_out.kind == "timeout":
                hint_en = (" Some responders only answer initiators on source port 500 "
                           "(needs root); ike-scan --sport=500 can confirm.")
                hint_sv = (" Vissa svarare svarar bara initierare på källport 500 (kräver "
                           "root); ike-scan --sport=500 kan bekräfta.")
            if natt_out.answer is not None:
                hint_en += " UDP 4500 answered, but Windows clients always start on 500."
                hint_sv += " UDP 4500 svarade, men Windows-klienter börjar alltid på 500."
            status = main_out.status
            return self.result(target, status, t(text.en + hint_en, text.sv + hint_sv),
                               details, probe_fix(main_out))
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
        if natt_out.answer is None:
            clause = describe_failure(f"NAT-T {endpoint(host, port_of['natt'])}", natt_out)
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


