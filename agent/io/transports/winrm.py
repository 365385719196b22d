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
``access_denied``. The endpoint and that mapping live in :mod:`.winrm_endpoint`, the cap
on every HTTP answer in :mod:`.winrm_body`; their public names are importable from here.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from accessready.agent.core import powershell
from accessready.agent.core.safefile import oversized
from accessready.agent.io.dns import ResolveError, resolve_host
from accessready.agent.io.transports.base import (
    CommandResult,
    TransportError,
    open_tcp,
)
from accessready.agent.io.transports.winrm_body import bound_bodies
from accessready.agent.io.transports.winrm_endpoint import AUTH_TRANSPORTS as AUTH_TRANSPORTS
from accessready.agent.io.transports.winrm_endpoint import INSECURE_WHY as INSECURE_WHY
from accessready.agent.io.transports.winrm_endpoint import WinrmEndpoint as WinrmEndpoint
from accessready.agent.io.transports.winrm_endpoint import (
    classify_auth_text as classify_auth_text,
)
from accessready.agent.io.transports.winrm_endpoint import (
    classify_winrm_error as classify_winrm_error,
)

MAX_OUTPUT = 1024 * 1024
"""Most bytes kept of one command's stdout (and, separately, stderr)."""

OPERATION_TIMEOUT_MAX = 20
"""Upper bound on one Receive's server-side wait (pywinrm's default)."""

RECEIVE_MIN_S = 1.25
"""Least time left worth another Receive: 1 s server wait plus a round trip."""

CODEPAGE_UTF8 = 65001
SHELL_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd"


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
        bound_bodies(protocol)
        return protocol

    def _ensure(self, deadline: float) -> _Session:
        if self._session is not None:
            return self._session
        protocol = self._new_protocol()  # what is wrong here is ours: before any traffic
        ep = self.endpoint
        open_tcp(ep.host, ep.port, max(0.05, deadline - time.monotonic())).close()
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
    resolve it with no timeout at all, past the check's deadline when DNS is dead. Each
    new session (``WinrmTransport._ensure``), once its settings are known to be usable,
    makes and closes a TCP connection to the listener (:func:`open_tcp`) before pywinrm
    connects on its own: the runner may have opened it ahead for the check
    (``Contact(via="sessions")``), so a listener that never answers is waited for without
    a thread, and its failure is the same as any other connection's.
    """

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
