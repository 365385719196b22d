"""The SSH handshake without a thread per connection (issue 13), on real loopback peers.

``remote.ssh``'s probe runs its own key exchange (:mod:`~accessready.agent.io.transports.
ssh_native`): no paramiko Transport, no thread. A login still runs paramiko's, whose
Packetizer starts a ``threading.Timer`` per handshake; that job goes to the shared watchdog
instead. Pins: the probe starts no thread; the login path starts no timer thread; the timer
still expires (and is cancelled) as paramiko's would; the evidence and the errors of the
probe are the same as paramiko's (with the shared timer and with its own), against a real
SSH server and a banner server that hangs up at the key exchange; a server silent during
the key exchange is always ``silent`` on both paths (paramiko's timer, racing the probe's
own timeout, made it ``protocol`` about half the time).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Iterator
from typing import Any

import paramiko
import paramiko.packet
import pytest

from accessready.agent.demo.simulators.ssh import SshSimulator, SshUser
from accessready.agent.demo.simulators.stream import StreamServer
from accessready.agent.io.transports import ssh as sshmod
from accessready.agent.io.transports.base import TransportError
from accessready.agent.io.transports.ssh import KnownHosts, handshake, probe

from .hostile import HostileServer
from .simhelpers import PASSWORD

BANNER = b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"
TIMINGS = ("connect_ms", "banner_ms", "kex_ms")


@contextlib.contextmanager
def banner_then_close(how: str = "close") -> Iterator[tuple[str, int]]:
    """A peer like bench_scale's: the banner, then it hangs up at the key exchange.

    ``close`` reads all the client sends until it is told nothing more comes, so its close
    is always a FIN; ``reset`` aborts (RST) once the client's banner is in. bench_scale's
    peer does either, by timing (a close with unread data is a reset)."""
    def hang_up(conn: socket.socket) -> None:
        conn.sendall(BANNER)
        if how == "reset":
            _read_line(conn)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return  # closed by the server: a reset
        conn.shutdown(socket.SHUT_WR)
        for _ in range(64):  # bounded: the client hangs up after our FIN
            if not conn.recv(4096):
                return

    with StreamServer(hang_up, conn_timeout=2) as server:
        yield server.host, server.port


def _read_line(conn: socket.socket) -> bytes:
    """The peer's identification line (bounded)."""
    line = b""
    while not line.endswith(b"\n") and len(line) < 256:
        chunk = conn.recv(1)
        if not chunk:
            break
        line += chunk
    return line


@pytest.fixture(scope="module")
def sim() -> Iterator[SshSimulator]:
    server = SshSimulator({"support": SshUser(PASSWORD)}).start()
    yield server
    server.stop()


@pytest.fixture
def timers(monkeypatch) -> list[Any]:
    """Every threading.Timer a client-side paramiko Packetizer starts (the simulator's
    server transports, in this process too, start their own)."""
    started: list[Any] = []
    real = paramiko.packet.threading.Timer

    def counting(*args: Any, **kwargs: Any) -> Any:
        timer = real(*args, **kwargs)
        if not getattr(threading.current_thread(), "server_mode", False):
            started.append(timer)
        return timer

    monkeypatch.setattr(paramiko.packet.threading, "Timer", counting)
    return started


def _without_timings(evidence: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in evidence.items() if k not in TIMINGS}


def _paramiko_timer(monkeypatch) -> None:
    """As before the change: paramiko starts its own timer thread."""
    monkeypatch.setattr(sshmod, "_share_handshake_timer", lambda transport: None)


def _paramiko_probe(host: str, port: int, known: KnownHosts, timeout: float) -> Any:
    """What :func:`probe` did before its own key exchange: paramiko's, on a login's path."""
    transport, info = handshake(host, port, known, timeout, key_check=False)
    transport.close()
    return info


def test_a_probe_starts_no_thread_and_shows_what_paramiko_shows(
        sim, tmp_path, timers, monkeypatch) -> None:
    path = tmp_path / "known_hosts"
    path.write_text(sim.known_hosts_line())
    known = KnownHosts(path, system_path=None)
    started: list[threading.Thread] = []  # threads this (the probing) thread starts
    real_start, me = threading.Thread.start, threading.current_thread()

    def start(thread: threading.Thread) -> None:
        if threading.current_thread() is me:
            started.append(thread)
        real_start(thread)

    monkeypatch.setattr(threading.Thread, "start", start)
    native = probe(sim.host, sim.port, known, 5.0)  # no Transport: no reader, no timer
    assert started == []
    shared = _paramiko_probe(sim.host, sim.port, known, 5.0)
    assert len(started) == 1  # the comparison: paramiko's reader thread
    monkeypatch.setattr(threading.Thread, "start", real_start)
    assert timers == []  # the login path's handshake: the shared watchdog, no timer thread
    _paramiko_timer(monkeypatch)
    own = _paramiko_probe(sim.host, sim.port, known, 5.0)
    assert len(timers) == 1  # the comparison really ran paramiko's own timer
    assert native.host_key.status == "known" and native.banner.startswith("SSH-2.0-")
    assert _without_timings(native.to_json()) == _without_timings(shared.to_json()) \
        == _without_timings(own.to_json())
    assert native.first_bytes == shared.first_bytes == own.first_bytes


def _failure(host: str, port: int, known: KnownHosts, timeout: float,
             how: Any = probe) -> TransportError:
    with pytest.raises(TransportError) as info:
        how(host, port, known, timeout)
    return info.value


@pytest.mark.parametrize("hangup", ["close", "reset"])
def test_a_failed_key_exchange_fails_as_with_paramiko(tmp_path, timers, monkeypatch,
                                                      hangup) -> None:
    # a FIN or a RST alike: both paths say the server closed the connection (EOFError);
    # which one a real peer sends can be a matter of timing (see banner_then_close)
    known = KnownHosts(tmp_path / "known_hosts", system_path=None)
    with banner_then_close(hangup) as (host, port):
        native = _failure(host, port, known, 1.0)
        shared = _failure(host, port, known, 1.0, _paramiko_probe)
        assert timers == []
        _paramiko_timer(monkeypatch)
        own = _failure(host, port, known, 1.0, _paramiko_probe)
        assert len(timers) == 1
    assert native.kind == shared.kind == own.kind == "protocol"
    assert str(native) == str(shared) == str(own)
    assert _without_timings(native.details) == _without_timings(shared.details) \
        == _without_timings(own.details)
    assert native.details["exception"] == "EOFError"


@pytest.mark.parametrize("how", [probe, _paramiko_probe], ids=["native", "paramiko"])
def test_a_server_silent_during_the_key_exchange_is_always_silent(tmp_path, timers,
                                                                  how) -> None:
    # paramiko's own timer raced start_client's timeout: about half of these came out
    # "closed the connection during the key exchange" (protocol). The race is there at any
    # timeout; 1.5 s, not 0.5 s, so that a stall here cannot miss the banner (or the time
    # to start the key exchange) and fail another way.
    known = KnownHosts(tmp_path / "known_hosts", system_path=None)
    server = HostileServer("slow", delay=0.0).start()  # the banner at once, then silence
    try:
        failures = [_failure(server.host, server.port, known, 1.5, how) for _ in range(4)]
    finally:
        server.stop()
    assert timers == []
    assert [f.kind for f in failures] == ["silent"] * 4, [str(f) for f in failures]
    assert all("did not finish within 1.5 s" in str(f) for f in failures)
    assert all(f.details["stage"] == "kex" for f in failures)


def _transport() -> tuple[Any, socket.socket]:
    ours, theirs = socket.socketpair()
    return paramiko.Transport(ours), theirs


def test_the_shared_timer_expires_as_paramikos_would(monkeypatch) -> None:
    monkeypatch.setattr(sshmod, "HANDSHAKE_TIMER_GRACE_S", 0.0)
    transport, peer = _transport()
    try:
        timer = sshmod._share_handshake_timer(transport)
        assert timer is not None
        transport.packetizer.start_handshake(0.05)  # paramiko's call: starts no thread
        for _ in range(200):  # bounded: the watchdog calls read_timer at the deadline
            if transport.packetizer.handshake_timed_out():
                break
            time.sleep(0.01)
        assert transport.packetizer.handshake_timed_out()
    finally:
        transport.close()
        peer.close()


def test_a_completed_handshake_cancels_the_shared_timer(monkeypatch) -> None:
    monkeypatch.setattr(sshmod, "HANDSHAKE_TIMER_GRACE_S", 0.0)
    transport, peer = _transport()
    try:
        timer = sshmod._share_handshake_timer(transport)
        assert timer is not None
        # under the watchdog's (re-entrant) lock: a stall between the two calls cannot let
        # the 0.05 s timer fire before it is cancelled
        with sshmod.watchdog._lock:
            transport.packetizer.start_handshake(0.05)
            transport.packetizer.complete_handshake()  # paramiko calls timer.cancel()
        assert sshmod.watchdog.disarm(timer._handle) is False  # already disarmed
        time.sleep(0.1)  # past the deadline: a timer still armed would have fired
        assert transport.packetizer._Packetizer__timer_expired is False
    finally:
        transport.close()
        peer.close()


def test_a_paramiko_without_the_timer_slot_keeps_its_own(monkeypatch) -> None:
    transport, peer = _transport()
    try:
        monkeypatch.setattr(sshmod, "_TIMER_SLOT", "_no_such_slot")
        assert sshmod._share_handshake_timer(transport) is None
    finally:
        transport.close()
        peer.close()


@pytest.mark.parametrize("hangup", [ConnectionResetError(10054, "forcibly closed"),
                                    EOFError()], ids=["reset", "close"])
def test_a_hang_up_while_paramiko_reads_the_banner_is_a_hang_up_not_silence(hangup) -> None:
    # Where a reset discards data not yet read (Windows), paramiko's own read of the banner
    # we peeked fails, and it says "Error reading SSH protocol banner": the peer hung up,
    # as the native probe says, not "did not finish its banner in time"
    from accessready.agent.io.transports.ssh_hostkeys import Handshake

    info = Handshake("192.0.2.7", 22, banner=BANNER.decode().strip(), first_bytes=BANNER)
    try:
        try:
            raise hangup
        except Exception as exc:
            raise paramiko.SSHException(  # noqa: B904 - as paramiko does: context only
                "Error reading SSH protocol banner" + str(exc))
    except paramiko.SSHException as wrapped:
        error = sshmod._kex_error(wrapped, "192.0.2.7:22", info)
    assert error.kind == "protocol"
    assert str(error) == "192.0.2.7:22 closed the connection during the key exchange"
    assert error.details["exception"] == "EOFError" and error.details["stage"] == "kex"
