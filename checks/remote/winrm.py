"""``remote.winrm``: a WinRM listener answers the anonymous WS-Management Identify (see
:mod:`accessready.checks.remote` for what the remote checks prove)."""

from __future__ import annotations

import dataclasses
from typing import Any

from accessready.agent.core.model import INSECURE, Requirement, Result, Status, t
from accessready.agent.core.outcome import ProbeOutcome
from accessready.agent.core.profile_types import Profile, Server
from accessready.agent.io.http import KeptConnections, http_request
from accessready.agent.io.tls import TlsInfo, TlsSessions
from accessready.agent.io.transports.winrm import WinrmEndpoint
from accessready.agent.plugin.checkapi import Check, CheckContext, Contact, Target
from accessready.agent.plugin.probekit import verify_off_note
from accessready.agent.plugin.serverscript import server_targets
from accessready.agent.plugin.transport_texts import (
    KIND_OWNERS,
    KIND_REMEDIATION,
)
from accessready.checks.protocols import wsman

from .outcomes import probe_failure_result

# Which WWW-Authenticate schemes serve each profile transport.
_SCHEMES_FOR = {"ntlm": ("Negotiate", "NTLM"), "kerberos": ("Negotiate", "Kerberos"),
                "credssp": ("CredSSP",), "basic": ("Basic",)}


IDENTIFY_CAP_S = 5.0  # the Identify exchange (connect included) takes at most this

class WinrmCheck(Check):
    """A WinRM listener answers the anonymous WS-Management Identify."""

    id = "remote.winrm"
    owners = KIND_OWNERS
    requirement = Requirement.REMOTE
    title = t("WinRM reachable", "WinRM nåbart")
    description = t(
        "Anonymous WS-Management Identify: product vendor and version, offered "
        "authentication, TLS.",
        "Anonym WS-Management Identify: tillverkare och version, erbjudna "
        "autentiseringsmetoder, TLS.")
    needs = ("network",)
    remediation = {
        **KIND_REMEDIATION,
        "default": t("Enable WinRM on the server (winrm quickconfig; for HTTPS a listener "
                     "on 5986 with a certificate) and open the port from the supplier.",
                     "Aktivera WinRM på servern (winrm quickconfig; för HTTPS en lyssnare "
                     "på 5986 med certifikat) och öppna porten från leverantören."),
        "untrusted": t("The listener's certificate is not trusted: set winrm.ca_file to the "
                       "CA that issued it, or replace it with one for the name in the profile.",
                       "Lyssnarens certifikat är inte betrott: ange winrm.ca_file till den CA "
                       "som utfärdat det, eller byt till ett certifikat för namnet i profilen."),
        "not_winrm": t("Something other than WinRM answers here: check the port and "
                       "https in the profile's winrm table (5985 HTTP, 5986 HTTPS).",
                       "Något annat än WinRM svarar här: kontrollera port och https i "
                       "profilens winrm-tabell (5985 HTTP, 5986 HTTPS)."),
        "auth_scheme": t("The listener does not offer the authentication the profile uses: "
                         "enable it on the server (winrm set winrm/config/service/auth) or "
                         "change winrm.transport in the profile.",
                         "Lyssnaren erbjuder inte autentiseringen som profilen använder: slå "
                         "på den på servern (winrm set winrm/config/service/auth) eller ändra "
                         "winrm.transport i profilen."),
        "protocol": t("Something other than WinRM answers here: check the port and https in "
                      "the profile's winrm table.",
                      "Något annat än WinRM svarar här: kontrollera port och https i "
                      "profilens winrm-tabell."),
    }

    def targets(self, profile: Profile) -> list[Target]:
        return server_targets(profile, ("winrm",))

    def first_contact(self, target: Target) -> Contact:
        server: Server = target.data
        return Contact(server.address, server.winrm.port, IDENTIFY_CAP_S)

    def run(self, ctx: CheckContext, target: Target) -> Result:
        # the second request goes over the connection the first left open (http.sys keeps
        # it), or else resumes the first's TLS session
        with KeptConnections() as kept:
            return self._identify(ctx, target, kept, TlsSessions())

    def _identify(self, ctx: CheckContext, target: Target, kept: KeptConnections,
                  sessions: TlsSessions) -> Result:
        server: Server = target.data
        cfg = server.winrm
        host, port, tls = server.address, cfg.port, cfg.tls
        where = f"{'https' if cfg.https else 'http'}://{host}:{port}/wsman"
        host_header = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        headers, body = wsman.build_identify_request(host_header)
        headers = [h for h in headers if h[0].lower() != "host"]
        details: dict[str, Any] = {"url": where, "configured_auth": cfg.transport}
        exchange = http_request(host, port, "POST", wsman.WSMAN_PATH, headers=headers,
                                body=body, tls=tls if cfg.https else None,
                                host_header=host_header, timeout=ctx.timeout(IDENTIFY_CAP_S),
                                max_body=wsman.MAX_XML_BYTES, sessions=sessions, kept=kept)
        if not exchange.ok:
            return probe_failure_result(self, target, exchange, f"WinRM {where}", details)
        details["identify"] = exchange.to_json()
        response = exchange.answer
        if response.status != 200:
            return self._not_identified(ctx, target, exchange, where, details)
        try:
            ident = wsman.parse_identify_response(response.body)
        except wsman.WsmanParseError as exc:
            details["parse_error"] = str(exc)
            return self.result(target, Status.FAIL, t(
                f"{where} answers HTTP 200, but not with a WS-Management Identify response.",
                f"{where} svarar HTTP 200, men inte med ett WS-Management Identify-svar."),
                details, fix="not_winrm")
        details["product"] = dataclasses.asdict(ident)
        schemes, unknown = self._auth_schemes(ctx, host, port, tls if cfg.https else None,
                                              host_header, sessions, kept)
        details["offered_auth"] = list(schemes) if schemes is not None else None
        if unknown:  # the report says why the offer is not known, never silently
            details["offered_auth_unknown"] = unknown
        product = f"{ident.product_vendor} {ident.product_version}".strip()
        warnings_en, warnings_sv, fix = [], [], None
        info: TlsInfo | None = exchange.fact("tls")
        if info is not None and not info.verified and tls.verify:
            warnings_en.append(f"its certificate is not trusted ({info.verify_kind})")
            warnings_sv.append(f"dess certifikat är inte betrott ({info.verify_kind})")
            fix = "untrusted"
        wanted = _SCHEMES_FOR.get(cfg.transport)
        if schemes and wanted and not set(wanted) & set(schemes):
            warnings_en.append(f"it does not offer {cfg.transport} (offers "
                               f"{', '.join(schemes)})")
            warnings_sv.append(f"den erbjuder inte {cfg.transport} (erbjuder "
                               f"{', '.join(schemes)})")
            fix = fix or "auth_scheme"
        if not tls.verify and cfg.https:
            details["tls_verification"] = "off (profile: verify = false)"
            details[INSECURE] = verify_off_note(f"WinRM {where}")
            warnings_en.append("TLS VERIFICATION IS TURNED OFF in the profile "
                               "(verify = false)")
            warnings_sv.append("TLS-VERIFIERINGEN ÄR AVSTÄNGD i profilen (verify = false)")
            fix = fix or "insecure"
        risk = WinrmEndpoint(host, port, cfg.https, cfg.transport, "",
                             verify=tls.verify).credential_risk
        if risk and not cfg.https:
            details["credential_risk"] = risk
            warnings_en.append(f"{cfg.transport} over plain HTTP does not protect the support "
                               "account's password")
            warnings_sv.append(f"{cfg.transport} över okrypterad HTTP skyddar inte "
                               "supportkontots lösenord")
            fix = fix or "insecure"
        if warnings_en:
            return self.result(target, Status.WARN, t(
                f"WinRM answers on {where} ({product}), but {'; '.join(warnings_en)}.",
                f"WinRM svarar på {where} ({product}), men {'; '.join(warnings_sv)}."),
                details, fix=fix)
        return self.result(target, Status.PASS, t(
            f"WinRM answers on {where}: {product}.", f"WinRM svarar på {where}: {product}."),
            details)

    def _not_identified(self, ctx: CheckContext, target: Target, exchange: ProbeOutcome,
                        where: str, details: dict[str, Any]) -> Result:
        response = exchange.answer
        if response.status == 401:
            schemes = wsman.classify_http_auth(response.headers_all("WWW-Authenticate"))
            details["offered_auth"] = list(schemes)
            offered = ", ".join(schemes) or "none named"
            return self.result(target, Status.WARN, t(
                f"{where} answers, but demands authentication even for the anonymous Identify "
                f"(offers: {offered}); the product is unknown.",
                f"{where} svarar, men kräver inloggning även för anonym Identify (erbjuder: "
                f"{offered}); produkten är okänd."), details, fix="not_winrm")
        try:
            fault = wsman.parse_fault(response.body)
            details["fault"] = dataclasses.asdict(fault)
        except wsman.WsmanParseError:
            pass
        return self.result(target, Status.FAIL, t(
            f"{where} answers HTTP {response.status}: not a WinRM listener.",
            f"{where} svarar HTTP {response.status}: ingen WinRM-lyssnare."),
            details, fix="not_winrm")

    @staticmethod
    def _auth_schemes(ctx: CheckContext, host: str, port: int, tls: Any, host_header: str,
                      sessions: TlsSessions, kept: KeptConnections
                      ) -> tuple[tuple[str, ...] | None, str]:
        """The schemes a 401 to an unauthenticated, empty POST offers, or None and why
        they are not known."""
        exchange = http_request(host, port, "POST", wsman.WSMAN_PATH,
                                headers=[("Content-Type", "application/soap+xml;charset=UTF-8")],
                                tls=tls, host_header=host_header,
                                timeout=ctx.timeout(2.0), max_body=64 * 1024,
                                sessions=sessions, kept=kept)
        # evidence only: a failed probe never fails the check
        if not exchange.ok:
            return None, f"the request that lists them failed: {exchange.message}"
        if exchange.answer.status != 401:
            return None, f"an unauthenticated request got HTTP {exchange.answer.status}, not 401"
        try:
            return wsman.classify_http_auth(exchange.answer.headers_all("WWW-Authenticate")), ""
        except wsman.WsmanParseError as exc:
            return None, f"its WWW-Authenticate cannot be read: {exc}"
