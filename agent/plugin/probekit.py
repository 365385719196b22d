"""Shared pieces of the network checks (access methods, ``remote``, ``adfs``): what a
failed probe means and which status it gets — one table for every check — how a TLS
handshake is judged, and a time budget that divides what is left of a check's deadline
between its probes.

Not a check family itself: no ``CHECKS`` here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from accessready.agent.core.model import Status, Text, t
from accessready.agent.io.net import ProbeFailure, TlsInfo, endpoint_text, modern_tls
from accessready.agent.plugin.checkapi import Budget as Budget  # moved; old name kept one release

CERT_WARN_DAYS = 30


@dataclass(frozen=True)
class FailureMeaning:
    """What one :class:`ProbeFailure` kind means: the status it earns and a clause that
    follows ``"host:port …"`` in both languages."""

    status: Status
    text: Text


# The one table turning a ProbeFailure kind into a status and words. FAIL: the target is
# not usable from here — a real finding about it or the path to it. ERROR: the check
# could not decide because of this machine (its resolver, its files, its time budget).
FAILURES: dict[str, FailureMeaning] = {
    "refused": FailureMeaning(Status.FAIL, t(
        "refused the connection (nothing listens, or a firewall rejects it)",
        "vägrade anslutningen (inget lyssnar, eller en brandvägg avvisar den)")),
    "timeout": FailureMeaning(Status.FAIL, t(
        "did not answer in time (a firewall drops the traffic, or the host is down)",
        "svarade inte i tid (en brandvägg stoppar trafiken, eller så är värden nere)")),
    "silent": FailureMeaning(Status.FAIL, t(
        "accepted the connection but did not answer in time (the service hangs or "
        "expects another protocol, or a firewall accepts and then drops)",
        "tog emot anslutningen men svarade inte i tid (tjänsten hänger eller väntar sig "
        "ett annat protokoll, eller så tar en brandvägg emot och släpper sedan trafiken)")),
    "unreachable": FailureMeaning(Status.FAIL, t(
        "is unreachable from this machine (no route)",
        "går inte att nå från den här datorn (ingen väg dit)")),
    "dns": FailureMeaning(Status.FAIL, t(
        "does not resolve (the name has no address in DNS)",
        "går inte att slå upp (namnet har ingen adress i DNS)")),
    "reset": FailureMeaning(Status.FAIL, t(
        "reset the connection", "återställde anslutningen (RST)")),
    "closed": FailureMeaning(Status.FAIL, t(
        "closed the connection without answering", "stängde anslutningen utan att svara")),
    "garbage": FailureMeaning(Status.FAIL, t(
        "answered something that is not the expected protocol",
        "svarade med något som inte är det väntade protokollet")),
    "too_big": FailureMeaning(Status.FAIL, t(
        "sent a far larger answer than the protocol allows",
        "skickade ett långt större svar än protokollet tillåter")),
    "tls": FailureMeaning(Status.FAIL, t(
        "failed the TLS handshake", "misslyckades med TLS-handskakningen")),
    "resolver": FailureMeaning(Status.ERROR, t(
        "could not be looked up: this machine's DNS resolver did not answer",
        "kunde inte slås upp: den här datorns DNS-server svarade inte")),
    "deadline": FailureMeaning(Status.ERROR, t(
        "could not be probed before the check's deadline",
        "hann inte kontrolleras före kontrollens tidsgräns")),
    "error": FailureMeaning(Status.ERROR, t(
        "could not be probed (an error on this machine)",
        "kunde inte kontrolleras (ett fel på den här datorn)")),
}


def _meaning(kind: str) -> FailureMeaning:
    # An unknown kind is not evidence against the target: it cannot decide (ERROR).
    return FAILURES.get(kind, FAILURES["error"])


def failure_text(kind: str) -> Text:
    """The clause describing a failure ``kind`` (``refused``, ``timeout``, …)."""
    return _meaning(kind).text


def failure_status(kind: str) -> Status:
    """FAIL when the target is not usable from here; ERROR for this machine's problems
    (its resolver, its files, no time left) and for unknown kinds."""
    return _meaning(kind).status


def describe_failure(where: str, failure: ProbeFailure, *, detail: bool = False) -> Text:
    """``"vpn.example.se:443 refused the connection …"`` in both languages; with
    ``detail`` the probe's own (English) message follows in parentheses."""
    clause = failure_text(failure.kind)
    extra = f" ({failure})" if detail and str(failure) else ""
    return t(f"{where} {clause.en}{extra}.", f"{where} {clause.sv}{extra}.")


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
    # observing handshake (net.observing_context) lets old servers through to be seen.
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
