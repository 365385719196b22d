"""The checks that read a server over its session (account.*, service.running, the WinRM
script checks, teamviewer.host) name the session's first connection (``Contact(shared=
True)``): the runner makes one attempt per host and port for the whole run, which every
one of them waits for without a thread. A silent server costs no worker thread, and a
live one gets one connection ahead, not one per check. Loopback only: silent listeners
have full accept queues (conftest's ``silent_ports``)."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from accessready.agent.core.model import Requirement, Status, t
from accessready.agent.core.profile import parse_profile
from accessready.agent.demo.simulators.wsman import SimUser, WsmanSimulator
from accessready.agent.io import net
from accessready.agent.io.net import Opened, ProbeFailure
from accessready.agent.io.secrets import Secret
from accessready.agent.io.transports.base import TransportError
from accessready.agent.io.transports.sessions import SessionOptions, Sessions
from accessready.agent.io.transports.winrm import WinrmEndpoint, open_winrm
from accessready.agent.plugin.checkapi import Check, Contact, Target
from accessready.agent.plugin.pool import Workers
from accessready.agent.plugin.runner import ContextFactory, RunOptions, execute, plan
from accessready.checks.account.login import LoginCheck
from accessready.checks.account.privileges import PrivilegesCheck
from accessready.checks.account.status import StatusCheck
from accessready.checks.adfs.certificates import AdfsCertificatesCheck
from accessready.checks.adfs.service import AdfsServiceCheck
from accessready.checks.service.running import ServiceRunningCheck
from accessready.checks.teamviewer.host import TeamViewerHostCheck
from accessready.checks.wap.health import WapHealthCheck
from accessready.checks.wap.proxy_trust import WapProxyTrustCheck

from .recordings import load_recordings
from .simhelpers import PASSWORD, USER, closed_port
from .test_runner_ahead import Counting

PROFILE = parse_profile('[customer]\nname = "X"\n[access]\nmethods = ["teamviewer"]\n')


def _reach(targets: dict[str, tuple[int, bool]], order: list[str],
           needs: tuple[str, ...] = ()) -> Check:
    """``fam.reach``: target name -> (port, shared); pass when its own connect works."""

    class Reach(Check):
        id = "fam.reach"
        requirement = Requirement.REMOTE
        title = t("Reach", "Nå")
        remediation = {"default": t("Open it.", "Öppna den.")}

        def targets(self, profile):  # type: ignore[no-untyped-def]
            return [Target(name, spec) for name, spec in targets.items()]

        def first_contact(self, target):  # type: ignore[no-untyped-def]
            port, shared = target.data
            return Contact("127.0.0.1", port, None, shared=shared)

        def run(self, ctx, target):  # type: ignore[no-untyped-def]
            order.append(target.name)
            outcome = net.tcp_reach("127.0.0.1", target.data[0], ctx.timeout())
            return self.result(target, Status.PASS if outcome.ok else outcome.status,
                               t(target.name, target.name), {"kind": outcome.kind})

    Reach.needs = needs
    return Reach()


def _run(check: Check, connector: Counting, workers: Workers | None = None,
         timeout: float = 2.0, profile=PROFILE, services=None):  # type: ignore[no-untyped-def]
    options = RunOptions(timeout=timeout, concurrency=4)
    return {r.target: r for r in execute(
        plan([check], profile, options), ContextFactory(profile, services or {}), options,
        connector=connector, workers=workers)}


def test_a_shared_contact_is_one_attempt_and_the_first_job_gets_its_socket(
        taken: list[tuple[str, int]], monkeypatch: pytest.MonkeyPatch) -> None:
    handed: list[socket.socket] = []
    real_take = Opened.take

    def take(self: Opened) -> socket.socket | None:
        sock = real_take(self)
        if sock is not None and self in waiting_for:
            handed.append(sock)
        return sock

    waiting_for: list[Opened] = []
    real_take_opened = net._take_opened

    def take_opened(host: str, port: int) -> Opened | None:
        ready = real_take_opened(host, port)
        if ready is not None:
            waiting_for.append(ready)
        return ready

    monkeypatch.setattr(Opened, "take", take)
    monkeypatch.setattr(net, "_take_opened", take_opened)
    live = socket.create_server(("127.0.0.1", 0), backlog=16)
    port = live.getsockname()[1]
    counting = Counting()
    try:
        results = _run(_reach({"a": (port, True), "b": (port, True), "c": (port, True)},
                              []), counting)
    finally:
        counting.close()
        live.close()
    assert counting.asked == [port]
    # every job was handed the one attempt's outcome; one of them its socket, and the
    # others connected themselves
    assert len(waiting_for) == 3 and len(handed) == 1
    assert {name: r.status for name, r in results.items()} == dict.fromkeys("abc", Status.PASS)


def test_unshared_contacts_to_one_place_are_each_opened() -> None:
    live = socket.create_server(("127.0.0.1", 0), backlog=16)
    port = live.getsockname()[1]
    counting = Counting()
    try:
        _run(_reach({"a": (port, False), "b": (port, False)}, []), counting)
    finally:
        counting.close()
        live.close()
    assert counting.asked == [port, port]


def test_a_silent_shared_contact_fails_every_job_without_holding_a_thread(
        silent_ports: list[int]) -> None:
    live = socket.create_server(("127.0.0.1", 0))
    live_port = live.getsockname()[1]
    order: list[str] = []
    counting = Counting()
    one = Workers(1)
    try:
        # one worker thread: were the silent jobs holding it, "live" would run last
        results = _run(_reach({"s1": (silent_ports[0], True), "s2": (silent_ports[0], True),
                               "s3": (silent_ports[0], True), "live": (live_port, False)}, order),
                       counting, one, timeout=1.0)
    finally:
        one.close()
        counting.close()
        live.close()
    assert order[0] == "live"
    assert results["live"].status is Status.PASS
    for name in ("s1", "s2", "s3"):
        assert results[name].status is Status.FAIL, results[name].summary.en
        assert results[name].details["kind"] == "timeout"
    assert sorted(counting.asked) == sorted([silent_ports[0], live_port])


def test_a_refused_shared_contact_is_every_jobs_own_failure() -> None:
    port = closed_port()
    counting = Counting()
    try:
        results = _run(_reach({"a": (port, True), "b": (port, True)}, []), counting)
    finally:
        counting.close()
    assert counting.asked == [port]
    assert {r.details["kind"] for r in results.values()} == {"refused"}


def test_with_no_room_ahead_every_job_connects_itself(silent_ports: list[int]) -> None:
    live = socket.create_server(("127.0.0.1", 0), backlog=16)
    port = live.getsockname()[1]
    counting = Counting()
    counting.limit = 1  # the silent target's attempt takes the only place
    try:
        results = _run(_reach({"s": (silent_ports[0], False), "a": (port, True),
                               "b": (port, True)}, []), counting, timeout=1.0)
    finally:
        counting.close()
        live.close()
    assert results["a"].status is results["b"].status is Status.PASS
    assert results["s"].details["kind"] == "timeout"


def test_a_job_that_will_not_run_opens_no_connection(silent_ports: list[int]) -> None:
    counting = Counting()
    began = time.monotonic()
    try:
        # no password in the profile: the runner answers without running the check
        results = _run(_reach({"s": (silent_ports[0], True)}, [], needs=("password",)), counting,
                       timeout=3.0)
    finally:
        counting.close()
    assert counting.asked == []
    assert results["s"].details["reason"] == "no_password"
    assert time.monotonic() - began < 2.0  # not after the silent port's 3 s


def test_a_plugins_result_that_raises_is_its_checks_error_not_the_runs_end() -> None:
    """Whether a job will run is asked of the plugin's ``result`` (the skip it would make)
    before its connection is opened ahead, on the caller's thread for the first jobs and
    on a worker's or the connector's for the rest: what it raises must become that
    check's error, as in ``run_job``, never the run's crash or a job never queued."""
    port = closed_port()
    check = _reach({f"s{i}": (port, False) for i in range(6)}, [], needs=("password",))

    def result(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise ValueError("a bug in the plugin's result()")

    check.result = result  # type: ignore[method-assign]
    counting = Counting()
    got: list[dict] = []
    runner = threading.Thread(target=lambda: got.append(_run(check, counting, timeout=2.0)),
                              daemon=True)
    try:
        runner.start()
        runner.join(15)
        assert not runner.is_alive(), "the run waited forever"
    finally:
        counting.close()
    assert got, "the run raised the plugin's exception"
    assert len(got[0]) == 6
    for r in got[0].values():
        assert r.status is Status.ERROR and "ValueError" in r.summary.en


# --- the session itself takes what was opened ahead ------------------------------------

def test_open_winrm_takes_the_failure_opened_ahead() -> None:
    port = closed_port()  # refused if connected now: "timeout" is what was opened ahead
    ahead = Opened("127.0.0.1", port, None, ProbeFailure("timeout", "no answer", 5000.0),
                   5000.0, None, time.monotonic())
    began = time.monotonic()
    with net.opened_ahead([ahead]), pytest.raises(TransportError) as info:
        open_winrm(WinrmEndpoint("127.0.0.1", port, False, "ntlm", USER,
                                 allow_insecure=True), Secret(PASSWORD), 5.0)
    assert info.value.kind == "timeout"
    assert time.monotonic() - began < 1.0


def test_open_winrm_takes_the_connection_opened_ahead(taken: list[tuple[str, int]]) -> None:
    sim = WsmanSimulator({USER: SimUser(PASSWORD)}, load_recordings("win2019-adfs")).start()
    try:
        sock = socket.create_connection((sim.host, sim.port), timeout=2)
        ahead = Opened(sim.host, sim.port, sock, None, 1.0, None, time.monotonic())
        with net.opened_ahead([ahead]):
            transport = open_winrm(WinrmEndpoint(sim.host, sim.port, False, "ntlm", USER,
                                                 allow_insecure=True), Secret(PASSWORD), 5.0)
        try:
            assert transport.run(["whoami"], 5).exit_code == 0
        finally:
            transport.close()
    finally:
        sim.stop()
    assert taken == [(sim.host, sim.port)]


# --- the checks ------------------------------------------------------------------------

def test_session_checks_on_silent_servers_wait_without_a_thread(
        tmp_path, silent_ports: list[int], taken: list[tuple[str, int]]) -> None:  # type: ignore[no-untyped-def]
    winrm_port, ssh_port = silent_ports[:2]
    known = tmp_path / "known_hosts"
    known.write_text("")
    profile = parse_profile(f"""
[customer]
name = "X"
[access]
methods = ["teamviewer"]
[account]
username = 'EXEMPEL\\\\support'
password = {{ env = "AR_UNUSED" }}
known_hosts = "{known}"
[[servers]]
name = "adfs01"
address = "127.0.0.1"
roles = ["adfs"]
remote = ["winrm"]
services = ["adfssrv"]
[servers.winrm]
transport = "ntlm"
https = false
port = {winrm_port}
allow_insecure_credentials = true
[[servers]]
name = "sync01"
address = "127.0.0.1"
roles = ["sync"]
remote = ["ssh"]
services = ["eventful-sync"]
ssh = {{ port = {ssh_port} }}
""", str(tmp_path / "x.toml"))
    checks = [LoginCheck(), StatusCheck(), PrivilegesCheck(), ServiceRunningCheck()]
    live = socket.create_server(("127.0.0.1", 0))
    live_port = live.getsockname()[1]
    order: list[str] = []
    sessions = Sessions(profile, Secret(PASSWORD), SessionOptions(use_agent=False))
    options = RunOptions(timeout=1.0, concurrency=8)
    counting = Counting()
    one = Workers(1)
    try:
        items = plan([*checks, _reach({"live": (live_port, False)}, order)],
                     profile, options)
        results = execute(items, ContextFactory(profile, {"sessions": sessions},
                                                Secret(PASSWORD)),
                          options, connector=counting, workers=one)
    finally:
        one.close()
        counting.close()
        live.close()
        sessions.close()
    assert order == ["live"]  # it got the one thread first
    # one attempt per server, however many checks read it, and the sessions' own
    # connects (SSH's, and WinRM's before pywinrm connects) took its outcome
    assert sorted(counting.asked) == sorted([winrm_port, ssh_port, live_port])
    assert {("127.0.0.1", winrm_port), ("127.0.0.1", ssh_port)} <= set(taken)
    read = [r for r in results if r.check_id != "fam.reach" and r.status is not Status.SKIP]
    assert {(r.check_id, r.target) for r in read} >= {
        ("account.login", "adfs01"), ("account.login", "sync01"),
        ("account.status", "adfs01"), ("account.status", "sync01"),
        ("service.running", "adfs01"), ("service.running", "sync01")}
    for r in read:
        assert r.status is Status.ERROR or r.status is Status.FAIL, (r.check_id, r.target)
        assert "timeout" in str(r.details), (r.check_id, r.target, r.details)


@pytest.mark.parametrize("make", [
    LoginCheck, StatusCheck, PrivilegesCheck, ServiceRunningCheck, AdfsServiceCheck,
    AdfsCertificatesCheck, WapHealthCheck, WapProxyTrustCheck, TeamViewerHostCheck])
def test_every_check_that_reads_a_server_names_its_sessions_first_connection(
        tmp_path, make: type[Check]) -> None:  # type: ignore[no-untyped-def]
    profile = parse_profile("""
[customer]
name = "X"
[access]
methods = ["teamviewer"]
[access.teamviewer]
server = "adfs01"
[account]
username = 'EXEMPEL\\support'
password = { env = "AR_UNUSED" }
[[servers]]
name = "adfs01"
address = "192.0.2.10"
roles = ["adfs"]
remote = ["winrm"]
services = ["adfssrv"]
winrm = { https = true, port = 5986 }
[[servers]]
name = "wap01"
address = "192.0.2.11"
roles = ["wap"]
remote = ["winrm"]
[[servers]]
name = "sync01"
address = "192.0.2.12"
roles = ["sync"]
remote = ["ssh"]
services = ["eventful-sync"]
ssh = { port = 2222 }
""", str(tmp_path / "x.toml"))
    check = make()
    ports = {"192.0.2.10": 5986, "192.0.2.11": 5986, "192.0.2.12": 2222}  # 5986: the default
    named = [(target.name, check.first_contact(target)) for target in check.targets(profile)]
    assert named
    for name, contact in named:
        assert isinstance(contact, Contact), name
        assert (contact.via, contact.shared) == ("sessions", True)
        assert contact.port == ports[contact.host], name
        assert contact.within is not None and contact.within > 0
