"""The SSH handshake without a timer thread per connection (issue 13), on real loopback peers.

paramiko's Packetizer starts a ``threading.Timer`` per handshake; the probe hands that job to
the shared watchdog instead. Pins: no timer thread is started; the timer still expires (and
is cancelled) as paramiko's would; the evidence and the errors are the same as with
paramiko's own timer, against a real SSH server and a banner server that hangs up at the key
exchange; a server silent during the key exchange is always ``silent`` (paramiko's timer,
racing the probe's own timeout, made it ``protocol`` about half the time).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import paramiko
import paramiko.packet
import pytest

from accessready.agent.demo.simulators.ssh import SshSimulator, SshUser
from accessready.agent.io.transports import ssh as sshmod
from accessready.agent.io.transports.base import TransportError
from accessready.agent.io.transports.ssh import KnownHosts, probe

from .hostile import HostileServer
from .simhelpers import PASSWORD

BANNER = b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"
TIMINGS = ("connect_ms", "banner_ms", "kex_ms")


@contextlib.contextmanager
def banner_then_close() -> Iterator[tuple[str, int]]:
    """A peer like bench_scale's: the banner, then it hangs up at the key exchange."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.sendall(BANNER)
                conn.settimeout(2)
                with contextlib.suppress(OSError):
                    conn.recv(4096)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[:2]
    finally:
        stop.set()
        listener.close()
        thread.join(5)


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


def test_a_probe_starts_no_timer_thread_and_shows_the_same_evidence(
        sim, tmp_path, timers, monkeypatch) -> None:
    path = tmp_path / "known_hosts"
    path.write_text(sim.known_hosts_line())
    known = KnownHosts(path, system_path=None)
    shared = probe(sim.host, sim.port, known, 5.0)
    assert timers == []
    _paramiko_timer(monkeypatch)
    own = probe(sim.host, sim.port, known, 5.0)
    assert len(timers) == 1  # the comparison really ran paramiko's own timer
    assert shared.host_key.status == "known" and shared.banner.startswith("SSH-2.0-")
    assert _without_timings(shared.to_json()) == _without_timings(own.to_json())
    assert shared.first_bytes == own.first_bytes


def _failure(host: str, port: int, known: KnownHosts, timeout: float) -> TransportError:
    with pytest.raises(TransportError) as info:
        probe(host, port, known, timeout)
    return info.value


def test_a_failed_key_exchange_fails_as_with_paramikos_timer(tmp_path, timers,
                                                             monkeypatch) -> None:
    known = KnownHosts(tmp_path / "known_hosts", system_path=None)
    with banner_then_close() as (host, port):
        shared = _failure(host, port, known, 1.0)
        assert timers == []
        _paramiko_timer(monkeypatch)
        own = _failure(host, port, known, 1.0)
        assert len(timers) == 1
    assert shared.kind == own.kind == "protocol"
    assert str(shared) == str(own)
    assert _without_timings(shared.details) == _without_timings(own.details)


def test_a_server_silent_during_the_key_exchange_is_always_silent(tmp_path, timers) -> None:
    # paramiko's own timer raced start_client's timeout: about half of these came out
    # "closed the connection during the key exchange" (protocol)
    known = KnownHosts(tmp_path / "known_hosts", system_path=None)
    server = HostileServer("slow", delay=0.0).start()  # the banner at once, then silence
    try:
        failures = [_failure(server.host, server.port, known, 0.5) for _ in range(6)]
    finally:
        server.stop()
    assert timers == []
    assert [f.kind for f in failures] == ["silent"] * 6, [str(f) for f in failures]
    assert all("did not finish within 0.5 s" in str(f) for f in failures)
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
