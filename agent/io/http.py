"""HTTP/1.1 for probes, over TCP or TLS: one request, its parsed answer, one
:class:`~accessready.agent.core.outcome.ProbeOutcome`. The bytes are the pure codec's
(:mod:`accessready.checks.protocols.httpmsg`).

A check that asks one server several things passes a :class:`KeptConnections`: each
request then goes over the connection the server kept open after the one before (HTTP/1.1
persistence, as WinRM's http.sys does), so the server is not made to accept, and complete
a TLS handshake, once per question.
"""

from __future__ import annotations

import select
import socket
import ssl
import time
from types import TracebackType
from typing import Any

from accessready.agent.core.outcome import ProbeOutcome
from accessready.agent.core.profile_types import TlsOptions
from accessready.agent.io.net import (
    MAX_REPLY,
    IoClock,
    ProbeFailure,
    as_failure,
    connect,
    endpoint_text,
    ms_since,
    resolved_facts,
)
from accessready.agent.io.tls import TlsSessions, tls_connect
from accessready.checks.protocols.httpmsg import HttpParseError, ResponseParser, build_request


class KeptConnections:
    """Connections a server kept open after an answer, for the next request to the same
    endpoint (one per endpoint; a check's few requests). Use as a context manager: what is
    still kept is closed at the end. Only for requests that change nothing on the server:
    one that the server closes a kept connection on, without an answer, is sent again on a
    new connection."""

    def __init__(self) -> None:
        self._kept: dict[tuple[Any, ...], tuple[socket.socket, dict[str, Any]]] = {}

    def take(self, key: tuple[Any, ...]) -> tuple[socket.socket, dict[str, Any]] | None:
        """The connection kept for ``key`` and the facts of its opening, if it looks
        open: a connection the server has closed (or sent anything on) is dropped."""
        kept = self._kept.pop(key, None)
        if kept is None:
            return None
        sock = kept[0]
        try:
            # bytes TLS already decrypted are in the SSL object, not the socket
            buffered = isinstance(sock, ssl.SSLSocket) and sock.pending() > 0
            readable = buffered or _readable(sock)
        except (OSError, ValueError):
            readable = True
        if readable:  # a close, or bytes nobody asked for: not a connection to reuse
            sock.close()
            return None
        return kept

    def keep(self, key: tuple[Any, ...], sock: socket.socket, opened: dict[str, Any]) -> None:
        """Keep ``sock`` for the next request to ``key`` (closing one kept before)."""
        old = self._kept.pop(key, None)
        if old is not None:
            old[0].close()
        self._kept[key] = (sock, opened)

    def close(self) -> None:
        """Close every kept connection."""
        for sock, _ in self._kept.values():
            sock.close()
        self._kept.clear()

    def __enter__(self) -> KeptConnections:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _readable(sock: socket.socket) -> bool:
    """Whether ``sock`` has something to read now (a close counts). poll where there is
    one: select() refuses descriptors past FD_SETSIZE (1024), which an audit's process
    has; Windows has no poll, and its select() limits the number of sockets, not their
    values."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    return bool(select.select([sock], [], [], 0)[0])


class _NoAnswer(Exception):
    """A reused connection ended before any byte of the answer: the server had closed it
    (an idle timeout racing our request), so the request goes again on a new one."""


def http_request(host: str, port: int, method: str, target: str, *,
                 headers: list[tuple[str, str]] | None = None, body: bytes = b"",
                 tls: TlsOptions | None = None, server_name: str | None = None,
                 host_header: str | None = None, timeout: float,
                 max_body: int = MAX_REPLY, body_excerpt: int = 512,
                 sessions: TlsSessions | None = None,
                 kept: KeptConnections | None = None) -> ProbeOutcome:
    """One HTTP/1.1 request over TCP, or TLS when ``tls`` is given.

    ``answer`` is the parsed response (:class:`~accessready.checks.protocols.httpmsg.
    HttpResponse`); ``facts`` hold its evidence (request head, status, headers, a
    ``body_excerpt``-byte body excerpt) and ``tls`` (:class:`TlsInfo`) over TLS. An answer
    that is not HTTP is ``protocol``. Over TLS, ``sessions`` (when given) resumes the
    endpoint's session it kept and keeps this one's.

    Without ``kept`` the request says ``Connection: close``. With it, the request goes
    over the connection ``kept`` holds for the endpoint when there is one (fact
    ``reused``: true; sent again on a new connection if that one turns out closed before
    any answer), and the connection is kept there afterwards when the answer allows it.
    """

    started = time.monotonic()
    deadline = started + timeout
    where = endpoint_text(host, port)
    name = server_name or host
    default_port = 443 if tls is not None else 80
    host_value = host_header or (name if port == default_port else f"{name}:{port}")
    all_headers = [*(headers or []), *([] if kept is not None else [("Connection", "close")])]
    request = build_request(method, target, host_value, all_headers, body)
    facts: dict[str, Any] = {"request": request.split(b"\r\n\r\n", 1)[0].decode("latin-1")}
    key = (host, port, tls, name)
    reuse = kept.take(key) if kept is not None else None
    while True:
        if reuse is not None:
            sock, opened = reuse
            facts.update(opened, reused=True)
        else:
            try:  # a second try has what is left of the time (too little is "deadline")
                sock, opened = _open(host, port, tls, name,
                                     max(0.0, deadline - time.monotonic()), sessions)
            except ProbeFailure as failure:
                return failure.outcome(where, sent=request, facts=facts)
            facts.update(opened)
        parser = ResponseParser(max_body=max_body, request_method=method)
        try:
            _exchange(sock, request, parser, deadline, reused=reuse is not None)
            if sessions is not None and reuse is None and isinstance(sock, ssl.SSLSocket):
                sessions.keep(sock, host, port, name)
        except _NoAnswer:
            sock.close()
            for fact in (*opened, "reused"):  # that connection's evidence goes with it
                facts.pop(fact, None)
            reuse = None
            continue
        except HttpParseError as exc:
            sock.close()
            return ProbeOutcome(where, request, total_ms=ms_since(started), kind="protocol",
                                message=f"{where} answered something that is not HTTP: {exc}",
                                facts=facts)
        except Exception as exc:
            sock.close()
            return as_failure(exc, started, host, port, connected=True).outcome(
                where, sent=request, facts=facts)
        break
    if kept is not None and parser.persistent:
        kept.keep(key, sock, opened)
    else:
        sock.close()
    response = parser.response
    body_bytes = response.body
    facts.update({
        "status": response.status, "reason": response.reason,
        "headers": [f"{k}: {v}" for k, v in response.headers][:40],
        "body_bytes": len(body_bytes),
        "body_excerpt": body_bytes[:body_excerpt].decode("utf-8", "replace")})
    return ProbeOutcome(where, request, total_ms=ms_since(started), facts=facts, answer=response)


def _open(host: str, port: int, tls: TlsOptions | None, name: str, timeout: float,
          sessions: TlsSessions | None) -> tuple[socket.socket, dict[str, Any]]:
    """A new connection, and the facts of its opening (raises ProbeFailure)."""
    if tls is not None:
        sock, info = tls_connect(host, port, tls=tls, server_name=name, timeout=timeout,
                                 sessions=sessions)
        return sock, {"tls": info, **resolved_facts(info.resolution)}
    sock, _, resolution = connect(host, port, timeout)
    return sock, resolved_facts(resolution)


def _exchange(sock: socket.socket, request: bytes, parser: ResponseParser, deadline: float,
              reused: bool) -> None:
    """Send ``request``, feed ``parser`` until the answer is complete. On a ``reused``
    connection, a close or reset before any answer byte raises :class:`_NoAnswer`."""
    answered = False
    try:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        sock.sendall(request)
        clock = IoClock(deadline)
        while not parser.done:
            sock.settimeout(clock.timeout())
            chunk = sock.recv(65536)
            if not chunk:
                if reused and not answered:
                    raise _NoAnswer
                parser.feed_eof()
                break
            answered = True
            parser.feed(chunk)
    except (ConnectionResetError, BrokenPipeError, ConnectionAbortedError, ssl.SSLEOFError,
            ssl.SSLZeroReturnError):
        if reused and not answered:
            raise _NoAnswer from None
        raise
