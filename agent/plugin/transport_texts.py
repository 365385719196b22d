"""Texts shared by the remote, account and service checks about a transport failure:
what its kind means to the reader, what to do about it and who acts — all read from the
one failure table (:mod:`accessready.agent.core.failures`); nothing here is a second one.

The kinds are those of :class:`accessready.agent.io.transports.base.TransportError`.
"""

from __future__ import annotations

from typing import Any

from accessready.agent.core.failures import ACCOUNT, FAILURES, failure, fix_for
from accessready.agent.core.model import Status, Text, t
from accessready.agent.io.transports.base import TransportError

# Remediation keys that sharpen a kind's fix: key -> (kind, refinement of fix_for).
_REFINED: dict[str, tuple[str, str]] = {
    "auth_failed_winrm": ("auth_failed", "winrm"),
    "auth_failed_ssh": ("auth_failed", "ssh"),
    "host_key_other_type": ("host_key_unknown", "other_key_types_known"),
}


def _fixes() -> dict[str, Text]:
    out = {kind: entry.fix for kind, entry in FAILURES.items() if entry.fix is not None}
    for key, (kind, refinement) in _REFINED.items():
        fix = fix_for(kind, refinement)
        if fix is not None:
            out[key] = fix
    return out


# Derived from the one table, for checks that merge them into their ``remediation`` and
# ``owners``: the fix per kind (and per refined key), and who acts when it is not the
# customer's IT (this machine's problems are the engineer's; a profile setting the
# supplier's).
KIND_REMEDIATION: dict[str, Text] = _fixes()
KIND_OWNERS: dict[str, str] = {kind: entry.owner for kind, entry in FAILURES.items()
                                if entry.owner != "customer"}

# What each WinrmEndpoint.credential_risk means, as the end of a sentence.
CREDENTIAL_RISK_TEXT: dict[str, Text] = {
    "unverified_tls": t("over TLS that is not verified (verify = false): whoever answers "
                        "receives them",
                        "över TLS som inte verifieras (verify = false): den som svarar "
                        "får dem"),
    "cleartext": t("with Basic over plain HTTP: the password crosses the network in "
                   "cleartext",
                   "med Basic över okrypterad HTTP: lösenordet går i klartext över nätet"),
    "credssp_unverified": t("with CredSSP over plain HTTP: the password is handed to a "
                            "server no certificate vouches for",
                            "med CredSSP över okrypterad HTTP: lösenordet lämnas till en "
                            "server som inget certifikat går i god för"),
}


def credential_risk_note(risk: str, url: str) -> Text:
    """The report-top notice for a server whose profile lets the credentials go
    unprotected (``allow_insecure_credentials``): said of the setting, so it holds whether
    this run's login got as far as sending them or not."""
    why = CREDENTIAL_RISK_TEXT.get(risk, CREDENTIAL_RISK_TEXT["unverified_tls"])
    return t(f"The profile lets the support account's credentials go to {url} {why.en} "
             "(allow_insecure_credentials = true).",
             f"Profilen låter supportkontots inloggningsuppgifter gå till {url} {why.sv} "
             "(allow_insecure_credentials = true).")


def remediation_key(exc: TransportError, method: str) -> str:
    """The :data:`KIND_REMEDIATION` key for ``exc`` on ``method``."""
    if exc.kind == "auth_failed":
        return f"auth_failed_{method}" if method in ("ssh", "winrm") else "auth_failed_winrm"
    host_key = exc.details.get("host_key")
    if exc.kind == "host_key_unknown" and isinstance(host_key, dict) \
            and host_key.get("other_key_types_known"):
        return "host_key_other_type"
    return exc.kind if exc.kind in KIND_REMEDIATION else "error"


def failure_summary(exc: TransportError, prefix: Text | None = None) -> Text:
    """``prefix`` + the kind's sentence + the transport's own explanation (English)."""
    says = failure(exc.kind).says
    en, sv = f"The server {says.en}.", f"Servern {says.sv}."
    if prefix is not None:
        en, sv = f"{prefix.en} {en}", f"{prefix.sv} {sv}"
    return t(f"{en} ({exc})", f"{sv} ({exc})")


def failure_details(exc: TransportError, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Evidence for a transport failure."""
    return {**(extra or {}), "failure": exc.kind, "message": str(exc), **exc.details}


def status_for(exc: TransportError) -> Status:
    """FAIL when the account itself is the problem (the table's ``account`` kinds), ERROR
    when the login was not tried: a closed port decides nothing about the account."""
    return Status.FAIL if failure(exc.kind).about == ACCOUNT else Status.ERROR

