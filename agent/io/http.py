"""HTTP/1.1 for probes, over TCP or TLS: one request, its parsed answer, one
:class:`~accessready.agent.core.outcome.ProbeOutcome`. The bytes are the pure codec's
(:mod:`accessready.checks.protocols.httpmsg`)."""

from __future__ import annotations

import time
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


def http_request(host: str, port: int, method: str, target: str, *,
                 headers: list[tuple[str, str]] | None = None, body: bytes = b"",
                 tls: TlsOptions | None = None, server_name: str | None = None,
                 host_header: str | None = None, timeout: float,
                 max_body: int = MAX_REPLY, body_excerpt: int = 512,
                 sessions: TlsSessions | None = None) -> ProbeOutcome:
    """One HTTP/1.1 request (``Connection: close``) over TCP, or TLS when ``tls`` is given.

    ``answer`` is the parsed response (:class:`~accessready.checks.protocols.httpmsg.
    HttpResponse`); ``facts`` hold its evidence (request head, status, headers, a
    ``body_excerpt``-byte body excerpt) and ``tls`` (:class:`TlsInfo`) over TLS. An answer
    that is not HTTP is ``protocol``. Over TLS, ``sessions`` (when given) resumes the
    endpoint's session it kept and keeps this one's.
    """

    started = time.monotonic()
    deadline = started + timeout
    where = endpoint_text(host, port)
    name = server_name or host
    default_port = 443 if tls is not None else 80
    host_value = host_header or (name if port == default_port else f"{name}:{port}")
    all_headers = [*(headers or []), ("Connection", "close")]
    request = build_request(method, target, host_value, all_headers, body)
    facts: dict[str, Any] = {"request": request.split(b"\r\n\r\n", 1)[0].decode("latin-1")}
    try:
        if tls is not None:
            sock, info = tls_connect(host, port, tls=tls, server_name=name, timeout=timeout,
                                     sessions=sessions)
            resolution = info.resolution
            facts["tls"] = info
        else:
            sock, _, resolution = connect(host, port, timeout)
    except ProbeFailure as failure:
        return failure.outcome(where, sent=request, facts=facts)
    facts.update(resolved_facts(resolution))
    parser = ResponseParser(max_body=max_body, request_method=method)
    with sock:
        try:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            sock.sendall(request)
            clock = IoClock(deadline)
            while not parser.done:
                sock.settimeout(clock.timeout())
                chunk = sock.recv(65536)
                if not chunk:
                    parser.feed_eof()
                    break
                parser.feed(chunk)
            if sessions is not None and tls is not None:
                sessions.keep(sock, host, port, name)
        except HttpParseError as exc:
            return ProbeOutcome(where, request, total_ms=ms_since(started), kind="protocol",
                                message=f"{where} answered something that is not HTTP: {exc}",
                                facts=facts)
        except Exception as exc:
            return as_failure(exc, started, host, port, connected=True).outcome(
                where, sent=request, facts=facts)
    response = parser.response
    body_bytes = response.body
    facts.update({
        "status": response.status, "reason": response.reason,
        "headers": [f"{k}: {v}" for k, v in response.headers][:40],
        "body_bytes": len(body_bytes),
        "body_excerpt": body_bytes[:body_excerpt].decode("utf-8", "replace")})
    return ProbeOutcome(where, request, total_ms=ms_since(started), facts=facts, answer=response)
