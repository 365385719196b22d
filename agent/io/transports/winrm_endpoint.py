"""WinRM endpoints and what their failures mean: where and how to reach one listener
(:class:`WinrmEndpoint`, with the risk its settings pose to the credentials), and the
mapping of pywinrm / requests / authentication-library exceptions to the one failure
table's kinds (:func:`classify_winrm_error`; NTSTATUS and KDC codes through
:func:`classify_auth_text`). Used by :mod:`accessready.agent.io.transports.winrm`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from accessready.agent.io.transports.base import (
    TransportError,
    library_message,
    unexpected_answer,
)

# pywinrm transport name for each profile ``winrm.transport`` value.
AUTH_TRANSPORTS = {"ntlm": "ntlm", "kerberos": "kerberos", "credssp": "credssp",
                   "basic": "basic", "certificate": "certificate"}

# NTSTATUS codes (CredSSP TSRequest errorCode, SSPI) and KDC errors, as they show up in
# exception texts from requests-credssp / pyspnego / GSSAPI.
_STATUS_KINDS: tuple[tuple[str, str, str], ...] = (
    ("c0000234", "account_locked", "STATUS_ACCOUNT_LOCKED_OUT"),
    ("c0000072", "account_disabled", "STATUS_ACCOUNT_DISABLED"),
    ("c0000193", "account_expired", "STATUS_ACCOUNT_EXPIRED"),
    ("c0000071", "password_expired", "STATUS_PASSWORD_EXPIRED"),
    ("c0000224", "password_expired", "STATUS_PASSWORD_MUST_CHANGE"),
    ("c0000064", "unknown_user", "STATUS_NO_SUCH_USER"),
    ("c000006a", "auth_failed", "STATUS_WRONG_PASSWORD"),
    ("c000006d", "auth_failed", "STATUS_LOGON_FAILURE"),
    ("c000006e", "access_denied", "STATUS_ACCOUNT_RESTRICTION"),
    ("c000006f", "access_denied", "STATUS_INVALID_LOGON_HOURS"),
    ("c0000070", "access_denied", "STATUS_INVALID_WORKSTATION"),
    ("c000015b", "access_denied", "STATUS_LOGON_TYPE_NOT_GRANTED"),
)
_KDC_TEXTS: tuple[tuple[str, str], ...] = (
    ("client not found in kerberos database", "unknown_user"),
    ("kdc_err_c_principal_unknown", "unknown_user"),
    ("clients credentials have been revoked", "account_locked"),
    ("kdc_err_client_revoked", "account_locked"),
    ("password has expired", "password_expired"),
    ("kdc_err_key_expired", "password_expired"),
    ("preauthentication failed", "auth_failed"),
    ("kdc_err_preauth_failed", "auth_failed"),
)


def classify_auth_text(text: str) -> tuple[str, str] | None:
    """(kind, evidence) for an NTSTATUS or KDC error found in ``text``, else None."""
    low = text.lower()
    for code, kind, name in _STATUS_KINDS:
        if code in low or name.lower() in low or str(int(code, 16)) in low:
            return kind, name
    for needle, kind in _KDC_TEXTS:
        if needle in low:
            return kind, needle
    return None


@dataclass(frozen=True)
class WinrmEndpoint:
    """Where and how to reach one WinRM listener."""

    host: str
    port: int
    https: bool
    auth: str  # a key of AUTH_TRANSPORTS
    username: str
    verify: bool = True
    ca_file: str | None = None
    cert_pem: str | None = None
    cert_key_pem: str | None = None
    allow_insecure: bool = False  # the profile's winrm.allow_insecure_credentials

    @property
    def credential_risk(self) -> str | None:
        """How the password would leave unprotected on this endpoint, or None.

        ``unverified_tls``: HTTPS with ``verify = false`` — whoever answers gets the
        credentials (with CredSSP and Basic the password itself). ``cleartext``: Basic
        over HTTP. ``credssp_unverified``: CredSSP over HTTP delegates the password to a
        peer no certificate vouched for. Client-certificate logins send no password.
        """
        if self.auth == "certificate":
            return None
        if self.https:
            return None if self.verify else "unverified_tls"
        return {"basic": "cleartext", "credssp": "credssp_unverified"}.get(self.auth)

    @property
    def url(self) -> str:
        """The endpoint URL pywinrm posts to."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.https else 'http'}://{host}:{self.port}/wsman"

    def to_json(self) -> dict[str, Any]:
        """Evidence (no secret)."""
        out: dict[str, Any] = {"url": self.url, "auth": self.auth, "username": self.username,
                               "tls_verify": self.verify if self.https else None}
        if self.ca_file:
            out["ca_file"] = self.ca_file
        if self.auth == "basic" and not self.https:
            out["warning"] = ("Basic over HTTP: the password crosses the network unencrypted "
                              "and the server must have AllowUnencrypted=true")
        risk = self.credential_risk
        if risk:
            out["credential_risk"] = risk
            out["allow_insecure_credentials"] = self.allow_insecure
        return out


# Why each credential_risk is one (English: TransportError messages are English).
INSECURE_WHY = {
    "unverified_tls": "TLS verification is off (verify = false), so anyone answering "
                      "in between would receive them",
    "cleartext": "Basic authentication over plain HTTP sends the password in cleartext",
    "credssp_unverified": "CredSSP over plain HTTP hands the password to a server whose "
                          "identity no certificate confirmed",
}


def _root_causes(exc: BaseException) -> list[BaseException]:
    chain, seen = [], set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        current = current.__cause__ or current.__context__
        args = getattr(chain[-1], "args", ())
        if current is None and args and isinstance(args[0], BaseException):
            current = args[0]
        reason = getattr(chain[-1], "reason", None)
        if current is None and isinstance(reason, BaseException):
            current = reason
    return chain


def classify_winrm_error(exc: BaseException, endpoint: WinrmEndpoint,
                         stage: str) -> TransportError:
    """Map a pywinrm / requests / auth-library exception to a :class:`TransportError`."""
    import requests
    from winrm.exceptions import (
        InvalidCredentialsError,
        WinRMError,
        WinRMTransportError,
        WSManFaultError,
    )

    where = endpoint.url
    details = {**endpoint.to_json(), "stage": stage, "exception": exc.__class__.__name__}
    text = str(exc)
    if isinstance(exc, TransportError):
        return exc
    if isinstance(exc, requests.exceptions.SSLError):
        reason = "certificate not trusted" if "CERTIFICATE_VERIFY_FAILED" in text else text
        return TransportError("tls", f"TLS with {where} failed: {reason[:300]} — set "
                              "winrm.ca_file to the CA that issued the listener's certificate",
                              details)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return TransportError("timeout", f"no answer from {where}: filtered, or the host is "
                              "down", details)
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return TransportError("timeout", f"{where} did not answer within the deadline "
                              f"({stage})", details)
    if isinstance(exc, requests.exceptions.ConnectionError):
        causes = _root_causes(exc)
        if any(isinstance(c, ConnectionRefusedError) for c in causes) or "refused" in text:
            return TransportError("refused", f"{where} refused the connection (port "
                                  "closed: no WinRM listener)", details)
        if "resolve" in text.lower() or "getaddrinfo" in text or "Name or service" in text:
            return TransportError("dns", f"{endpoint.host} does not resolve", details)
        if "unreachable" in text.lower():
            return TransportError("unreachable", f"{where} is unreachable", details)
        return TransportError("protocol", f"the connection to {where} broke: "
                              f"{text[:200]}", details)
    if isinstance(exc, InvalidCredentialsError):
        found = classify_auth_text(text)
        if found:
            return TransportError(found[0], f"{where}: {found[1]}",
                                  {**details, "status": found[1]})
        if "requires" in text or "cert_pem" in text:
            return TransportError("error", f"{where}: {text}", details)
        return TransportError(
            "auth_failed", f"{where} rejected the credentials of {endpoint.username} (HTTP "
            "401). Over NTLM and Basic, Windows answers a wrong password, an unknown user and "
            "a locked, disabled or expired account with the same 401", details)
    if isinstance(exc, WSManFaultError):
        details.update({"wsman_fault_code": exc.wsman_fault_code,
                        "fault_subcode": exc.fault_subcode, "reason": exc.reason,
                        "http_status": exc.code})
        if exc.wsman_fault_code == 5 or "access is denied" in (exc.reason or "").lower():
            return TransportError(
                "access_denied", f"{endpoint.username} authenticated on {where} but may not "
                "use WinRM (Access is denied): not in Administrators or Remote Management "
                "Users, or a local account filtered by UAC remote restrictions", details)
        return TransportError("protocol", f"{where} answered a WS-Management fault: "
                              f"{(exc.reason or '').strip()[:300]}", details)
    if isinstance(exc, WinRMTransportError):
        details["http_status"] = exc.code
        if exc.code in (404, 405):
            return TransportError("protocol", f"{where} answers HTTP {exc.code}: not a WinRM "
                                  "listener at /wsman", details)
        return TransportError("protocol", f"{where} answered HTTP {exc.code}", details)
    if isinstance(exc, WinRMError):
        if "not installed" in text:
            return TransportError("missing_dependency", f"{text} — install the Python "
                                  "package for this WinRM authentication", details)
        return unexpected_answer(where, exc, stage, details)
    if isinstance(exc, PermissionError) and "challenge" in text.lower():
        return TransportError("protocol", f"{where} does not offer NTLM/Negotiate "
                              "authentication (check winrm.transport)", details)
    found = classify_auth_text(text)
    if found:
        return TransportError(found[0], f"{where}: {found[1]}", {**details, "status": found[1]})
    if isinstance(exc, OSError) and not isinstance(exc, requests.exceptions.RequestException):
        # this machine's files (a ca_file that cannot be read), not the server's answer
        return TransportError("error", f"{where}: {library_message(exc)}", details)
    # Anything else came out of requests / pyspnego / pywinrm on an answer they did not
    # expect (an authentication token they cannot parse, a 200 to an unauthenticated
    # request, XML without the element looked for): the server said something unexpected.
    return unexpected_answer(where, exc, stage, details)
