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
from dataclasses import dataclass
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
from accessready.agent.plugin.checkapi import CheckContext, Contact, Target
from accessready.agent.plugin.probekit import describe_failure, verify_off_note
from accessready.checks.adfs.base import (
    CONNECT_CAP,
    NO_SNI_CAP,
    AdfsCheck,
    adfs_nodes,
    certificate_findings,
    https_port,
    node_role,
    noted,
    service_address,
    tls_options,
)
from accessready.checks.adfs.remediation import TLS_REMEDIATION
from accessready.checks.adfs.summaries import TLS_SAID, said
from accessready.checks.common.findings import Finding, conclude, earliest_due

# How a failed connection is fixed, by failure kind (the rest is judged below).
NO_TLS_FIX = {"refused": "refused", "timeout": "unreachable", "unreachable": "unreachable",
              "dns": "unreachable", "silent": "handshake"}


@dataclass(frozen=True)
class _Node:
    """An AD FS or WAP node as a target: the server and the HTTPS port it is asked on."""

    server: Server
    port: int


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
        cfg = profile.adfs
        assert cfg is not None
        return [Target(cfg.federation_service),
                *(Target(s.name, _Node(s, https_port(cfg, s))) for s in adfs_nodes(profile))]

    def first_contact(self, target: Target) -> Contact | None:
        # a node's address is known before the check runs; the service name is resolved
        # by the check's own resolvers (its view), so it connects itself
        node: _Node | None = target.data
        return Contact(node.server.address, node.port, CONNECT_CAP) if node else None

    def run(self, ctx: CheckContext, target: Target) -> Result:
        cfg = ctx.profile.adfs
        assert cfg is not None
        fs = cfg.federation_service
        node: _Node | None = target.data
        server = node.server if node is not None else None
        port = node.port if node is not None else https_port(cfg, None)
        details: dict[str, Any] = {"sni": fs, "port": port}
        address = self._address(ctx, fs, server, details)
        if address is None:
            return self.result(target, Status.ERROR, said(TLS_SAID["unresolved"], fs=fs),
                               details, "error")
        opts = tls_options(ctx.profile, server)
        details["trust"] = {"ca_file": opts.ca_file, "verify": opts.verify}
        handshake = tls_handshake(address, port, tls=opts, server_name=fs,
                                  timeout=ctx.timeout(CONNECT_CAP))
        if not handshake.ok:
            status, summary, fix = self._no_connection(ctx, handshake, address, port, fs,
                                                       details)
            return self.result(target, status, summary, details, fix)
        info: TlsInfo = handshake.facts["tls"]
        details["tls"] = info.to_json()
        if info.verification_disabled:
            details[INSECURE] = verify_off_note(f"{fs} ({address})")
        sni_note = self._without_sni(ctx, address, port, details)
        findings = [*self._judge(info, fs, ctx.now(), cfg.cert_warn_days), sni_note]
        served = self._served(info, ctx.now())
        status, summary, fix = conclude(findings, served.en, served.sv)
        if status is not Status.PASS and sni_note.en:
            summary = t(f"{summary.en} {sni_note.en}", f"{summary.sv} {sni_note.sv}")
        return self.result(target, status, summary, details, fix, due=earliest_due(findings))

    @staticmethod
    def _address(ctx: CheckContext, fs: str, server: Server | None,
                 details: dict[str, Any]) -> str | None:
        """Where to shake hands: the node's address, or the service name as resolved here."""
        if server is None:
            address, details["dns"] = service_address(ctx, fs)
            if address is None:
                return None
        else:
            address = server.address
            details["role"] = node_role(server)
        details["address"] = address
        return address

    @staticmethod
    def _served(info: TlsInfo, now: dt.datetime) -> Text:
        """What the server serves, in one sentence (empty without a certificate)."""
        cert = info.cert
        if cert is None:
            return t("", "")
        return said(TLS_SAID["served"], subject=cert.subject,
                    end=cert.not_after.date().isoformat(), days=cert.days_left(now),
                    trust=TLS_SAID["trusted" if info.verified else "not_verified"],
                    version=info.version)

    def _no_connection(self, ctx: CheckContext, handshake: ProbeOutcome, address: str,
                       port: int, fs: str,
                       details: dict[str, Any]) -> tuple[Status, Text, str | None]:
        """The handshake failed: is the server too old, or is it something else?"""
        details["failure"] = handshake.to_json()
        old_tls = False
        if handshake.kind == "tls":
            details["modern_only"] = self._modern_only(ctx, address, port, fs)
            old_tls = bool(details["modern_only"].get("protocol_refused"))
        return self._failed(handshake, old_tls)

    @staticmethod
    def _failed(failure: ProbeOutcome, old_tls: bool) -> tuple[Status, Text, str | None]:
        described = describe_failure(failure.target, failure, detail=True)
        why = t(described.en.rstrip("."), described.sv.rstrip("."))
        no_tls = said(TLS_SAID["no_tls"], why=why)
        if failure.status is Status.ERROR:
            return Status.ERROR, no_tls, "error"
        if failure.kind in NO_TLS_FIX:
            return Status.FAIL, no_tls, NO_TLS_FIX[failure.kind]
        if failure.kind == "reset":
            return Status.FAIL, said(TLS_SAID["no_binding"], why=why), "no_binding"
        if old_tls:
            return Status.FAIL, TLS_SAID["old_tls_alert"], "old_tls"
        return Status.FAIL, said(TLS_SAID["handshake"], why=why), "handshake"

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
        details["without_sni"] = {"tried": True, "answered": handshake.ok}
        if not handshake.ok:
            details["without_sni"].update(handshake.to_json())
            return noted(Status.PASS, TLS_SAID["sni_refused"])
        return noted(Status.PASS, TLS_SAID["sni_answered"])

    @staticmethod
    def _judge(info: TlsInfo, fs: str, now: dt.datetime, warn_days: int) -> list[Finding]:
        findings: list[Finding] = []
        if info.verification_disabled:
            findings.append(noted(Status.WARN, TLS_SAID["verify_off"], "verify_off"))
        cert = info.cert
        if cert is None:
            findings.append(noted(Status.ERROR, TLS_SAID["no_certificate"], "handshake"))
            return findings
        findings += certificate_findings(cert, now, warn_days, "certificate", "certifikatet")
        if not cert.matches(fs):
            names = ", ".join((*cert.dns_names, *cert.ip_addresses)) or cert.common_name or "-"
            findings.append(noted(Status.FAIL, said(TLS_SAID["name_mismatch"], fs=fs,
                                                    names=names), "name_mismatch"))
        if not info.verified and not info.verification_disabled:
            if info.verify_kind == "old_tls":
                pass  # the negotiated version is judged below; trust was not checked
            elif info.verify_kind == "weak_tls":
                findings.append(noted(Status.WARN, said(TLS_SAID["weak_tls"],
                                                        error=info.verify_error), "handshake"))
            elif cert.self_signed:
                findings.append(noted(Status.FAIL, TLS_SAID["self_signed"], "self_signed"))
            elif info.verify_kind not in ("expired", "name_mismatch", "not_yet_valid"):
                findings.append(noted(Status.WARN, said(TLS_SAID["untrusted"], issuer=cert.issuer,
                                                        error=info.verify_error), "untrusted"))
        if not modern_tls(info.version):
            findings.append(noted(Status.FAIL, said(TLS_SAID["old_tls"], version=info.version),
                                  "old_tls"))
        return findings
