"""WinRM through pywinrm: one shell per server, reused, with our own deadlines.

Why not ``winrm.Session.run_ps``: it opens a new shell per command, uses code page 437
(å, ä, ö arrive mangled), and its ``get_command_output`` loop swallows the WS-Management
operation-timeout fault (2150858793) forever, so a stuck remote command never returns. This
transport drives :class:`winrm.protocol.Protocol` directly:

* the shell is opened once with ``codepage=65001`` (UTF-8) and reused by every command;
* each Receive is one ``get_command_output_raw`` call inside a loop that stops at the
  caller's deadline; ``operation_timeout_sec`` (the server-side wait, ``w:OperationTimeout``)
  and ``read_timeout_sec`` (the socket timeout) are set per request from the time left —
  pywinrm insists on ``1 <= operation < read`` only in its constructor, which is built with
  valid values and then adjusted per request, so deadlines below 2 s still work;
* a command that outlives its deadline is left behind and Signal/Delete are attempted when
  the session is next used or closed, so the caller's deadline is never extended;
* after a socket-level timeout the HTTP connection (and with NTLM over HTTP the message
  encryption's RC4 state) is unusable, so the next command re-authenticates a fresh
  :class:`~winrm.protocol.Protocol` and shell.

PowerShell goes as ``powershell.exe … -EncodedCommand <UTF-16LE base64>`` with
``WINRS_SKIP_CMD_SHELL``: no cmd.exe in between (nothing in the text is interpreted by
cmd, and the 8191-character cmd.exe limit becomes CreateProcess's 32767). The script, with
its parameters as ``$name = '<quoted>'`` lines, is built by :mod:`accessready.agent.core.powershell`
(shared with the local collectors and SSH); it prints UTF-8 JSON.

Authentication failures: Windows answers HTTP 401 for a wrong password, an unknown user,
and a locked, disabled or expired account alike over NTLM and Basic, so those are one kind,
``auth_failed``. CredSSP and Kerberos carry NTSTATUS or KDC error codes, which
:func:`classify_auth_text` maps to ``account_locked``, ``password_expired`` and friends.
An authenticated user who may not use WinRM gets the ``Access is denied`` fault (code 5):
``access_denied``.
"""

from __future__ import annotations

import contextlib
import math
import re
import socket
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from accessready.agent.core import powershell
from accessready.agent.io.transports.base import (
    CommandResult,
    TransportError,
    library_message,
    unexpected_answer,
)

MAX_OUTPUT = 1024 * 1024
"""Most bytes kept of one command's stdout (and, separately, stderr)."""

MAX_BODY = 2 * 1024 * 1024
"""Most bytes of one HTTP answer, both as received and after decompression. pywinrm asks
for envelopes of at most 150 KB (MaxEnvelopeSize), so a WS-Management answer is far
smaller; a larger one (a gzip bomb, an endless chunked body) is refused as ``too_big``
before it is held in memory."""

OPERATION_TIMEOUT_MAX = 20
"""Upper bound on one Receive's server-side wait (pywinrm's default)."""

RECEIVE_MIN_S = 1.25
"""Least time left worth another Receive: 1 s server wait plus a round trip."""

CODEPAGE_UTF8 = 65001
SHELL_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd"

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


def encode_powershell(script: str, params: Mapping[str, str] | None = None) -> str:
    """The ``-EncodedCommand`` value: the prelude, parameters as quoted literals, the script.

    Built by :func:`accessready.agent.core.powershell.script` (names must be plain identifiers,
    each value one single-quoted literal; ValueError otherwise or when too long).
    """
    return powershell.encode(powershell.script(script, params))


def powershell_argv(encoded: str) -> list[str]:
    """powershell.exe's argv for an encoded script (:data:`powershell.SWITCHES`)."""
    return ["powershell.exe", *powershell.SWITCHES, "-EncodedCommand", encoded]


_CLIXML_OPEN, _CLIXML_CLOSE = '<S S="Error">', "</S>"
_CLIXML_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def clean_clixml(text: str) -> str:
    """PowerShell's ``#< CLIXML`` error stream as plain text (other text unchanged)."""
    if not text.startswith("#< CLIXML"):
        return text
    # split, not a lazy regex: the regex rescanned to the end from every unclosed opening
    # (a megabyte of them from a hostile server: half an hour)
    parts = [piece[:end] for piece in text.split(_CLIXML_OPEN)[1:]
             if (end := piece.find(_CLIXML_CLOSE)) >= 0]
    if not parts:
        return text
    joined = "".join(_CLIXML_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), p) for p in parts)
    for entity, char in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"),
                         ("&amp;", "&")):
        joined = joined.replace(entity, char)
    return joined.strip()


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


class _BodyLimit:
    """What the capped adapter enforces: the byte cap, and the command's deadline (moved
    by :meth:`WinrmTransport._set_timeouts` before every request)."""

    def __init__(self, max_bytes: int = MAX_BODY) -> None:
        self.max_bytes = max_bytes
        self.deadline = math.inf

    def check(self, received: int, decoded: int, url: str) -> None:
        """Raise TransportError once either count passes the cap or the deadline passed."""
        if max(received, decoded) > self.max_bytes:
            raise TransportError("too_big", f"{url} sent an answer larger than "
                                 f"{self.max_bytes // 1024} KiB; a WS-Management answer is "
                                 "far smaller", {"max_bytes": self.max_bytes,
                                                 "received_bytes": received,
                                                 "decompressed_bytes": decoded})
        if time.monotonic() > self.deadline:
            raise TransportError("timeout", f"{url} was still sending its answer at the "
                                 "deadline")


class _CappedBody:
    """Reads a urllib3 response's body through :meth:`_BodyLimit.check` (requests reads
    ``.content`` through ``stream``, which reads with ``read``; auth handlers call ``read``).

    :meth:`install` puts :meth:`read` and :meth:`stream` on the response object itself
    rather than wrapping it: requests_ntlm takes the server certificate for channel binding
    (Extended Protection) from a urllib3 ``HTTPResponse`` only, and a wrapper silently
    dropped the binding from every NTLM login over HTTPS.
    """

    def __init__(self, raw: Any, limit: _BodyLimit, url: str) -> None:
        self._raw, self._limit, self._url = raw, limit, url
        self._read, self._stream = raw.read, raw.stream  # the response's own, bound
        self._decoded = 0
        self._expired = False
        self._streaming = False  # stream() counts what it yields; its own reads do not

    def install(self) -> None:
        """Route the response's own ``read`` and ``stream`` through the cap."""
        self._raw.read = self.read
        self._raw.stream = self.stream

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)

    def _count(self, size: int) -> None:
        self._decoded += size
        try:
            self._limit.check(self._raw.tell(), self._decoded, self._url)
        except TransportError:
            with contextlib.suppress(Exception):
                self._raw.close()  # the rest is never read; the connection is not reused
            raise

    def stream(self, amt: int = 65536, decode_content: bool | None = None) -> Any:
        """The body in chunks, stopping at the limit and at the deadline."""
        watchdog = self._watchdog()
        try:
            self._count(0)
            # Counted here, not in read(): a chunked body streams without calling read.
            self._streaming = True
            for chunk in self._stream(amt, decode_content=decode_content):
                self._count(len(chunk))
                yield chunk
        except Exception:
            if self._expired:
                raise TransportError("timeout", f"{self._url} was still sending its answer "
                                     "at the deadline") from None
            raise
        finally:
            self._streaming = False
            if watchdog is not None:
                watchdog.cancel()

    def _watchdog(self) -> threading.Timer | None:
        """A timer that shuts the socket at the deadline: a body dripping a byte at a time
        keeps every single read within the socket timeout, and one read waits for many."""
        left = self._limit.deadline - time.monotonic()
        sock = getattr(getattr(self._raw, "connection", None), "sock", None)
        if sock is None or not math.isfinite(left):
            return None

        def expire() -> None:
            self._expired = True
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

        timer = threading.Timer(max(0.0, left), expire)
        timer.daemon = True
        timer.start()
        return timer

    def read(self, amt: int | None = None, decode_content: bool | None = None,
             **kwargs: Any) -> bytes:
        """At most the cap (plus one byte, to notice more) when ``amt`` is not given."""
        data = self._read(self._limit.max_bytes + 1 if amt is None else amt,
                          decode_content=decode_content, **kwargs)
        if not self._streaming:
            self._count(len(data))
        return bytes(data)


def _capped_adapter(limit: _BodyLimit) -> Any:
    """A requests adapter whose responses are :class:`_CappedBody` (no retries, as
    requests' default)."""
    from requests.adapters import HTTPAdapter

    class CappedAdapter(HTTPAdapter):
        def build_response(self, req: Any, resp: Any) -> Any:
            response = super().build_response(req, resp)
            announced = resp.headers.get("Content-Length", "")
            if announced.isdigit() and len(announced) < 20:
                try:
                    limit.check(int(announced), 0, str(req.url))
                except TransportError:
                    resp.close()
                    raise
            _CappedBody(resp, limit, str(req.url)).install()
            return response

    return CappedAdapter()


def _bound_bodies(protocol: Any) -> _BodyLimit:
    """Cap every HTTP answer ``protocol`` reads, including the authentication handshake's.

    pywinrm creates its requests session on the first request, and with NTLM over HTTP it
    sends that first request (the encryption set-up) inside the creation, so the adapter is
    mounted in ``setup_encryption`` as well as after ``build_session``; once per session,
    since mounting anew would drop the authenticated connection.
    """
    transport = protocol.transport
    limit = _BodyLimit()
    build_session, setup_encryption = transport.build_session, transport.setup_encryption

    def mount(session: Any) -> Any:
        if not getattr(session, "accessready_capped", False):
            adapter = _capped_adapter(limit)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            session.accessready_capped = True
        return session

    transport.setup_encryption = lambda session: setup_encryption(mount(session))
    transport.build_session = lambda: mount(build_session())
    transport.accessready_body_limit = limit
    return limit


class _Session:
    """One authenticated pywinrm Protocol and its open shell."""

    def __init__(self, protocol: Any, shell_id: str) -> None:
        self.protocol = protocol
        self.shell_id = shell_id
        self.leftover: list[str] = []  # commands abandoned at a deadline


class WinrmTransport:
    """A WinRM session on one server (see the module docstring for the why of each part)."""

    method = "winrm"

    def __init__(self, endpoint: WinrmEndpoint, password: Any = None) -> None:
        self.endpoint = endpoint
        self._password = password  # accessready.agent.io.secrets.Secret
        self._session: _Session | None = None
        self._orphans: list[_Session] = []
        self._lock = threading.Lock()

    def evidence(self) -> dict[str, Any]:
        """Where the session goes and how it authenticates (no secret)."""
        return self.endpoint.to_json()

    # -- timeouts --------------------------------------------------------------------

    @staticmethod
    def _set_timeouts(protocol: Any, deadline: float, waiting: bool = False) -> None:
        """Fit pywinrm's two timeouts into the time left (see the module docstring)."""
        left = deadline - time.monotonic()
        if left <= 0.05:
            raise TransportError("timeout", "ran out of time before the next WinRM request")
        operation = max(1, min(OPERATION_TIMEOUT_MAX, int(left * 0.6) if waiting else
                               int(left) - 1))
        protocol.operation_timeout_sec = operation
        # requests takes a float; Receive can block `operation` s on the server side.
        protocol.transport.read_timeout_sec = max(0.05, min(left, operation + 2.0))
        limit = getattr(protocol.transport, "accessready_body_limit", None)
        if limit is not None:  # a body still arriving at the deadline is cut there
            limit.deadline = deadline

    # -- session life ------------------------------------------------------------------

    def _new_protocol(self) -> Any:
        from winrm.protocol import Protocol

        from accessready.agent.core.safefile import oversized

        ep = self.endpoint
        problem = oversized(ep.ca_file) if ep.verify and ep.ca_file else ""
        if problem:
            raise TransportError("error", f"the ca_file {ep.ca_file} {problem}",
                                 {"ca_file": ep.ca_file})
        password = self._password.reveal() if self._password is not None else None
        cert = ep.auth == "certificate"
        try:
            protocol = Protocol(
                endpoint=ep.url, transport=AUTH_TRANSPORTS.get(ep.auth, ep.auth),  # type: ignore[arg-type]
                username=None if cert else ep.username, password=None if cert else password,
                server_cert_validation="validate" if ep.verify else "ignore",
                ca_trust_path=ep.ca_file if (ep.verify and ep.ca_file) else None,  # type: ignore[arg-type]
                cert_pem=ep.cert_pem, cert_key_pem=ep.cert_key_pem,
                read_timeout_sec=2, operation_timeout_sec=1,
                message_encryption="auto", proxy=None)
        except Exception as exc:
            raise classify_winrm_error(exc, ep, "setup") from None
        _bound_bodies(protocol)
        return protocol

    def _ensure(self, deadline: float) -> _Session:
        if self._session is not None:
            return self._session
        protocol = self._new_protocol()
        try:
            self._set_timeouts(protocol, deadline)
            shell_id = protocol.open_shell(codepage=CODEPAGE_UTF8, noprofile=True)
        except TransportError:
            raise
        except Exception as exc:
            raise classify_winrm_error(exc, self.endpoint, "open shell") from None
        self._session = _Session(protocol, shell_id)
        return self._session

    def connect(self, timeout: float) -> None:
        """Authenticate and open the shell now (the login test); raise TransportError."""
        deadline = time.monotonic() + timeout
        if not self._lock.acquire(timeout=max(0.0, timeout)):
            raise TransportError("timeout", "the WinRM session is busy")
        try:
            self._ensure(deadline)
        finally:
            self._lock.release()

    def _discard(self) -> None:
        """Forget the current session (its connection state is unknown after a timeout)."""
        if self._session is not None:
            self._orphans.append(self._session)
            self._session = None

    def _tidy(self, deadline: float) -> None:
        """Best effort: terminate commands abandoned earlier, if time allows."""
        session = self._session
        if session is None or not session.leftover:
            return
        for command_id in list(session.leftover):
            if deadline - time.monotonic() < 1.0:
                return
            session.leftover.remove(command_id)
            # The command may be gone already; there is nothing to report either way.
            with contextlib.suppress(Exception):
                self._set_timeouts(session.protocol, min(deadline, time.monotonic() + 1.0))
                session.protocol.cleanup_command(session.shell_id, command_id)

    # -- commands ----------------------------------------------------------------------

    def _execute(self, command: str, arguments: Sequence[str], timeout: float) -> CommandResult:
        from winrm.exceptions import WinRMOperationTimeoutError

        started = time.monotonic()
        deadline = started + timeout
        if not self._lock.acquire(timeout=max(0.0, timeout)):
            raise TransportError("timeout", "the WinRM session stayed busy with another "
                                 "command until the deadline")
        try:
            session = self._ensure(deadline)
            self._tidy(deadline - timeout / 2)
            protocol = session.protocol
            stage = "command"
            try:
                self._set_timeouts(protocol, deadline)
                command_id = protocol.run_command(session.shell_id, command, list(arguments),
                                                  skip_cmd_shell=True)
                stage = "receive"
                out, err = bytearray(), bytearray()
                while True:
                    # A Receive waits at least 1 s (the smallest OperationTimeout) on the
                    # server: without that much time left, stop here and keep the session
                    # usable rather than cut a request off mid-flight.
                    if deadline - time.monotonic() < RECEIVE_MIN_S:
                        session.leftover.append(command_id)
                        raise TransportError(
                            "timeout", f"the command did not finish on {self.endpoint.url} "
                            f"within {timeout:.1f} s", {"command": command,
                                                        "stdout": out[:500].decode(
                                                            "utf-8", "replace")})
                    self._set_timeouts(protocol, deadline, waiting=True)
                    try:
                        o, e, code, done = protocol.get_command_output_raw(session.shell_id,
                                                                           command_id)
                    except WinRMOperationTimeoutError:
                        continue  # no output yet: ask again while time remains
                    out += o[: max(0, MAX_OUTPUT - len(out))]
                    err += e[: max(0, MAX_OUTPUT - len(err))]
                    if done:
                        break
                stage = "signal"
                if deadline - time.monotonic() > 0.2:
                    self._set_timeouts(protocol, deadline)
                    protocol.cleanup_command(session.shell_id, command_id)
                else:
                    session.leftover.append(command_id)
            except TransportError as exc:
                if exc.kind == "timeout" and stage != "receive":
                    self._discard()
                raise
            except Exception as exc:
                error = classify_winrm_error(exc, self.endpoint, stage)
                if error.kind in ("timeout", "protocol", "tls", "refused", "too_big"):
                    self._discard()
                raise error from None
        finally:
            self._lock.release()
        stderr = clean_clixml(err.decode("utf-8", "replace"))
        return CommandResult(out.decode("utf-8", "replace"), stderr, code,
                             (time.monotonic() - started) * 1000)

    def run(self, argv: Sequence[str], timeout: float) -> CommandResult:
        """Run a program directly (no cmd.exe): argv[0] and Windows-quoted arguments."""
        if not argv:
            raise ValueError("empty command")
        args = subprocess.list2cmdline(list(argv[1:]))
        return self._execute(argv[0], [args] if args else [], timeout)

    def run_powershell(self, script: str, timeout: float,
                       params: Mapping[str, str] | None = None) -> CommandResult:
        """Run a fixed PowerShell script; ``params`` become ``$name`` literals before it."""
        argv = powershell_argv(encode_powershell(script, params))
        return self._execute(argv[0], [" ".join(argv[1:])], timeout)

    def close(self) -> None:
        """Delete the shell(s), a second at most each; then drop the HTTP connections."""
        # A check abandoned at its deadline may still hold the lock: then only drop the
        # connections, without another request on a Protocol that thread is using.
        polite = self._lock.acquire(timeout=2.0)
        sessions = [s for s in [self._session, *self._orphans] if s is not None]
        self._session, self._orphans = None, []
        try:
            self._close_sessions(sessions, polite)
        finally:
            if polite:
                self._lock.release()

    def _close_sessions(self, sessions: list[_Session], polite: bool) -> None:
        for session in sessions:
            if not polite:
                with contextlib.suppress(Exception):  # best effort
                    session.protocol.transport.close_session()
                continue
            try:
                self._set_timeouts(session.protocol, time.monotonic() + 1.5)
                session.protocol.close_shell(session.shell_id)
            except Exception:  # best effort: Windows expires idle shells itself
                with contextlib.suppress(Exception):
                    session.protocol.transport.close_session()


def open_winrm(endpoint: WinrmEndpoint, password: Any, timeout: float) -> WinrmTransport:
    """A connected :class:`WinrmTransport` (authenticated, shell open) or TransportError.

    An endpoint whose :attr:`~WinrmEndpoint.credential_risk` the profile did not accept
    raises ``insecure`` before anything is sent.

    The host name is looked up first with the bounded resolver: requests would otherwise
    resolve it with no timeout at all, past the check's deadline when DNS is dead.
    """
    from accessready.agent.io.dns import ResolveError, resolve_host

    risk = endpoint.credential_risk
    if risk and not endpoint.allow_insecure:
        # Fail closed: nothing is sent, not even a connection attempt.
        raise TransportError("insecure", f"the support account's credentials were not sent "
                             f"to {endpoint.url}: {INSECURE_WHY[risk]} — use HTTPS with a "
                             "verified certificate (ca_file), or accept the risk with "
                             "allow_insecure_credentials = true in this server's winrm table",
                             {**endpoint.to_json(), "stage": "policy"})
    started = time.monotonic()
    try:
        resolve_host(endpoint.host, timeout)
    except ResolveError as exc:
        kind = "dns" if exc.kind in ("nxdomain", "nodata") else "resolver"
        raise TransportError(kind, str(exc), {"host": endpoint.host}) from None
    transport = WinrmTransport(endpoint, password)
    transport.connect(max(0.05, timeout - (time.monotonic() - started)))
    return transport
