"""``remote``: can the supplier reach the servers by the methods the customer names?

Three unauthenticated probes, each run against every server that lists the method in its
``remote`` list:

* ``remote.rdp`` sends three X.224 Connection Requests with an RDP Negotiation Request
  (classic RDP security; TLS; TLS+CredSSP+CredSSP-EX) and reads each Connection Confirm.
  It proves the server speaks RDP and which security protocols it accepts, and whether
  NLA (CredSSP) is required — decided by comparing the *selected* protocol with the one
  *requested* (xrdp answers a CredSSP request by selecting TLS; tools that only look at
  the response type report "NLA supported" there). It cannot prove that a login works
  or that a session host has licences.
* ``remote.winrm`` sends the anonymous WS-Management ``Identify`` and reports the product
  vendor and version, or exactly why not (closed, filtered, TLS failure, not WinRM); a
  second empty POST collects the offered authentication schemes. It proves a WinRM
  listener answers; whether the support account may use it is ``account.login``'s job.
* ``remote.ssh`` reads the banner and runs the key exchange, then compares the host key
  with the known_hosts file (never logging in). It proves an SSH server answers and that
  it is the machine known_hosts says it is (or shows the fingerprint to check).

An unreachable server gives ``fail`` here, so an AD FS or WAP server reachable by none of
its methods makes the customer not ready. Status and wording of a failed probe come from
the one table in :mod:`accessready.agent.plugin.probekit`: a port that accepts the connection
and then stays silent (``silent``) reads differently from one that never answers
(``timeout``); this machine's own problems (its resolver, its files, no time left) are
``error``, not ``fail``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from accessready.agent.core.model import INSECURE, Requirement, Result, Status, Text, t
from accessready.agent.core.profile_types import Profile, Server
from accessready.agent.io.net import ProbeFailure, http_request, tcp_exchange
from accessready.agent.io.transports.base import TransportError
from accessready.agent.io.transports.winrm import WinrmEndpoint
from accessready.agent.plugin.checkapi import Check, CheckContext, Target
from accessready.agent.plugin.probekit import (
    FAILURES,
    describe_failure,
    failure_status,
    verify_off_note,
)
from accessready.agent.plugin.serverscript import server_targets
from accessready.agent.plugin.transport_texts import (
    KIND_OWNERS,
    KIND_REMEDIATION,
    failure_details,
    failure_summary,
)
from accessready.checks.protocols import rdp, wsman

# Remediation keys of the failures that mean "something else, or nothing, speaks here".
_PROTOCOL_KINDS = frozenset({"garbage", "closed", "reset", "too_big", "silent"})


def _probe_failure_result(check: Check, target: Target, exc: ProbeFailure, what: str,
                          extra: dict[str, Any]) -> Result:
    """One result for a failed probe: probekit's one table decides status and words."""
    status = failure_status(exc.kind)
    text = describe_failure(what, exc, detail=True)
    if status is Status.ERROR:
        fix = "error"
    else:
        fix = "protocol" if exc.kind in _PROTOCOL_KINDS else exc.kind
    return check.result(target, status, text, {**extra, **exc.to_json()}, fix=fix)


def _transport_failure_result(check: Check, target: Target, exc: TransportError,
                              what: str) -> Result:
    """A failed SSH handshake under the same rule as the other probes: network kinds go
    through probekit's table; ``protocol`` and host-key problems are findings about the
    server (FAIL); anything else is this machine's problem (ERROR)."""
    if exc.kind in FAILURES:
        return _probe_failure_result(check, target, ProbeFailure(exc.kind, str(exc)), what,
                                     failure_details(exc))
    status = Status.FAIL if exc.kind in ("protocol", "host_key_unknown",
                                         "host_key_mismatch") else Status.ERROR
    return check.result(target, status, failure_summary(exc, t(f"{what}:", f"{what}:")),
                        failure_details(exc), fix=exc.kind if status is Status.FAIL else "error")


# --- RDP ------------------------------------------------------------------------------

def _confirm_complete(data: bytes) -> bool:
    """Stop reading once one TPKT packet is in (or the bytes cannot be one)."""
    if len(data) < 4:
        return False
    try:
        return len(data) >= rdp.tpkt_length(data[:4])
    except rdp.RdpParseError:
        return True


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

    def run(self, ctx: CheckContext, target: Target) -> Result:
        server: Server = target.data
        host, port = server.address, server.rdp.port
        probes: list[dict[str, Any]] = []
        replies: dict[int, rdp.ConnectionConfirm] = {}
        garbage = False
        for requested in rdp.PROBE_REQUESTS:
            names = "|".join(rdp.protocol_names(requested))
            request = rdp.build_connection_request(requested)
            try:
                exchange = tcp_exchange(host, port, request, _confirm_complete,
                                        ctx.timeout(4.0), max_bytes=4096)
            except ProbeFailure as exc:
                # Nothing answered the first request: the next two would not fare better.
                if not probes and exc.kind not in ("garbage", "closed", "reset", "too_big"):
                    return _probe_failure_result(self, target, exc, f"RDP {host}:{port}",
                                                 {"endpoint": f"{host}:{port}"})
                probes.append({"requested": names, "failure": exc.kind, "message": str(exc)})
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


# --- WinRM ----------------------------------------------------------------------------

# Which WWW-Authenticate schemes serve each profile transport.
_SCHEMES_FOR = {"ntlm": ("Negotiate", "NTLM"), "kerberos": ("Negotiate", "Kerberos"),
                "credssp": ("CredSSP",), "basic": ("Basic",)}


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

    def run(self, ctx: CheckContext, target: Target) -> Result:
        server: Server = target.data
        cfg = server.winrm
        host, port = server.address, cfg.port
        tls = cfg.tls
        scheme = "https" if cfg.https else "http"
        where = f"{scheme}://{host}:{port}/wsman"
        host_header = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        headers, body = wsman.build_identify_request(host_header)
        headers = [h for h in headers if h[0].lower() != "host"]
        details: dict[str, Any] = {"url": where, "configured_auth": cfg.transport}
        try:
            exchange = http_request(host, port, "POST", wsman.WSMAN_PATH, headers=headers,
                                    body=body, tls=tls if cfg.https else None,
                                    host_header=host_header, timeout=ctx.timeout(5.0),
                                    max_body=wsman.MAX_XML_BYTES)
        except ProbeFailure as exc:
            return _probe_failure_result(self, target, exc, f"WinRM {where}", details)
        details["identify"] = exchange.to_json()
        response = exchange.response
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
        schemes = self._auth_schemes(ctx, host, port, tls if cfg.https else None, host_header)
        details["offered_auth"] = list(schemes) if schemes is not None else None
        product = f"{ident.product_vendor} {ident.product_version}".strip()
        warnings_en, warnings_sv, fix = [], [], None
        if exchange.tls is not None and not exchange.tls.verified and tls.verify:
            warnings_en.append(f"its certificate is not trusted ({exchange.tls.verify_kind})")
            warnings_sv.append(f"dess certifikat är inte betrott ({exchange.tls.verify_kind})")
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

    def _not_identified(self, ctx: CheckContext, target: Target, exchange: Any, where: str,
                        details: dict[str, Any]) -> Result:
        response = exchange.response
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
    def _auth_schemes(ctx: CheckContext, host: str, port: int, tls: Any,
                      host_header: str) -> tuple[str, ...] | None:
        """The schemes a 401 to an unauthenticated, empty POST offers (None: no answer)."""
        try:
            exchange = http_request(host, port, "POST", wsman.WSMAN_PATH,
                                    headers=[("Content-Type",
                                              "application/soap+xml;charset=UTF-8")],
                                    tls=tls, host_header=host_header,
                                    timeout=ctx.timeout(2.0), max_body=64 * 1024)
        except (ProbeFailure, Exception):  # evidence only: never fails the check
            return None
        if exchange.response.status != 401:
            return None
        try:
            return wsman.classify_http_auth(exchange.response.headers_all("WWW-Authenticate"))
        except wsman.WsmanParseError:
            return None


# --- SSH ------------------------------------------------------------------------------

class SshCheck(Check):
    """An SSH server answers, and its host key is the one known_hosts expects."""

    id = "remote.ssh"
    owners = {**KIND_OWNERS, "added": "engineer"}
    requirement = Requirement.REMOTE
    title = t("SSH reachable", "SSH nåbart")
    description = t("SSH banner and key exchange; the host key compared with known_hosts "
                    "(no login).",
                    "SSH-banner och nyckelutbyte; värdnyckeln jämförd med known_hosts "
                    "(ingen inloggning).")
    needs = ("network", "sessions")
    remediation = {
        **KIND_REMEDIATION,
        "default": KIND_REMEDIATION["timeout"],
        "added": t("The host key was unknown and has been added to known_hosts because of "
                   "--accept-new-host-keys. Confirm the fingerprint with the customer.",
                   "Värdnyckeln var okänd och har lagts till i known_hosts på grund av "
                   "--accept-new-host-keys. Bekräfta fingeravtrycket med kunden."),
    }

    def targets(self, profile: Profile) -> list[Target]:
        return server_targets(profile, ("ssh",))

    def run(self, ctx: CheckContext, target: Target) -> Result:
        server: Server = target.data
        where = f"{server.address}:{server.ssh.port}"
        sessions = ctx.service("sessions")
        try:
            info = sessions.ssh_probe(server, ctx.timeout(8.0))
        except TransportError as exc:
            return _transport_failure_result(self, target, exc, f"SSH {where}")
        details = info.to_json()
        key = info.host_key
        banner = info.banner
        if key.status == "known":
            return self.result(target, Status.PASS, t(
                f"{banner} on {where}; the {key.key_type} host key matches known_hosts "
                f"({key.fingerprint}).",
                f"{banner} på {where}; {key.key_type}-värdnyckeln stämmer med known_hosts "
                f"({key.fingerprint})."), details)
        if key.status == "added":
            return self.result(target, Status.WARN, t(
                f"{banner} on {where}; the unknown {key.key_type} host key {key.fingerprint} "
                "was added to known_hosts.",
                f"{banner} på {where}; den okända {key.key_type}-värdnyckeln "
                f"{key.fingerprint} lades till i known_hosts."), details, fix="added")
        en, sv, fix = _key_problem(f"{banner} on {where}", f"{banner} på {where}", key)
        return self.result(target, Status.FAIL, t(en, sv), details, fix=fix)


def _key_problem(on: str, pa: str, key: Any) -> tuple[str, str, str]:
    """(English, Swedish, remediation key) for a host key that is not accepted."""
    if key.status == "revoked":
        return (f"{on} presents {key.key_type} host key {key.fingerprint}, which known_hosts "
                "marks @revoked.",
                f"{pa} visar {key.key_type}-värdnyckeln {key.fingerprint}, som known_hosts "
                "markerar @revoked (återkallad).", "host_key_mismatch")
    if key.other_types_known:  # never added, even with --accept-new-host-keys
        known = ", ".join(key.other_types_known)
        return (f"{on} presents a {key.key_type} host key ({key.fingerprint}), but "
                f"known_hosts holds {known} for it; not accepted.",
                f"{pa} visar en {key.key_type}-värdnyckel ({key.fingerprint}), men "
                f"known_hosts har {known} för den; godtas inte.", "host_key_other_type")
    if key.status == "mismatch":
        expected = ", ".join(key.known_fingerprints)
        return (f"{on} presents {key.key_type} host key {key.fingerprint}, but known_hosts "
                f"expects {expected}.",
                f"{pa} visar {key.key_type}-värdnyckeln {key.fingerprint}, men known_hosts "
                f"förväntar sig {expected}.", "host_key_mismatch")
    return (f"{on}; its {key.key_type} host key {key.fingerprint} is not in "
            f"{key.known_hosts}.",
            f"{pa}; dess {key.key_type}-värdnyckel {key.fingerprint} finns inte i "
            f"{key.known_hosts}.", "host_key_unknown")

CHECKS = [RdpCheck, WinrmCheck, SshCheck]
