"""Shared pieces of the access-method checks (TeamViewer, AnyConnect, Check Point, Windows
VPN): how a failed probe reads in both languages, how a TLS handshake is judged, and a
time budget that divides what is left of a check's deadline between its probes.

Not a check family itself: no ``CHECKS`` here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from accessready.agent.checkapi import CheckContext
from accessready.agent.model import Status, Text, t
from accessready.checks.net import ProbeFailure, TlsInfo

CERT_WARN_DAYS = 30

# What a ProbeFailure kind means, as a clause that follows "host:port …".
_FAILURE_TEXT: dict[str, Text] = {
    "refused": t("refused the connection (nothing listens, or a firewall rejects it)",
                 "vägrade anslutningen (inget lyssnar, eller en brandvägg avvisar)"),
    "timeout": t("did not answer in time (filtered, or the service is silent)",
                 "svarade inte i tid (filtrerat, eller så är tjänsten tyst)"),
    "unreachable": t("is unreachable from this machine (no route)",
                     "går inte att nå från den här datorn (ingen väg)"),
    "dns": t("does not resolve", "går inte att slå upp i DNS"),
    "reset": t("reset the connection", "återställde anslutningen (RST)"),
    "closed": t("closed the connection without answering",
                "stängde anslutningen utan att svara"),
    "garbage": t("answered something that is not the expected protocol",
                 "svarade med något som inte är det väntade protokollet"),
    "too_big": t("sent a far larger answer than the protocol allows",
                 "skickade ett långt större svar än protokollet tillåter"),
    "tls": t("failed the TLS handshake", "misslyckades med TLS-handskakningen"),
    "deadline": t("could not be probed before the check's deadline",
                  "hann inte kontrolleras före kontrollens tidsgräns"),
    "error": t("could not be probed (local error)", "kunde inte kontrolleras (lokalt fel)"),
}


def failure_text(kind: str) -> Text:
    """The clause describing a failure ``kind`` (``refused``, ``timeout``, …)."""
    return _FAILURE_TEXT.get(kind, _FAILURE_TEXT["error"])


def failure_status(kind: str) -> Status:
    """A peer that refuses, is silent or answers nonsense fails; a local problem errors."""
    return Status.ERROR if kind in ("error", "deadline") else Status.FAIL


def describe_failure(where: str, failure: ProbeFailure) -> Text:
    """``"vpn.example.se:443 refused the connection …"`` in both languages."""
    clause = failure_text(failure.kind)
    return t(f"{where} {clause.en}.", f"{where} {clause.sv}.")


def deadline_failure() -> ProbeFailure:
    """The failure recorded when a probe had no time left to start."""
    return ProbeFailure("deadline", "no time left before the check's deadline")


@dataclass
class Budget:
    """Divides a check's remaining time among ``parts`` probes, each capped at ``cap``.

    The last probes get what the first ones left over; ``timeout()`` raises
    :class:`DeadlineExceeded` (from the context) when nothing is left.
    """

    ctx: CheckContext
    parts: int
    cap: float

    def timeout(self) -> float:
        """The timeout for the next probe."""
        share = self.ctx.remaining() / max(self.parts, 1)
        self.parts = max(self.parts - 1, 1)
        return self.ctx.timeout(min(self.cap, max(share, 0.3)))


def endpoint(host: str, port: int) -> str:
    """``host:port`` with brackets for IPv6 literals."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass(frozen=True)
class TlsVerdict:
    """How a TLS handshake was judged: status, a sentence, a remediation key."""

    status: Status
    text: Text
    fix: str | None = None


def judge_tls(info: TlsInfo | None, now: dt.datetime, *, untrusted: Status,
              warn_days: int = CERT_WARN_DAYS) -> TlsVerdict:
    """Judge chain, name and expiry. ``untrusted`` is the status for a certificate the
    client would not trust (FAIL where the client refuses it, WARN where it prompts)."""
    if info is None:
        return TlsVerdict(Status.PASS, t("", ""))
    cert = info.cert
    if cert is not None and cert.not_after < now:
        return TlsVerdict(untrusted, t(
            f"the certificate expired on {cert.not_after:%Y-%m-%d}",
            f"certifikatet gick ut {cert.not_after:%Y-%m-%d}"), "cert_expired")
    if info.verification_disabled:
        return TlsVerdict(Status.WARN, t(
            "TLS VERIFICATION IS TURNED OFF in the profile (verify = false): the gateway's "
            "identity was not checked",
            "TLS-VERIFIERING ÄR AVSTÄNGD i profilen (verify = false): gatewayens identitet "
            "kontrollerades inte"), "verify_off")
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
                "cert_expiring")
    return TlsVerdict(Status.PASS, t("", ""))
