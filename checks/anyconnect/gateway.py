"""``anyconnect``: does the customer's Cisco AnyConnect gateway answer the supplier's client?

``anyconnect.gateway`` opens TLS to the gateway (``port``, default 443; trust from the
system store plus ``ca_file``; ``verify = false`` is reported loudly) and sends the
AnyConnect "aggregate auth" init request — ``POST /`` with ``X-Aggregate-Auth: 1`` and a
``<config-auth type="init">`` body (deliberately without ``<group-select>``: ocserv
echoes that value into its group list, so the list would always contain the profile's
group), which Cisco ASA/FTD and ocserv both answer with an
``auth-request`` form (reference F.1/F.2; the bytes come from the codec
:mod:`accessready.checks.protocols.anyconnect`). It reports the TLS facts, the server
version, the login form's fields (the authentication methods on offer), the groups
(connection profiles) listed, and whether a client certificate or host scan is demanded.

Pass: the chain verifies for the gateway's name and is not about to expire, the gateway
answers the XML exchange, and the profile's ``group`` is among the offered groups.
Fail: no TLS, an untrusted or expired certificate (AnyConnect blocks untrusted servers by
default), no AnyConnect answer, or the group is not offered. Warn: the certificate expires
within 30 days, verification is off, or the gateway lists no groups (a group URL may
still select it; we cannot confirm).

What this cannot prove: that the support account may log in (no credential is sent), that
the tunnel comes up, or that it is split — ``anyconnect.split_tunnel`` looks at that.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from accessready.agent.core.model import INSECURE, Requirement, Result, Status, Text, t, worst
from accessready.agent.core.profile_types import GatewayCfg, Profile
from accessready.agent.io.http import http_request
from accessready.agent.io.tls import TlsInfo
from accessready.agent.plugin.checkapi import Check, CheckContext, Target
from accessready.agent.plugin.probekit import (
    TLS_REMEDIATION,
    describe_failure,
    endpoint,
    judge_tls,
    probe_fix,
    verify_off_note,
)
from accessready.checks.protocols import anyconnect as codec

HTTP_CAP_S = 8.0


def gateway_url(host: str, port: int) -> str:
    """The URL a user types into the client: ``https://host[:port]/``."""
    shown = f"[{host}]" if ":" in host else host
    return f"https://{shown}/" if port == 443 else f"https://{shown}:{port}/"


def auth_methods(reply: codec.AuthReply) -> list[str]:
    """What the first login form asks for, in words."""
    methods = []
    names = {name.lower() for name, _kind, _label in reply.inputs}
    kinds = [kind.lower() for _name, kind, _label in reply.inputs]
    if "username" in names or "password" in kinds:
        methods.append("username/password")
    if kinds.count("password") > 1 or {"secondary_password", "secondary_username"} & names:
        methods.append("second factor")
    if reply.client_cert_requested:
        methods.append("client certificate")
    if reply.host_scan:
        methods.append("host scan (posture)")
    return methods or ["unknown (no form fields)"]


def flavour(reply: codec.AuthReply) -> str:
    """``ocserv`` (which always says 0.1(1)), ``Cisco ASA/FTD`` or ``unknown``."""
    if reply.server_version == "0.1(1)":
        return "ocserv"
    if reply.tunnel_group or reply.server_version:
        return "Cisco ASA/FTD"
    return "unknown"


class AnyConnectGatewayCheck(Check):
    """TLS and the AnyConnect XML auth exchange; the profile's group is offered."""

    id = "anyconnect.gateway"
    owners = {"verify_off": "supplier"}  # a setting of the profile
    requirement = Requirement.ACCESS
    method = "anyconnect"
    needs = ("network",)
    title = t("Cisco AnyConnect: gateway answers, group offered",
              "Cisco AnyConnect: gatewayen svarar, gruppen erbjuds")
    description = t(
        "TLS to the gateway (chain, name, expiry) and the AnyConnect XML auth exchange: the "
        "authentication methods and groups on offer, and whether the profile's group is "
        "among them. No credentials are sent.",
        "TLS mot gatewayen (kedja, namn, giltighet) och AnyConnects XML-inloggningsutbyte: "
        "vilka inloggningsmetoder och grupper som erbjuds, och om profilens grupp finns "
        "bland dem. Inga inloggningsuppgifter skickas.")
    remediation = {
        **TLS_REMEDIATION,
        "unreachable": t(
            "Make sure the gateway's name resolves and TCP 443 (or the profile's port) is "
            "open to it from the Internet, and that the AnyConnect/SSL VPN service is "
            "enabled on that interface (ASA: 'webvpn' / 'enable outside').",
            "Se till att gatewayens namn går att slå upp och att TCP 443 (eller profilens "
            "port) är öppen mot den från Internet, och att AnyConnect/SSL VPN-tjänsten är "
            "aktiverad på det gränssnittet (ASA: 'webvpn' / 'enable outside')."),
        "not_anyconnect": t(
            "The address answers HTTPS, but not as an AnyConnect gateway: check that the "
            "profile names the VPN gateway (not a web portal) and that AnyConnect client "
            "access is enabled there.",
            "Adressen svarar på HTTPS, men inte som en AnyConnect-gateway: kontrollera att "
            "profilen anger VPN-gatewayen (inte en webbportal) och att AnyConnect-klienter "
            "är aktiverade där."),
        "group_missing": t(
            "The gateway does not offer the supplier's group: add the connection profile "
            "(tunnel group) to the group list ('group-alias … enable' and "
            "'tunnel-group-list enable' on an ASA; 'select-group' in ocserv), or correct "
            "[access.anyconnect] group.",
            "Gatewayen erbjuder inte leverantörens grupp: lägg till anslutningsprofilen "
            "(tunnel group) i grupplistan ('group-alias … enable' och "
            "'tunnel-group-list enable' på en ASA; 'select-group' i ocserv), eller rätta "
            "[access.anyconnect] group."),
        "group_unlisted": t(
            "The gateway shows no group list, so the supplier's group could not be "
            "confirmed. Enable the group list, or tell the supplier the group URL to use.",
            "Gatewayen visar ingen grupplista, så leverantörens grupp kunde inte bekräftas. "
            "Aktivera grupplistan, eller meddela leverantören vilken grupp-URL som gäller."),
        "cert_untrusted": t(
            "Install a certificate from a public CA that names the gateway (with its "
            "intermediates); the AnyConnect client blocks untrusted servers by default. "
            "If the supplier should trust a private CA, put it in ca_file.",
            "Installera ett certifikat från en publik CA som anger gatewayens namn (med "
            "mellanliggande certifikat); AnyConnect-klienten blockerar som standard servrar "
            "den inte litar på. Ska leverantören lita på en egen CA, ange den i ca_file."),
        "cert_expired": t("Renew the gateway's certificate now: clients refuse it.",
                          "Förnya gatewayens certifikat nu: klienterna vägrar det."),
        "cert_expiring": t("Renew the gateway's certificate before it expires.",
                           "Förnya gatewayens certifikat innan det går ut."),
        "verify_off": t(
            "TLS verification is off in the profile: remove 'verify = false' (use ca_file "
            "for a private CA) so the gateway's identity is checked.",
            "TLS-verifiering är avstängd i profilen: ta bort 'verify = false' (använd "
            "ca_file för en egen CA) så att gatewayens identitet kontrolleras."),
    }

    def applies(self, profile: Profile) -> Any:
        why_not = super().applies(profile)
        if why_not is None and profile.access.anyconnect is None:
            return t("No [access.anyconnect] table.", "Ingen [access.anyconnect]-tabell.")
        return why_not

    def targets(self, profile: Profile) -> list[Target]:
        cfg = profile.access.anyconnect
        assert cfg is not None
        return [Target(cfg.gateway, cfg)]

    def run(self, ctx: CheckContext, target: Target) -> Result:
        cfg: GatewayCfg = target.data
        where = endpoint(cfg.gateway, cfg.port)
        url = gateway_url(cfg.gateway, cfg.port)
        # No <group-select>: ocserv 1.1.6 echoes a client's group-select back as the first
        # <option> of its group list even when no such group exists (seen in the lab), so
        # asking for the group would make every group look offered.
        headers, body = codec.build_init_request(url, None)
        host_header = next(v for k, v in headers if k.lower() == "host")
        details: dict[str, Any] = {"gateway": cfg.gateway, "port": cfg.port, "url": url,
                                   "group": cfg.group, "request_body": body.decode()}
        exchange = http_request(
            cfg.gateway, cfg.port, "POST", codec.gateway_target(url),
            headers=[(k, v) for k, v in headers if k.lower() != "host"], body=body,
            tls=cfg.tls, server_name=cfg.tls.server_name,
            host_header=host_header,
            timeout=ctx.timeout(HTTP_CAP_S), max_body=codec.MAX_XML_BYTES)
        if not exchange.ok:
            details["probe"] = exchange.to_json()
            return self.result(target, exchange.status, describe_failure(
                f"AnyConnect gateway {where}", exchange), details,
                probe_fix(exchange))
        details["exchange"] = exchange.to_json()
        tls_info: TlsInfo | None = exchange.fact("tls")
        if tls_info is not None and tls_info.verification_disabled:
            details[INSECURE] = verify_off_note(f"AnyConnect gateway {where}")
        findings: list[tuple[Status, Text, str | None]] = []
        tls = judge_tls(tls_info, ctx.now(), untrusted=Status.FAIL)
        if tls.status is not Status.PASS:
            findings.append((tls.status, tls.text, tls.fix))
        response = exchange.answer
        reply = None
        if response.status == 200:
            try:
                reply = codec.parse_auth_reply(response.body)
            except codec.AnyConnectParseError as exc:
                details["parse_error"] = str(exc)
        if reply is None:
            said = t(f"HTTP {response.status}", f"HTTP {response.status}")
            location = response.header("Location")
            if location:
                details["location"] = location[:300]
            findings.insert(0, (Status.FAIL, t(
                f"answers {said.en}, not the AnyConnect XML exchange",
                f"svarar {said.sv}, inte med AnyConnects XML-utbyte"), "not_anyconnect"))
            return self._finish(target, where, findings, details, due=tls.due)
        groups = [value for value, _label in reply.groups]
        methods = auth_methods(reply)
        details["reply"] = {
            "type": reply.type, "server_version": reply.server_version,
            "flavour": flavour(reply), "auth_methods": methods,
            "inputs": [list(i) for i in reply.inputs[:20]],
            "groups": [list(g) for g in reply.groups[:100]],
            "tunnel_group": reply.tunnel_group, "group_alias": reply.group_alias,
            "client_cert_requested": reply.client_cert_requested,
            "host_scan": reply.host_scan, "message": reply.message, "error": reply.error,
        }
        if reply.type != "auth-request":
            findings.append((Status.WARN, t(f"the reply type is '{reply.type}'",
                                            f"svarstypen är '{reply.type}'"), None))
        if reply.error:
            findings.append((Status.WARN, t(f"the gateway says: {reply.error}",
                                            f"gatewayen säger: {reply.error}"), None))
        if cfg.group:
            if reply.groups and not reply.offers_group(cfg.group):
                findings.append((Status.FAIL, t(
                    f"group '{cfg.group}' is not offered (offered: {', '.join(groups)})",
                    f"gruppen '{cfg.group}' erbjuds inte (erbjuds: {', '.join(groups)})"),
                    "group_missing"))
            elif not reply.groups and (reply.tunnel_group or "").casefold() != \
                    cfg.group.casefold():
                findings.append((Status.WARN, t(
                    f"the gateway lists no groups; '{cfg.group}' could not be confirmed",
                    f"gatewayen listar inga grupper; '{cfg.group}' kunde inte bekräftas"),
                    "group_unlisted"))
        listed_en = f"groups: {', '.join(groups)}" if groups else "no group list"
        listed_sv = f"grupper: {', '.join(groups)}" if groups else "ingen grupplista"
        head = t(f"{flavour(reply)} {reply.server_version or ''}".strip() +
                 f" answers at {where} ({listed_en}; login: {', '.join(methods)})",
                 f"{flavour(reply)} {reply.server_version or ''}".strip() +
                 f" svarar på {where} ({listed_sv}; inloggning: {', '.join(methods)})")
        return self._finish(target, where, findings, details, head, due=tls.due)

    def _finish(self, target: Target, where: str,
                findings: list[tuple[Status, Text, str | None]], details: dict[str, Any],
                head: Text | None = None, due: dt.date | None = None) -> Result:
        head = head or t(f"AnyConnect gateway {where}", f"AnyConnect-gatewayen {where}")
        if not findings:
            return self.result(target, Status.PASS, t(head.en + ".", head.sv + "."), details)
        status = worst([s for s, _, _ in findings])
        fix = next((f for s, _, f in findings if s is status and f), None)
        en = "; ".join(x.en for _, x, _ in findings)
        sv = "; ".join(x.sv for _, x, _ in findings)
        return self.result(target, status, t(f"{head.en}: {en}.", f"{head.sv}: {sv}."),
                           details, fix, due=due)
