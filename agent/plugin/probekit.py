"""Shared pieces of the network checks (access methods, ``remote``, ``adfs``): what a
failed probe means and which status it gets (read from the one failure table,
:mod:`accessready.agent.core.failures`), and how a TLS handshake is judged. (The time
budget is :class:`accessready.agent.plugin.checkapi.Budget`.)

Not a check family itself: no ``CHECKS`` here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from accessready.agent.core.model import Status, Text, t
from accessready.agent.core.outcome import ProbeOutcome
from accessready.agent.io.net import endpoint_text
from accessready.agent.io.tls import TlsInfo, modern_tls

CERT_WARN_DAYS = 30


def describe_failure(where: str, outcome: ProbeOutcome, *, detail: bool = False) -> Text:
    """``"vpn.example.se:443 refused the connection …"`` in both languages; with
    ``detail`` the probe's own (English) message follows in parentheses."""
    return outcome.describe(where=where, detail=detail)


def probe_fix(outcome: ProbeOutcome) -> str:
    """The remediation key for a probe that did not complete: ``unreachable`` when the
    failure table blames the target (or the path to it), ``error`` when it blames us."""
    return "unreachable" if outcome.status is Status.FAIL else "error"


def out_of_time(where: str, **facts: Any) -> ProbeOutcome:
    """The outcome of a probe the check's deadline left no time for: ``deadline`` (ours,
    never a finding about ``where``)."""
    return ProbeOutcome(where, kind="deadline", message="no time left", facts=facts)


endpoint = endpoint_text  # ``host:port`` with brackets for IPv6 literals


# Remediation for the TLS findings judge_tls names, shared by the gateway checks.
TLS_REMEDIATION: dict[str, Text] = {
    "old_tls": t(
        "Enable TLS 1.2 (and 1.3 where available) on the gateway and switch off TLS 1.0 "
        "and 1.1: current clients refuse the older versions.",
        "Aktivera TLS 1.2 (och 1.3 där det finns) på gatewayen och stäng av TLS 1.0 och "
        "1.1: dagens klienter vägrar de äldre versionerna."),
    "weak_tls": t(
        "Replace weak TLS settings on the gateway: a certificate key of at least 2048 bits "
        "RSA (or an EC key) signed with SHA-256, and current cipher suites (ECDHE with "
        "AES-GCM).",
        "Byt ut svaga TLS-inställningar på gatewayen: en certifikatnyckel på minst 2048 "
        "bitar RSA (eller en EC-nyckel) signerad med SHA-256, och aktuella chiffersviter "
        "(ECDHE med AES-GCM)."),
}


def verify_off_note(what: str) -> dict[str, str]:
    """The :data:`~accessready.agent.core.model.INSECURE` note (JSON) for a connection to
    ``what`` whose TLS was not verified because the profile says ``verify = false``."""
    return t(f"TLS verification is turned off in the profile (verify = false) for {what}: "
             "its identity was not checked.",
             f"TLS-verifieringen är avstängd i profilen (verify = false) för {what}: dess "
             "identitet kontrollerades inte.").to_json()


@dataclass(frozen=True)
class TlsVerdict:
    """How a TLS handshake was judged: status, a sentence, a remediation key."""

    status: Status
    text: Text
    fix: str | None = None
    due: dt.date | None = None  # the certificate's expiry, for an expired/expiring one


def judge_tls(info: TlsInfo | None, now: dt.datetime, *, untrusted: Status,
              warn_days: int = CERT_WARN_DAYS) -> TlsVerdict:
    """Judge protocol version, chain, name and expiry. ``untrusted`` is the status for a
    handshake the client would not accept (FAIL where the client refuses it, WARN where it
    prompts)."""
    if info is None:
        return TlsVerdict(Status.PASS, t("", ""))
    cert = info.cert
    if cert is not None and cert.not_after < now:
        return TlsVerdict(untrusted, t(
            f"the certificate expired on {cert.not_after:%Y-%m-%d}",
            f"certifikatet gick ut {cert.not_after:%Y-%m-%d}"), "cert_expired",
            cert.not_after.date())
    # Decided from the negotiated version, not from whether a handshake worked: the
    # observing handshake (tls.observing_context) lets old servers through to be seen.
    if info.version and not modern_tls(info.version):
        return TlsVerdict(untrusted, t(
            f"only {info.version} was negotiated; current clients need TLS 1.2 or newer",
            f"endast {info.version} förhandlades; dagens klienter kräver TLS 1.2 eller "
            "senare"), "old_tls")
    if info.verification_disabled:
        return TlsVerdict(Status.WARN, t(
            "TLS VERIFICATION IS TURNED OFF in the profile (verify = false): the gateway's "
            "identity was not checked",
            "TLS-VERIFIERING ÄR AVSTÄNGD i profilen (verify = false): gatewayens identitet "
            "kontrollerades inte"), "verify_off")
    if not info.verified and info.verify_kind == "weak_tls":
        return TlsVerdict(untrusted, t(
            f"a current TLS client refuses the handshake ({info.verify_error}): weak "
            "ciphers, keys or signatures; the certificate's trust could not be checked",
            f"en aktuell TLS-klient vägrar handskakningen ({info.verify_error}): svaga "
            "chiffer, nycklar eller signaturer; certifikatets tillit kunde inte "
            "kontrolleras"), "weak_tls")
    if not info.verified:
        why = {"name_mismatch": t("the certificate does not name this host",
                                  "certifikatet gäller inte det här värdnamnet"),
               "self_signed": t("the certificate is self-signed",
                                "certifikatet är självsignerat"),
               "expired": t("the certificate has expired", "certifikatet har gått ut"),
               }.get(info.verify_kind, t("the certificate chain is not trusted",
                                         "certifikatkedjan är inte betrodd"))
        return TlsVerdict(untrusted, t(f"{why.en} ({info.verify_error})",
                                       f"{why.sv} ({info.verify_error})"), "cert_untrusted")
    if cert is not None:
        days = cert.days_left(now)
        if days < warn_days:
            return TlsVerdict(Status.WARN, t(
                f"the certificate expires in {days} days ({cert.not_after:%Y-%m-%d})",
                f"certifikatet går ut om {days} dagar ({cert.not_after:%Y-%m-%d})"),
                "cert_expiring", cert.not_after.date())
    return TlsVerdict(Status.PASS, t("", ""))
