"""agent/io/connector.py: checks' first connections opened ahead, on one selector thread.

Real sockets on loopback only. A "silent" peer is a listener whose accept queue is full
(``listen(0)`` and one connection nobody accepts): Linux then drops further SYNs, so a
connection attempt hears nothing, as with a firewall that drops packets. The fixture
checks that precondition itself and fails loudly if the kernel behaves otherwise.
"""

from __future__ import annotations

import errno
import selectors
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from accessready.agent.io import connector as connector_module
from accessready.agent.io import net
from accessready.agent.io.connector import Connector, _os_error
from accessready.agent.io.net import Opened, opened_ahead


class Heard:
    """What one attempt delivered, and on which thread."""

    def __init__(self) -> None:
        self.opened: Opened | None = None
        self.thread = ""
        self.done = threading.Event()

    def __call__(self, opened: Opened) -> None:
        self.opened = opened
        self.thread = threading.current_thread().name
        self.done.set()

    def wait(self, seconds: float = 5.0) -> Opened:
        assert self.done.wait(seconds), "the connector never delivered"
        assert self.opened is not None
        return self.opened


@pytest.fixture
def connector() -> Iterator[Connector]:
    made = Connector(limit=8)
    yield made
    made.close()


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    server = socket.create_server(("127.0.0.1", 0))
    yield server
    server.close()


@pytest.fixture
def silent_port() -> Iterator[int]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port), timeout=2)
    probe = socket.socket()
    probe.settimeout(0.3)
    try:  # the precondition: a further attempt hears nothing
        with pytest.raises(TimeoutError):
            probe.connect(("127.0.0.1", port))
    finally:
        probe.close()
    yield port
    filler.close()
    server.close()


def closed_port() -> int:
    spare = socket.socket()
    spare.bind(("127.0.0.1", 0))
    port = spare.getsockname()[1]
    spare.close()  # nothing listens there now: a connection is refused
    return port


def readable(sock: socket.socket, seconds: float = 5.0) -> bool:
    """Whether ``sock`` has something to read (data, or the peer's close) within
    ``seconds``: a close on loopback need not have arrived when the peer's close returns."""
    with selectors.DefaultSelector() as selector:
        selector.register(sock, selectors.EVENT_READ)
        return bool(selector.select(seconds))


def test_a_listening_port_is_connected_on_the_connectors_thread(
        connector: Connector, listener: socket.socket) -> None:
    heard = Heard()
    port = listener.getsockname()[1]
    assert connector.open("127.0.0.1", port, 2.0, heard)
    opened = heard.wait()
    assert opened.failure is None and opened.sock is not None
    assert opened.sock.getpeername() == ("127.0.0.1", port)
    assert opened.resolution is not None and opened.resolution.resolver == "IP literal"
    assert heard.thread == "accessready-connect"
    assert connector.in_flight == 1  # its descriptor is ours until taken
    opened.discard()
    assert connector.in_flight == 0


def test_a_closed_port_is_refused(connector: Connector) -> None:
    heard = Heard()
    assert connector.open("127.0.0.1", closed_port(), 2.0, heard)
    opened = heard.wait()
    assert opened.sock is None and opened.failure is not None
    assert opened.failure.kind == "refused"
    assert connector.in_flight == 0


def test_silence_is_a_timeout_at_the_end_of_the_window(
        connector: Connector, silent_port: int) -> None:
    heard = Heard()
    started = time.monotonic()
    assert connector.open("127.0.0.1", silent_port, 0.6, heard)
    opened = heard.wait()
    assert time.monotonic() - started >= 0.6
    assert opened.failure is not None and opened.failure.kind == "timeout"
    assert "no answer from 127.0.0.1" in str(opened.failure)
    assert connector.in_flight == 0


def test_a_name_from_the_hosts_sources_needs_no_resolver(
        connector: Connector, listener: socket.socket) -> None:
    heard = Heard()
    assert connector.open("localhost", listener.getsockname()[1], 2.0, heard)
    opened = heard.wait()
    assert opened.sock is not None and opened.resolution is not None
    assert opened.resolution.resolver in ("localhost", "hosts file")
    opened.discard()


def test_a_name_goes_to_the_bounded_system_resolver(
        connector: Connector, listener: socket.socket,
        monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo
    asked: list[str] = []

    def fake(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host == "srv01.kund.test":
            asked.append(host)
            return real("127.0.0.1", port, *args, **kwargs)
        if host == "nowhere.kund.test":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    heard, missing = Heard(), Heard()
    assert connector.open("srv01.kund.test", listener.getsockname()[1], 2.0, heard)
    assert connector.open("nowhere.kund.test", 443, 2.0, missing)
    opened = heard.wait()
    assert asked == ["srv01.kund.test"]
    assert opened.sock is not None and opened.resolution is not None
    assert opened.resolution.addresses == ("127.0.0.1",)
    opened.discard()
    failed = missing.wait()
    assert failed.failure is not None and failed.failure.kind == "dns"


def test_the_limit_counts_sockets_until_they_are_taken(listener: socket.socket) -> None:
    small = Connector(limit=1)
    try:
        first = Heard()
        port = listener.getsockname()[1]
        assert small.open("127.0.0.1", port, 2.0, first)
        opened = first.wait()
        assert not small.open("127.0.0.1", port, 2.0, Heard())  # full: connect yourself
        sock = opened.take()
        assert sock is not None
        sock.close()
        assert small.open("127.0.0.1", port, 2.0, Heard())
    finally:
        small.close()


def test_one_destination_gets_only_its_share(listener: socket.socket) -> None:
    shy = Connector(limit=10, per_destination=1)
    try:
        port = listener.getsockname()[1]
        first = Heard()
        assert shy.open("127.0.0.1", port, 2.0, first)
        assert not shy.open("127.0.0.1", port, 2.0, Heard())
        other = Heard()
        assert shy.open("127.0.0.1", closed_port(), 2.0, other)  # another destination
        assert other.wait().failure is not None
        first.wait().discard()
        assert shy.open("127.0.0.1", port, 2.0, Heard())
    finally:
        shy.close()


def test_a_receiver_that_raises_loses_the_socket_not_the_connector(
        connector: Connector, listener: socket.socket) -> None:
    def boom(opened: Opened) -> None:
        raise RuntimeError("a bug in the receiver")

    port = listener.getsockname()[1]
    assert connector.open("127.0.0.1", port, 2.0, boom)
    heard = Heard()
    assert connector.open("127.0.0.1", port, 2.0, heard)
    heard.wait().discard()
    deadline = time.monotonic() + 5
    while connector.in_flight and time.monotonic() < deadline:
        time.sleep(0.01)
    assert connector.in_flight == 0


def test_close_ends_the_thread_and_tells_what_was_in_flight(silent_port: int) -> None:
    made = Connector(limit=4)
    heard = Heard()
    assert made.open("127.0.0.1", silent_port, 30.0, heard)
    thread = made._thread
    assert thread is not None
    made.close()
    thread.join(5)
    assert not thread.is_alive()
    ended = heard.wait()  # never left waiting: its check would wait with it
    assert ended.sock is None and ended.failure is not None and ended.failure.kind == "error"
    assert not made.open("127.0.0.1", silent_port, 1.0, Heard())


def test_no_descriptor_for_the_wake_up_means_no_and_no_hang(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def exhausted():  # type: ignore[no-untyped-def]
        raise OSError(errno.EMFILE, "Too many open files")

    monkeypatch.setattr(socket, "socketpair", exhausted)
    made = Connector(limit=4)
    outcome: list[bool] = []
    asker = threading.Thread(target=lambda: outcome.append(
        made.open("127.0.0.1", 9, 1.0, Heard())), daemon=True)
    asker.start()
    asker.join(5)
    assert outcome == [False]  # the caller connects itself
    assert not made.open("127.0.0.1", 9, 1.0, Heard())  # and the next one is not stuck


def test_a_window_starts_when_the_attempt_does_not_when_it_was_asked(
        connector: Connector, silent_port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # The caller was slow between asking and the first try (a busy process): the target
    # still gets its whole window, so a timeout is the target's, never "deadline".
    real = connector_module.resolve_locally

    def slow(host: str):  # type: ignore[no-untyped-def]
        time.sleep(0.3)
        return real(host)

    monkeypatch.setattr(connector_module, "resolve_locally", slow)
    heard = Heard()
    assert connector.open("127.0.0.1", silent_port, 0.5, heard)
    opened = heard.wait()
    assert opened.failure is not None and opened.failure.kind == "timeout"


def test_connect_takes_the_socket_opened_ahead_once(
        connector: Connector, listener: socket.socket) -> None:
    heard = Heard()
    port = listener.getsockname()[1]
    assert connector.open("127.0.0.1", port, 2.0, heard)
    opened = heard.wait()
    ahead = opened.sock
    with opened_ahead([opened]):
        sock, connect_ms, _ = net.connect("127.0.0.1", port, 2.0)
        assert sock is ahead and connect_ms == opened.connect_ms
        again, _, _ = net.connect("127.0.0.1", port, 2.0)  # a second connection is new
        assert again is not ahead
        again.close()
    sock.close()
    assert connector.in_flight == 0


def test_a_failure_opened_ahead_is_raised_by_connect(connector: Connector) -> None:
    heard = Heard()
    port = closed_port()
    assert connector.open("127.0.0.1", port, 2.0, heard)
    opened = heard.wait()
    with opened_ahead([opened]), pytest.raises(net.ProbeFailure) as caught:
        net.connect("127.0.0.1", port, 2.0)
    assert caught.value.kind == "refused"


def test_a_socket_nobody_took_is_closed(connector: Connector, listener: socket.socket) -> None:
    heard = Heard()
    assert connector.open("127.0.0.1", listener.getsockname()[1], 2.0, heard)
    opened = heard.wait()
    ahead = opened.sock
    assert ahead is not None
    with opened_ahead([opened]):
        pass  # the check connected elsewhere
    assert ahead.fileno() == -1
    assert connector.in_flight == 0


def test_socket_errors_become_the_exceptions_a_blocking_connect_raises() -> None:
    assert isinstance(_os_error(errno.ECONNREFUSED), ConnectionRefusedError)
    assert isinstance(_os_error(errno.ETIMEDOUT), TimeoutError)
    assert net.as_failure(_os_error(errno.EHOSTUNREACH), 0.0, "h", 1).kind == "unreachable"


def test_a_socket_the_peer_closed_meanwhile_is_not_still_open(
        connector: Connector, listener: socket.socket) -> None:
    heard = Heard()
    assert connector.open("127.0.0.1", listener.getsockname()[1], 2.0, heard)
    opened = heard.wait()
    peer, _ = listener.accept()
    assert opened.still_open()
    peer.sendall(b"SSH-2.0-x\r\n")
    assert opened.still_open()  # something to read is still open
    peer.close()
    assert opened.sock is not None
    opened.sock.recv(64)  # what was sent is read; now only the close is left
    # readable again once the FIN is in (it need not be the moment close() returns)
    assert readable(opened.sock)
    assert not opened.still_open()
    opened.discard()
