"""The runner opens a check's first connection ahead (``Check.first_contact``): a silent
target waits on the connector's one selector, not on a worker thread, and its check still
reports the target's own ``fail: timeout``. Loopback only (see test_connector for the
silent listener)."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from accessready.agent.core.model import Status, t
from accessready.agent.core.profile import parse_profile
from accessready.agent.io import net
from accessready.agent.io.connector import Connector
from accessready.agent.plugin.checkapi import Check, Contact, Target
from accessready.agent.plugin.pool import Workers, submit
from accessready.agent.plugin.runner import ContextFactory, RunOptions, execute, plan

from .test_connector import closed_port, readable

PROFILE = parse_profile('[customer]\nname = "X"\n[access]\nmethods = ["teamviewer"]\n')


class Counting(Connector):
    """A connector that counts what it was asked to open."""

    def __init__(self) -> None:
        super().__init__(limit=64)
        self.asked: list[int] = []

    def open(self, host, port, window, done):  # type: ignore[no-untyped-def, override]
        self.asked.append(port)
        return super().open(host, port, window, done)


def reach_check(ports: dict[str, int], order: list[str], via: str | None = None,
                contact: object = None) -> Check:
    """``fam.reach``: one target per port; pass when it connects, fail as the probe says."""

    class Reach(Check):
        id = "fam.reach"
        title = t("Reach", "Nå")
        remediation = {"default": t("Open it.", "Öppna den.")}

        def targets(self, profile):  # type: ignore[no-untyped-def]
            return [Target(name, port) for name, port in ports.items()]

        def first_contact(self, target):  # type: ignore[no-untyped-def]
            if contact is not None:
                return contact
            return Contact("127.0.0.1", target.data, None, via=via)

        def run(self, ctx, target):  # type: ignore[no-untyped-def]
            order.append(target.name)
            outcome = net.tcp_reach("127.0.0.1", target.data, ctx.timeout())
            status = Status.PASS if outcome.ok else outcome.status
            return self.result(target, status, t(target.name, target.name),
                               {"kind": outcome.kind})

    from accessready.agent.core.model import Requirement

    Reach.requirement = Requirement.REMOTE
    return Reach()


def _run(check: Check, connector: Connector | None, services=None,  # type: ignore[no-untyped-def]
         workers: Workers | None = None, **opts):
    options = RunOptions(**opts)
    return execute(plan([check], PROFILE, options), ContextFactory(PROFILE, services or {}),
                   options, connector=connector, workers=workers)


def test_silent_targets_wait_on_the_connector_and_fail_as_the_targets_timeout(
        silent_ports: list[int]) -> None:
    live = socket.create_server(("127.0.0.1", 0))
    ports = {f"silent{i}": port for i, port in enumerate(silent_ports)}
    ports["live"] = live.getsockname()[1]
    order: list[str] = []
    counting = Counting()
    one = Workers(1)
    try:
        # one worker thread: were the silent ones holding it, the live one would wait
        results = _run(reach_check(ports, order), counting, workers=one, concurrency=4,
                       timeout=1.0)
    finally:
        one.close()
        counting.close()
        live.close()
    by_target = {r.target: r for r in results}
    assert by_target["live"].status is Status.PASS
    for i in range(3):
        silent = by_target[f"silent{i}"]
        assert silent.status is Status.FAIL, silent.summary.en
        assert silent.details["kind"] == "timeout"
    assert sorted(counting.asked) == sorted(ports.values())
    assert order[0] == "live"  # it ran while the silent ones were still being waited for


def test_the_run_opens_its_own_connector_by_default() -> None:
    port = closed_port()
    order: list[str] = []
    results = _run(reach_check({"shut": port}, order), None, timeout=2.0)
    assert results[0].status is Status.FAIL and results[0].details["kind"] == "refused"


def test_a_service_that_does_not_connect_through_net_gets_nothing_opened_ahead() -> None:
    port = closed_port()
    counting = Counting()
    try:
        results = _run(reach_check({"shut": port}, [], via="sessions"), counting,
                       services={"sessions": object()}, timeout=2.0)
    finally:
        counting.close()
    assert counting.asked == []  # a test's fake service must never cause traffic
    assert results[0].details["kind"] == "refused"  # the check connected itself


def test_a_first_contact_that_is_not_a_contact_is_the_checks_error() -> None:
    results = _run(reach_check({"x": 1}, [], contact=("127.0.0.1", 1)), None, timeout=2.0)
    assert results[0].status is Status.ERROR
    assert "first_contact() returned something that is not a Contact" in results[0].summary.en


def test_a_connection_gone_stale_is_closed_and_made_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set() and len(accepted) < 5:
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    monkeypatch.setattr(net, "STALE_AFTER_S", -1.0)  # every socket opened ahead is stale
    try:
        results = _run(reach_check({"srv": server.getsockname()[1]}, []), None, timeout=2.0)
        deadline = time.monotonic() + 5
        while len(accepted) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join(5)
        for conn in accepted:
            conn.close()
        server.close()
    assert results[0].status is Status.PASS
    assert len(accepted) == 2  # the one opened ahead, then the check's own


def test_held_workers_take_only_urgent_tasks_until_released() -> None:
    workers = Workers(2)
    ran: list[str] = []
    done = threading.Event()
    workers.hold()
    try:
        submit(workers, 1, lambda i: ran.append("queued"), lambda i: None, 5.0,
               on_done=lambda values: done.set())
        urgent = threading.Event()
        submit(workers, 1, lambda i: ran.append("urgent"), lambda i: None, 5.0,
               urgent=True, on_done=lambda values: urgent.set())
        assert urgent.wait(5)
        assert not done.wait(0.2) and ran == ["urgent"]
        workers.release()
        assert done.wait(5)
        assert ran == ["urgent", "queued"]
    finally:
        workers.close()


def test_waiting_for_room_ends_the_hold() -> None:
    """An audit holds its workers while it plans; a planner that must wait for room (the
    queue is full) would wait forever if the hold stayed: only the workers make room."""
    workers = Workers(1)
    workers.hold()
    done = threading.Event()
    try:
        submit(workers, 3, lambda i: i, lambda i: None, 5.0,
               on_done=lambda values: done.set())
        waited = threading.Thread(target=workers.wait_for_room, args=(0,), daemon=True)
        waited.start()
        waited.join(5)
        assert not waited.is_alive()
        assert done.wait(5)
    finally:
        workers.close()


def test_a_connection_the_peer_closed_is_made_again_by_the_check() -> None:
    """sshd drops connections beyond MaxStartups that have not authenticated, and an idle
    server may close one: a socket opened ahead that the peer has closed is not handed to
    the check (it would report "closed" about a live server); it connects afresh. Asked
    when the check connects, not when it starts: a farm's check reaches its last node's
    connection only after the others' exchanges."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    sock = socket.create_connection(("127.0.0.1", port), timeout=2)
    peer, _ = server.accept()
    opened = net.Opened("127.0.0.1", port, sock, None, 0.1, None, time.monotonic())
    try:
        with net.opened_ahead([opened]):
            peer.close()  # after the check started
            assert readable(sock)  # the FIN is in (not always the moment close() returns)
            again, _, _ = net.connect("127.0.0.1", port, 2.0)
            assert again is not sock
            assert sock.fileno() == -1  # closed, not leaked
            again.close()
    finally:
        server.close()


class _QueueingBreaks(Workers):
    """Workers whose queueing of a task opened ahead raises (a bug), as it would from the
    connector's thread."""

    def put(self, tasks, urgent=False):  # type: ignore[no-untyped-def, override]
        if urgent:
            raise ValueError("a bug while queueing")
        return super().put(tasks, urgent)


def test_a_task_that_cannot_be_queued_after_its_connection_ends_as_our_error() -> None:
    """The connector hears nothing back from the callback that queues a task: were the
    exception lost there, the run would wait for that task forever."""
    live = socket.create_server(("127.0.0.1", 0))
    workers = _QueueingBreaks(2)
    connector = Connector(limit=8)
    got: list[list] = []
    runner = threading.Thread(target=lambda: got.append(_run(
        reach_check({"live": live.getsockname()[1]}, []), connector, workers=workers,
        timeout=1.0)), daemon=True)
    try:
        runner.start()
        runner.join(15)
        assert not runner.is_alive(), "the run waited forever for a task never queued"
    finally:
        workers.close()
        connector.close()
        live.close()
    (result,) = got[0]
    assert result.status is Status.ERROR  # ours to decide, never the target's fail
    assert result.details["reason"] == "deadline"


@pytest.mark.parametrize("called_ready", [False, True])
def test_a_prepare_that_raises_still_runs_every_task_once(called_ready: bool) -> None:
    """``prepare`` for the tasks after the first runs on the thread that ended the one
    before (a worker's, or the connector's): were what it raises lost there, its task
    would never run and the batch would wait forever. It runs once, even when ``ready()``
    was called before the exception."""
    workers = Workers(2)
    ran: list[int] = []
    done = threading.Event()
    values: dict[int, object] = {}

    def prepare(i, ready):  # type: ignore[no-untyped-def]
        if i == 0:
            return False
        if called_ready:
            ready()
        raise ValueError("a bug while opening ahead")

    def finished(got):  # type: ignore[no-untyped-def]
        values.update(got)
        done.set()

    try:
        submit(workers, 3, lambda i: ran.append(i) or i, lambda i: "overdue", 5.0,
               at_once=1, on_done=finished, prepare=prepare)
        assert done.wait(10), "the batch waited forever for a task never queued"
    finally:
        workers.close()
    assert sorted(ran) == [0, 1, 2]
    assert values == {0: 0, 1: 1, 2: 2}
