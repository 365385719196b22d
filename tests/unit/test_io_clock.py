"""A deadline that passed while our own process was busy: what had arrived is still read.

The check's thread may wait long for the interpreter on a busy machine (hundreds of checks
at once, another process on the core). A server that answered in time must not become
"silent" because we looked late; a server that keeps trickling bytes past the deadline
must not keep us reading. Real sockets (a socketpair), no clocks patched.
"""

from __future__ import annotations

import socket
import time

import pytest

from accessready.agent.io.net import LAST_LOOKS, IoClock, recv_until
from accessready.agent.io.transports import ssh_native


@pytest.fixture
def pair():
    ours, theirs = socket.socketpair()
    yield ours, theirs
    ours.close()
    theirs.close()


def test_an_answer_that_arrived_in_time_is_read_however_late_we_look(pair) -> None:
    ours, theirs = pair
    theirs.sendall(b"HELLO\r\n")
    passed = time.monotonic() - 2.0  # our thread got the CPU two seconds too late
    assert recv_until(ours, lambda d: d.endswith(b"\r\n"), passed) == b"HELLO\r\n"


def test_nothing_arrived_is_still_a_timeout(pair) -> None:
    ours, _ = pair
    with pytest.raises(TimeoutError):
        recv_until(ours, lambda d: d.endswith(b"\r\n"), time.monotonic() - 0.5)


def test_a_trickle_past_the_deadline_ends_after_the_last_looks(pair) -> None:
    ours, theirs = pair
    theirs.sendall(b"x" * 100)
    reads = []

    class Counting:
        def settimeout(self, value: float) -> None:
            ours.settimeout(value)

        def recv(self, size: int) -> bytes:
            chunk = ours.recv(1)  # one byte at a time, as a trickling peer gives them
            reads.append(chunk)
            return chunk

    with pytest.raises(TimeoutError):
        recv_until(Counting(), lambda d: False, time.monotonic() - 0.1)  # type: ignore[arg-type]
    assert len(reads) == LAST_LOOKS


def test_the_clock_gives_the_time_left_then_a_few_short_looks() -> None:
    clock = IoClock(time.monotonic() + 60)
    assert 59 < clock.timeout() <= 60
    late = IoClock(time.monotonic() - 1)
    assert [late.timeout() for _ in range(LAST_LOOKS)] == [0.001] * LAST_LOOKS
    with pytest.raises(TimeoutError):
        late.timeout()


def test_the_ssh_exchange_reads_a_banner_that_came_in_time(pair) -> None:
    ours, theirs = pair
    theirs.sendall(b"SSH-2.0-OpenSSH_9.2p1\r\n")
    link = ssh_native._Link(ours, time.monotonic() - 1.0)
    link.fill()
    assert bytes(link.buffer).startswith(b"SSH-2.0-")


def test_http_reads_an_answer_that_came_in_time(monkeypatch: pytest.MonkeyPatch) -> None:
    # A server that answers at once; our reading starts after the deadline (the clock
    # each read consults says it passed), as when the thread waited for the CPU.
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"

    import threading

    sent = threading.Event()

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(answer)
            _wait_until_acknowledged(conn)
            sent.set()

    worker = threading.Thread(target=serve, daemon=True)
    worker.start()
    from accessready.agent.io import http

    real = http.IoClock

    class Late(real):  # type: ignore[misc, valid-type]
        def __init__(self, deadline: float) -> None:
            sent.wait(10)  # the answer is in our buffer by now
            super().__init__(time.monotonic() - 1.0)

    monkeypatch.setattr(http, "IoClock", Late)
    try:
        outcome = http.http_request("127.0.0.1", port, "GET", "/", timeout=5.0)
    finally:
        worker.join(5)
        server.close()
    assert outcome.ok, outcome.message
    assert outcome.answer.status == 200


def _wait_until_acknowledged(conn: socket.socket) -> None:
    """Until the client's kernel acknowledged all that ``conn`` sent, so it is in the
    client's buffer (Linux's TIOCOUTQ: bytes not yet acknowledged); elsewhere at once."""
    until = time.monotonic() + 10
    try:
        import fcntl
        import struct
        import termios

        while time.monotonic() < until and struct.unpack(
                "i", fcntl.ioctl(conn.fileno(), termios.TIOCOUTQ, b"\0" * 4))[0]:
            time.sleep(0.001)
    except (ImportError, AttributeError, OSError):
        pass
