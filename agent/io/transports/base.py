"""The transport interface every remote check uses, and the typed failures it raises.

A transport runs one command (argv, quoted by the transport for its own shell) or one
PowerShell script (parameters passed as data, never spliced into the script text) and
returns a :class:`CommandResult`. PowerShell results come back as JSON
(``ConvertTo-Json``), never screen-scraped. One session per host and method, reused by
every check in the run (:class:`SessionPool`).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from accessready.agent.core.powershell import quote
from accessready.agent.core.textsafe import clean
from accessready.agent.io.net import ProbeFailure, connect, endpoint_text


@dataclass(frozen=True)
class CommandResult:
    """What a remote command produced."""

    stdout: str
    stderr: str
    exit_code: int
    elapsed_ms: float = 0.0

    def to_json(self, limit: int = 2000) -> dict[str, Any]:
        """Bounded evidence."""
        return {"exit_code": self.exit_code, "stdout": self.stdout[:limit],
                "stderr": self.stderr[:limit], "elapsed_ms": round(self.elapsed_ms, 1)}


class TransportError(Exception):
    """A transport could not do what was asked. ``kind`` is one of:

    ``auth_failed`` (wrong user or password), ``unknown_user``, ``account_locked``,
    ``account_disabled``, ``account_expired``, ``password_expired``, ``access_denied``
    (authenticated, but not allowed to use the service), ``host_key_unknown``,
    ``host_key_mismatch``, ``timeout`` (no answer to the connection attempt, or no time
    left), ``silent`` (connected, but the server did not answer in time), ``refused``,
    ``unreachable``, ``dns`` (the name does not exist), ``resolver`` (this machine's DNS
    resolver did not answer), ``tls``, ``protocol`` (the server spoke something else),
    ``insecure`` (the credentials would travel unprotected and the profile did not accept
    that: nothing was sent), ``missing_dependency``, ``error``.
    """

    def __init__(self, kind: str, message: str, details: Mapping[str, Any] | None = None):
        super().__init__(message)
        self.kind = kind
        self.details = dict(details or {})


def open_tcp(host: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection to ``host:port``, name resolution included, bounded by ``timeout``.

    Made by :func:`~accessready.agent.io.net.connect` (a bounded resolver, not
    ``getaddrinfo``, which has no timeout), so a connection the runner opened ahead for
    the check (``Contact(via="sessions")``) is the one used; its failure kind, one of the
    one table's, is the TransportError's.
    """
    try:
        sock, _, _ = connect(host, port, timeout)
    except ProbeFailure as failure:
        raise TransportError(failure.kind, str(failure), failure.outcome(
            endpoint_text(host, port)).to_json()) from None
    return sock


class Transport(Protocol):
    """A session on one server."""

    method: str  # "ssh" | "winrm" | "local"

    def run(self, argv: Sequence[str], timeout: float) -> CommandResult:
        """Run ``argv`` (each element one argument, quoted by the transport)."""
        ...

    def run_powershell(self, script: str, timeout: float,
                       params: Mapping[str, str] | None = None) -> CommandResult:
        """Run a fixed PowerShell ``script``; ``params`` become ``$name`` variables."""
        ...

    def close(self) -> None:
        """End the session."""
        ...


# Exceptions a library raises from its own code on an answer it did not expect (a
# missing header, a None where a session should be): their text names the library's
# internals, not the server's answer, so it goes to the evidence only.
_INTERNAL_ERRORS = (AttributeError, TypeError, KeyError, IndexError, StopIteration,
                    UnicodeError, AssertionError, NameError, LookupError)


def library_message(exc: BaseException, limit: int = 200) -> str:
    """The text of a library's exception, fit to show: terminal escapes and line breaks
    neutralised, bounded; empty for the library's internal errors (see above)."""

    if isinstance(exc, _INTERNAL_ERRORS):
        return ""
    return clean(str(exc), limit).strip()


def unexpected_answer(where: str, exc: BaseException, stage: str,
                      details: Mapping[str, Any] | None = None) -> TransportError:
    """A transport library's exception that no rule names: "the server answered something
    unexpected" (``protocol``), never a bare exception name. The class and the library's
    own (sanitised) words stay in the evidence."""

    said = library_message(exc)
    return TransportError(
        "protocol", f"{where} answered something the client library could not use "
        f"(during {stage}){': ' + said if said else ''}",
        {**(details or {}), "stage": stage, "exception": exc.__class__.__name__,
         "library_message": clean(str(exc), 300)})


def powershell_json(transport: Transport, script: str, timeout: float,
                    params: Mapping[str, str] | None = None) -> Any:
    """Run ``script`` (which must end in ``ConvertTo-Json``) and parse its stdout as JSON.

    Raises :class:`TransportError` (``protocol``) when the output is not JSON, and
    (``error``) when the script failed.
    """
    result = transport.run_powershell(script, timeout, params)
    if result.exit_code != 0:
        raise TransportError("error", f"PowerShell exited {result.exit_code}: "
                             f"{result.stderr.strip()[:300]}", {"result": result.to_json()})
    text = result.stdout.strip().lstrip("\ufeff")
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise TransportError("protocol", f"PowerShell output is not JSON ({exc.msg})",
                             {"stdout": text[:500]}) from None


def powershell_quote(value: str) -> str:
    """``value`` as a single-quoted PowerShell literal (all five quote characters doubled,
    NUL refused); kept here for callers of the transports, see
    :func:`accessready.agent.core.powershell.quote`."""

    return quote(value)


# Failures that depend on how much time the caller had, not on the server: a later check
# with a larger budget may well succeed, so they are not remembered — unless they happened
# while authenticating (details "stage": "auth"), when the credentials may have reached
# the server and a retry could count as one more failed logon.
TRANSIENT_KINDS = frozenset({"timeout", "silent", "resolver"})


def remembered(exc: TransportError) -> bool:
    """Must every later request for the same session get this failure, untried?"""
    return exc.kind not in TRANSIENT_KINDS or exc.details.get("stage") == "auth"


class SessionPool:
    """One transport per (server name, method), opened on first use and shared.

    ``opener(server, method, timeout)`` makes a new session. Failures are remembered so
    every check that needs the same session gets the same answer without a second login
    attempt (which could lock the account) — except :data:`TRANSIENT_KINDS` outside
    authentication (:func:`remembered`): a timeout caused by one check's small remaining
    budget must not fail every later check.
    """

    def __init__(self, opener: Callable[[Any, str, float], Transport]) -> None:
        self._opener = opener
        self._sessions: dict[tuple[str, str], Transport | TransportError] = {}
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, server: Any, method: str, timeout: float) -> Transport:
        """The session for ``server`` over ``method``; raises the remembered failure.

        Waits at most ``timeout`` for another check that is opening the same session,
        then raises :class:`TransportError` ``timeout``; the opener gets what is left.
        """
        key = (server.name, method)
        started = time.monotonic()
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        if not lock.acquire(timeout=max(timeout, 0.0)):
            raise TransportError("timeout", f"another check was still opening the {method} "
                                 f"session to {server.name} when this check's time ran out")
        try:
            found = self._sessions.get(key)
            if found is None:
                left = timeout - (time.monotonic() - started)
                if left <= 0:
                    raise TransportError("timeout", f"no time left to open the {method} "
                                         f"session to {server.name}")
                try:
                    found = self._opener(server, method, left)
                except TransportError as exc:
                    if not remembered(exc):
                        raise  # the next check tries again, with its own budget
                    found = exc
                except Exception as exc:  # a library's surprise: named, never raw
                    found = unexpected_answer(f"the {method} server {server.name}", exc,
                                              "login")
                self._sessions[key] = found
        finally:
            lock.release()
        if isinstance(found, TransportError):
            raise found
        return found

    def close(self) -> None:
        """Close every open session."""
        with self._guard:
            sessions = list(self._sessions.values())
            self._sessions.clear()
        for session in sessions:
            if not isinstance(session, TransportError):
                with contextlib.suppress(Exception):  # closing is best effort
                    session.close()
