"""HTTP/1.1 persistence for a check's several requests to one server
(:class:`~accessready.agent.io.http.KeptConnections`), against real sockets: a server
that keeps the connection gets one, one that closes gets one per request, and a kept
connection the server dropped meanwhile costs a second try, never a wrong answer."""

from __future__ import annotations

import os
import resource
import socket
import time
from collections.abc import Callable, Iterator

import pytest

from accessready.agent.demo.simulators.stream import StreamServer, read_http_request
from accessready.agent.io import http
from accessready.agent.io.http import KeptConnections, http_request

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def _answering(answer: Callable[[int], bytes | None],
               pause: float) -> Callable[[socket.socket], None]:
    """A connection's handler: ``answer(n)`` says what the n-th request on it gets (None:
    it is closed without an answer, after ``pause``)."""
    def handle(conn: socket.socket) -> None:
        for n in range(10):
            if read_http_request(conn) is None:
                return
            reply = answer(n)
            if reply is None:
                time.sleep(pause)
                return
            conn.sendall(reply)
            if b"Connection: close" in reply:
                return
    return handle


@pytest.fixture
def serving() -> Iterator[Callable[..., StreamServer]]:
    """Start loopback HTTP servers (:func:`_answering`); stopped at the end."""
    started: list[StreamServer] = []

    def start(answer: Callable[[int], bytes | None], pause: float = 0.0) -> StreamServer:
        started.append(StreamServer(_answering(answer, pause)).start())
        return started[-1]

    yield start
    for server in started:
        server.stop()


def _ask(port: int, kept: KeptConnections | None) -> dict:
    out = http_request("127.0.0.1", port, "GET", "/", timeout=5.0, kept=kept)
    assert out.ok and out.answer.status == 200, out.to_json()
    return out.facts


def test_a_server_that_keeps_the_connection_gets_one_for_every_request(serving) -> None:
    server = serving(lambda n: ANSWER)
    with KeptConnections() as kept:
        facts = [_ask(server.port, kept) for _ in range(3)]
    assert server.connections == 1
    assert [f.get("reused", False) for f in facts] == [False, True, True]
    assert "Connection: close" not in facts[0]["request"]


def test_a_server_that_closes_gets_a_connection_per_request(serving) -> None:
    server = serving(lambda n: ANSWER.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
    with KeptConnections() as kept:
        facts = [_ask(server.port, kept) for _ in range(3)]
    assert server.connections == 3
    assert not any(f.get("reused") for f in facts)


def test_a_kept_connection_the_server_dropped_is_asked_again_on_a_new_one(serving) -> None:
    """The server kept it, then closed it as the next request came (an idle timeout
    racing it): no answer on it at all, so the request goes again, once, and is answered."""
    server = serving(lambda n: ANSWER if n == 0 else None)
    with KeptConnections() as kept:
        first, second = _ask(server.port, kept), _ask(server.port, kept)
    assert server.connections == 2
    assert "reused" not in second and "reused" not in first


def test_without_kept_connections_the_request_asks_to_close(serving) -> None:
    server = serving(lambda n: ANSWER)
    facts = [_ask(server.port, None) for _ in range(2)]
    assert server.connections == 2
    assert "Connection: close" in facts[0]["request"]


def test_the_second_try_has_only_what_is_left_of_the_time(serving, monkeypatch) -> None:
    """The server held the kept connection 0.5 s before closing it unanswered: the new
    connection gets the rest of the request's 2 s, not 2 s more (a check's deadline)."""
    server = serving(lambda n: ANSWER if n == 0 else None, pause=0.5)
    given: list[float] = []
    real = http._open

    def spy(host, port, tls, name, timeout, sessions):  # type: ignore[no-untyped-def]
        given.append(timeout)
        return real(host, port, tls, name, timeout, sessions)

    monkeypatch.setattr(http, "_open", spy)
    with KeptConnections() as kept:
        _ask(server.port, kept)
        out = http_request("127.0.0.1", server.port, "GET", "/", timeout=2.0, kept=kept)
    assert out.ok and server.connections == 2
    assert 4.0 < given[0] <= 5.0  # the first request's own 5 s
    assert given[1] < 1.6  # 2 s less the 0.5 s the dropped connection took


def test_reuse_works_for_descriptors_past_1024(serving) -> None:
    """An audit's process holds thousands of descriptors; select() refuses those past
    FD_SETSIZE, and a connection must not be given up for that."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert hard >= 1200, f"this test needs RLIMIT_NOFILE >= 1200 (hard limit {hard})"
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    filler: list[int] = []
    try:
        while len(filler) < 1100 and (not filler or filler[-1] < 1030):
            filler.append(os.open(os.devnull, os.O_RDONLY))
        server = serving(lambda n: ANSWER)
        with KeptConnections() as kept:
            facts = [_ask(server.port, kept) for _ in range(3)]
        assert server.connections == 1
        assert [f.get("reused", False) for f in facts] == [False, True, True]
    finally:
        for fd in filler:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
