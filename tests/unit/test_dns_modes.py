"""One way to resolve a host name, two modes (issue 15 item 6, issue 13 item 4).

* the system resolver: ``socket.getaddrinfo`` on a small shared pool of daemon threads, so
  the Windows NRPT (split DNS) and the hosts file apply as for the engineer's own clients;
  a call that outlives the caller's budget is a resolver timeout (this machine), never a
  finding about the target, and the pool never grows past its cap;
* named resolvers: DNS to exactly the profile's servers (``adfs.dns`` on purpose).

Both answer from the hosts file and ``localhost`` first. getaddrinfo is replaced by fakes
here: a real one would send queries off this machine.
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from accessready.agent.core.failures import status_of
from accessready.agent.core.model import Status
from accessready.agent.core.profile_types import Endpoint, Network
from accessready.agent.io import dns as agent_dns
from accessready.agent.io import net
from accessready.agent.io.daemon_pool import DaemonPool
from accessready.agent.io.dns import (
    SYSTEM_RESOLVER,
    SYSTEM_WORKERS,
    ResolveError,
    Resolvers,
    resolve,
)
from accessready.checks.adfs.base import service_address

from .dnsfakes import empty_hosts
from .hostile import Udp


@pytest.fixture
def hosts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return empty_hosts(tmp_path, monkeypatch)


def fake_os(monkeypatch: pytest.MonkeyPatch, answer) -> list[tuple[str, str]]:
    """Replace getaddrinfo for names with ``answer(name) -> [address, ...]``; returns the
    (name, thread name) of every call."""
    real = socket.getaddrinfo
    calls: list[tuple[str, str]] = []

    def fake(host, port, family=0, type=0, proto=0, flags=0):
        if agent_dns.is_ip_literal(str(host)) or flags & socket.AI_NUMERICHOST:
            return real(host, port, family, type, proto, flags)
        calls.append((host, threading.current_thread().name))
        return [info for a in answer(host)
                for info in real(a, port, family, type, proto, flags | socket.AI_NUMERICHOST)]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return calls


def test_system_mode_asks_the_operating_system_on_the_pool(hosts, monkeypatch) -> None:
    calls = fake_os(monkeypatch, lambda name: ["::1"] if name.startswith("v6only") else
                    ["::1", "127.0.0.1", "127.0.0.1"])
    found = resolve("rdp01.kund.test", 2.0)
    assert found.addresses == ("127.0.0.1",)  # IPv4 first, as A before AAAA
    assert resolve("v6only.kund.test", 2.0).addresses == ("::1",)
    assert found.resolver == SYSTEM_RESOLVER == "system resolver"
    assert calls[0] == ("rdp01.kund.test", calls[0][1])
    assert all(thread.startswith("accessready-getaddrinfo") for _, thread in calls)


@pytest.mark.parametrize("code,kind", [
    (socket.EAI_NONAME, "nxdomain"),
    (socket.EAI_NODATA, "nodata"),
    (socket.EAI_AGAIN, "timeout"),
    (socket.EAI_FAIL, "error"),
])
def test_getaddrinfo_errors_say_whose_problem(hosts, monkeypatch, code, kind) -> None:
    def fail(name):
        raise socket.gaierror(code, "from the fake")

    fake_os(monkeypatch, fail)
    with pytest.raises(ResolveError) as info:
        resolve("vpn.kund.test", 2.0)
    assert info.value.kind == kind
    assert SYSTEM_RESOLVER in str(info.value)
    with pytest.raises(net.ProbeFailure) as probe:
        net.tcp_connect("vpn.kund.test", 443, 2.0)
    # a name that does not exist is the target's; a resolver that failed is ours
    expected = Status.FAIL if kind in ("nxdomain", "nodata") else Status.ERROR
    assert status_of(probe.value.kind) is expected


def test_a_getaddrinfo_that_outlives_its_budget_is_a_bounded_resolver_timeout(
        hosts, monkeypatch) -> None:
    release = threading.Event()
    started = threading.Semaphore(0)

    def stuck(name):
        started.release()
        release.wait(30)  # a dead resolver; the test lets it go at the end
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    calls = fake_os(monkeypatch, stuck)
    failures: list[ResolveError] = []
    lock = threading.Lock()

    def ask(i: int) -> None:
        try:
            resolve(f"host{i}.kund.test", 0.3)
        except ResolveError as exc:
            with lock:
                failures.append(exc)

    try:
        askers = [threading.Thread(target=ask, args=(i,)) for i in range(3 * SYSTEM_WORKERS)]
        for thread in askers:
            thread.start()
        for thread in askers:
            thread.join(10)
        assert len(failures) == 3 * SYSTEM_WORKERS
        assert {f.kind for f in failures} == {"timeout"} and all(f.local for f in failures)
        # the pool's cap holds: no thread per stuck call
        assert agent_dns.SYSTEM_LOOKUPS.pool.threads <= SYSTEM_WORKERS
        assert len(calls) <= SYSTEM_WORKERS
        with pytest.raises(net.ProbeFailure) as probe:
            net.tcp_connect("gateway.kund.test", 443, 0.3)
        assert probe.value.kind == "resolver"
        assert status_of(probe.value.kind) is Status.ERROR
    finally:
        release.set()


def test_concurrent_askers_share_one_call(hosts, monkeypatch) -> None:
    gate = threading.Event()

    def slow(name):
        gate.wait(5)
        return ["127.0.0.1"]

    calls = fake_os(monkeypatch, slow)
    results: list[tuple[str, ...]] = []
    askers = [threading.Thread(target=lambda: results.append(
        resolve("router1.tv.test", 5.0).addresses)) for _ in range(5)]
    for thread in askers:
        thread.start()
    for _ in range(500):  # bounded: until all five wait on the one call in flight
        if agent_dns.SYSTEM_LOOKUPS.waiting("router1.tv.test") == 5:
            break
        threading.Event().wait(0.01)
    gate.set()
    for thread in askers:
        thread.join(10)
    assert results == [("127.0.0.1",)] * 5
    assert [name for name, _ in calls] == ["router1.tv.test"]


@pytest.mark.parametrize("servers", [(), "silent"])
def test_hosts_file_and_localhost_answer_first_in_both_modes(hosts, monkeypatch,
                                                             servers) -> None:
    """Pins issue 13 item 4: a hosts-file entry (common for AD FS on WAP servers and
    laptops) and ``localhost`` resolve without any resolver."""
    calls = fake_os(monkeypatch, lambda name: pytest.fail(f"asked the OS for {name}"))
    hosts.write_text("192.0.2.7  sts.kund.test  # AD FS, internal\n")
    with Udp("silent") as silent:
        named = () if servers == () else (Endpoint("127.0.0.1", silent.port),)
        found = resolve("STS.kund.test.", 1.0, servers=named)
        assert (found.addresses, found.resolver) == (("192.0.2.7",), "hosts file")
        local = resolve("localhost", 1.0, servers=named)
        assert (local.addresses, local.resolver) == (("127.0.0.1", "::1"), "localhost")
        assert silent.received == 0
    assert calls == []


def test_named_mode_asks_only_the_named_resolvers(hosts, monkeypatch) -> None:
    calls = fake_os(monkeypatch, lambda name: pytest.fail(f"asked the OS for {name}"))
    with Udp("silent") as silent:
        with pytest.raises(ResolveError) as info:
            resolve("sts.kund.test", 0.5, servers=(Endpoint("127.0.0.1", silent.port),))
        assert silent.received >= 1
    assert info.value.kind == "timeout"
    assert f"resolvers 127.0.0.1:{silent.port}" in str(info.value)
    assert calls == []


class _Ctx:
    """The two things service_address uses from a check context."""

    def __init__(self, network: Network) -> None:
        self.resolvers = Resolvers(network)

    def service(self, name: str):
        assert name == "dns"
        return self.resolvers

    def timeout(self, cap: float) -> float:
        return min(cap, 1.0)


def test_federation_service_in_the_hosts_file_is_reachable(hosts, monkeypatch) -> None:
    """Before: adfs.tls/probe asked only DNS, so a hosts-file name "did not resolve"."""
    fake_os(monkeypatch, lambda name: pytest.fail(f"asked the OS for {name}"))
    hosts.write_text("127.0.0.1 sts.kund.test\n")
    with Udp("silent") as silent:
        ctx = _Ctx(Network(external_resolvers=(Endpoint("127.0.0.1", silent.port),)))
        address, evidence = service_address(ctx, "sts.kund.test")
    assert address == "127.0.0.1"
    assert evidence["used"] == {"view": "external", "address": "127.0.0.1",
                                "resolver": "hosts file"}


def test_federation_service_without_named_resolvers_uses_the_system(hosts,
                                                                    monkeypatch) -> None:
    fake_os(monkeypatch, lambda name: ["127.0.0.9"])
    address, evidence = service_address(_Ctx(Network()), "sts.kund.test")
    assert address == "127.0.0.9"
    assert evidence["external"]["resolver"] == "system resolver"


def test_probe_evidence_names_the_resolver(hosts, monkeypatch) -> None:
    from .hostile import tcp

    fake_os(monkeypatch, lambda name: ["127.0.0.1"])
    with tcp("garbage") as peer:
        exchange = net.tcp_exchange("ssh01.kund.test", peer.port, b"x", lambda d: True, 2.0)
    assert exchange.to_json()["resolved"] == {"name": "ssh01.kund.test",
                                              "addresses": ["127.0.0.1"],
                                              "resolver": "system resolver"}
    with tcp("garbage") as peer:
        literal = net.tcp_exchange("127.0.0.1", peer.port, b"x", lambda d: True, 2.0)
    assert "resolved" not in literal.to_json()


def test_a_hung_look_up_never_holds_up_the_names_queued_behind_it() -> None:
    # the pool started a thread only when none was idle, and a thread counts as idle
    # until it takes a call: a burst submitted while the first thread was on its way
    # to the queue all waited behind the hung call it took
    pool = DaemonPool(4, "test-pool", "name look-up")
    release = threading.Event()
    try:
        assert pool.submit(lambda: "warm").result(timeout=10) == "warm"
        # its one thread now waits for a call: idle, as it stays until it takes the next
        hung = pool.submit(lambda: release.wait(30))
        quick = [pool.submit(lambda n=n: n) for n in range(5)]
        assert [f.result(timeout=10) for f in quick] == list(range(5))
        assert not hung.done() and pool.threads <= 4
    finally:
        release.set()
    assert hung.result(timeout=10) is True


def test_a_look_up_thread_that_cannot_start_is_a_failure_not_a_hang(monkeypatch) -> None:
    pool = DaemonPool(2, "test-pool", "name look-up")
    real = threading.Thread.start

    def refuse(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    failed = pool.submit(lambda: "never")
    with pytest.raises(RuntimeError, match="cannot start"):
        failed.result(timeout=5)
    assert pool.threads == 0  # not counted: the next call may start one
    monkeypatch.setattr(threading.Thread, "start", real)
    assert pool.submit(lambda: "answered").result(timeout=5) == "answered"
