"""``adfs.tls``: per node and for the service name: the certificate served for the name
(chain against the system store or ``ca_file``, name, expiry within
``cert_warn_days``), and that TLS 1.2 or newer is negotiated — decided from the
negotiated version: a server a current client refuses is shaken hands with again,
offering TLS 1.0 and weak ciphers, so an old server is reported as old, not as a
failed handshake. A reset without SNI is how AD FS/WAP http.sys bindings behave and is
reported as information. It cannot tell whether TLS 1.0/1.1 are *also* enabled on a
server that offers 1.2 (a server picks the newest version both sides offer).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from accessready.agent.core.model import INSECURE, Result, Status, Text, t
from accessready.agent.core.outcome import ProbeOutcome
from accessready.agent.core.profile_types import Profile, Server, TlsOptions
from accessready.agent.io.tls import (
    TlsInfo,
    modern_tls,
    modern_tls_handshake,
    tls_handshake,
)
from accessready.agent.plugin.checkapi import CheckContext, Target
from accessready.agent.plugin.probekit import describe_failure, verify_off_note
from accessready.checks.adfs.base import (
    CONNECT_CAP,
    NO_SNI_CAP,
    AdfsCheck,
    adfs_nodes,
    certificate_findings,
    https_port,
    node_role,
    service_address,
    tls_options,
)
from accessready.checks.adfs.http_texts import TLS_REMEDIATION
from accessready.checks.common.findings import Finding, conclude, earliest_due


class AdfsTlsCheck(AdfsCheck):
    """The certificate AD FS and WAP serve for the federation service name."""

    id = "adfs.tls"
    owners = {"verify_off": "supplier"}
    title = t("AD FS TLS certificate", "AD FS TLS-certifikat")
    description = t(
        "Every AD FS and WAP node, and the service name itself, serves a trusted, unexpired "
        "certificate for the federation service name over TLS 1.2 or newer.",
        "Varje AD FS- och WAP-server, och tjänstenamnet självt, visar ett betrott och giltigt "
        "certifikat för federationstjänstens namn över TLS 1.2 eller senare.")
    remediation = TLS_REMEDIATION

    def targets(self, profile: Profile) -> list[Target]:
        assert profile.adfs is not None
        fs = profile.adfs.federation_service
        return [Target(fs), *(Target(s.name, s) for s in adfs_nodes(profile))]

    def run(self, ctx: CheckContext, target: Target) -> Result:
        cfg = ctx.profile.adfs
        assert cfg is not None
        fs = cfg.federation_service
        server: Server | None = target.data
        details: dict[str, Any] = {"sni": fs, "port": https_port(cfg, server)}
        if server is None:
            address, dns_ev = service_address(ctx, fs)
            details["dns"] = dns_ev
            if address is None:
                return self.result(target, Status.ERROR, t(
                    f"{fs} does not resolve here, so its certificate cannot be checked "
                    "(see adfs.dns).", f"{fs} går inte att slå upp härifrån, så certifikatet "
                    "kan inte kontrolleras (se adfs.dns)."), details, "error")
        else:
            address = server.address
            details["role"] = node_role(server)
        details["address"] = address
        opts = tls_options(ctx.profile, server)
        details["trust"] = {"ca_file": opts.ca_file, "verify": opts.verify}
        handshake = tls_handshake(address, https_port(cfg, server), tls=opts, server_name=fs,
                                  timeout=ctx.timeout(CONNECT_CAP))
        if not handshake.ok:
            details["failure"] = handshake.to_json()
            old_tls = False
            if handshake.kind == "tls":
                details["modern_only"] = self._modern_only(ctx, address,
                                                           https_port(cfg, server), fs)
                old_tls = bool(details["modern_only"].get("protocol_refused"))
            status, summary, fix = self._failed(handshake, old_tls)
            return self.result(target, status, summary, details, fix)
        info: TlsInfo = handshake.facts["tls"]
        details["tls"] = info.to_json()
        if info.verification_disabled:
            details[INSECURE] = verify_off_note(f"{fs} ({address})")
        sni_note = self._without_sni(ctx, address, https_port(cfg, server), details)
        findings = self._judge(info, fs, ctx.now(), cfg.cert_warn_days)
        cert = info.cert
        ok_en = ok_sv = ""
        if cert is not None:
            end = cert.not_after.date().isoformat()
            days = cert.days_left(ctx.now())
            trust_en = "trusted chain" if info.verified else "chain not verified"
            trust_sv = "betrodd kedja" if info.verified else "kedjan ej verifierad"
            ok_en = (f"{cert.subject} valid until {end} ({days} days), {trust_en}, "
                     f"{info.version}.")
            ok_sv = (f"{cert.subject} giltigt till {end} ({days} dagar), {trust_sv}, "
                     f"{info.version}.")
        findings.append(sni_note)
        status, summary, fix = conclude(findings, ok_en, ok_sv)
        if status is not Status.PASS and sni_note.en:
            summary = t(f"{summary.en} {sni_note.en}", f"{summary.sv} {sni_note.sv}")
        return self.result(target, status, summary, details, fix, due=earliest_due(findings))

    @staticmethod
    def _failed(failure: ProbeOutcome, old_tls: bool) -> tuple[Status, Text, str | None]:
        said = describe_failure(failure.target, failure, detail=True)
        en, sv = said.en.rstrip("."), said.sv.rstrip(".")
        no_tls = t(f"No TLS connection: {en}.", f"Ingen TLS-anslutning: {sv}.")
        if failure.status is Status.ERROR:
            return Status.ERROR, no_tls, "error"
        if failure.kind == "refused":
            return Status.FAIL, no_tls, "refused"
        if failure.kind in ("timeout", "unreachable", "dns"):
            return Status.FAIL, no_tls, "unreachable"
        if failure.kind == "silent":
            return Status.FAIL, no_tls, "handshake"
        if failure.kind == "reset":
            return Status.FAIL, t(f"The server reset the TLS handshake even with SNI: {en}.",
                                  f"Servern återställde TLS-handskakningen trots SNI: {sv}."), \
                "no_binding"
        if old_tls:
            return Status.FAIL, t(
                "The server does not offer TLS 1.2 or newer: it answers a TLS 1.2/1.3 "
                "handshake with a protocol-version alert.",
                "Servern erbjuder inte TLS 1.2 eller senare: den svarar på en TLS 1.2/1.3-"
                "handskakning med ett larm om protokollversion."), "old_tls"
        return Status.FAIL, t(f"The TLS handshake failed: {en}.",
                              f"TLS-handskakningen misslyckades: {sv}."), "handshake"

    @staticmethod
    def _modern_only(ctx: CheckContext, address: str, port: int, fs: str) -> dict[str, Any]:
        """A handshake offering only TLS 1.2+, to tell "too old" from other TLS failures.

        Runs only when even the observing handshake (TLS 1.0+, any cipher) failed: that
        one can fail on ciphers against a very old server, which hides the real cause.
        Offering 1.2+ alone makes such a server answer with a protocol-version alert.
        """
        if ctx.remaining() < 1.0:
            return {"tried": False}
        outcome = modern_tls_handshake(address, port, fs, ctx.timeout(NO_SNI_CAP))
        return {"tried": True, "answered": outcome.ok, **outcome.to_json()}

    @staticmethod
    def _without_sni(ctx: CheckContext, address: str, port: int,
                     details: dict[str, Any]) -> Finding:
        """A second handshake without SNI, for information: AD FS and WAP normally reset."""
        if ctx.remaining() < 1.0:
            details["without_sni"] = {"tried": False, "reason": "not enough time left"}
            return Finding(Status.PASS, "", "")
        handshake = tls_handshake(address, port, tls=TlsOptions(verify=False), server_name=None,
                                  timeout=ctx.timeout(NO_SNI_CAP))
        if not handshake.ok:
            details["without_sni"] = {"tried": True, "answered": False, **handshake.to_json()}
            return Finding(Status.PASS, "Without SNI the server refuses TLS, as AD FS and WAP "
                           "do by default (information).", "Utan SNI vägrar servern TLS, som "
                           "AD FS och WAP gör som standard (information).")
        details["without_sni"] = {"tried": True, "answered": True}
        return Finding(Status.PASS, "It also answers without SNI (a fallback binding exists).",
                       "Den svarar även utan SNI (det finns en reservbindning).")

    @staticmethod
    def _judge(info: TlsInfo, fs: str, now: dt.datetime, warn_days: int) -> list[Finding]:
        findings: list[Finding] = []
        if info.verification_disabled:
            findings.append(Finding(Status.WARN, "Certificate verification is OFF in the "
                                    "profile (verify = false).", "Certifikatkontrollen är "
                                    "AVSTÄNGD i profilen (verify = false).", "verify_off"))
        cert = info.cert
        if cert is None:
            findings.append(Finding(Status.ERROR, "The server sent no readable certificate.",
                                    "Servern skickade inget läsbart certifikat.", "handshake"))
            return findings
        findings += certificate_findings(cert, now, warn_days, "certificate", "certifikatet")
        if not cert.matches(fs):
            names = ", ".join((*cert.dns_names, *cert.ip_addresses)) or cert.common_name or "-"
            findings.append(Finding(Status.FAIL, f"The certificate does not cover {fs} "
                                    f"(it names {names}).", f"Certifikatet gäller inte {fs} "
                                    f"(det anger {names}).", "name_mismatch"))
        if not info.verified and not info.verification_disabled:
            if info.verify_kind == "old_tls":
                pass  # the negotiated version is judged below; trust was not checked
            elif info.verify_kind == "weak_tls":
                findings.append(Finding(Status.WARN, "A current TLS client refuses the "
                                        f"handshake ({info.verify_error}): weak ciphers, keys "
                                        "or signatures; trust was not checked.",
                                        "En aktuell TLS-klient vägrar handskakningen "
                                        f"({info.verify_error}): svaga chiffer, nycklar eller "
                                        "signaturer; tilliten kontrollerades inte.",
                                        "handshake"))
            elif cert.self_signed:
                findings.append(Finding(Status.FAIL, "The certificate is self-signed.",
                                        "Certifikatet är självsignerat.", "self_signed"))
            elif info.verify_kind not in ("expired", "name_mismatch", "not_yet_valid"):
                findings.append(Finding(Status.WARN, "This machine does not trust its issuer "
                                        f"({cert.issuer}): {info.verify_error}.",
                                        "Den här datorn litar inte på utfärdaren "
                                        f"({cert.issuer}): {info.verify_error}.", "untrusted"))
        if not modern_tls(info.version):
            findings.append(Finding(Status.FAIL, f"Only {info.version} was negotiated; TLS 1.2 "
                                    "or newer is needed.", f"Endast {info.version} förhandlades; "
                                    "TLS 1.2 eller senare krävs.", "old_tls"))
        return findings
