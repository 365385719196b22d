"""The shared worker threads (``agent/plugin/pool.py``) under what goes wrong around them:
threads that cannot be started, callbacks that raise or are slow, an interrupted audit."""

from __future__ import annotations

import threading
import time

import pytest

from accessready.agent.plugin.pool import Stopped, Workers, pool, submit


def test_work_goes_on_when_no_more_threads_can_be_started(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A process or container limit on threads: the threads there are do the work, and a
    batch still completes (it used to hang with its next task queued for no thread)."""
    original = threading.Thread.start
    started = [0]

    def limited(self: threading.Thread) -> None:
        if self.name == "accessready-check":
            started[0] += 1
            if started[0] > 1:
                raise RuntimeError("can't start new thread")
        original(self)

    monkeypatch.setattr(threading.Thread, "start", limited)
    done = pool(20, lambda i: i * 2, lambda i: -1, concurrency=8, timeout=5)
    assert done == {i: i * 2 for i in range(20)} and started[0] > 1


def test_not_one_thread_is_a_clear_error_and_nothing_stays_queued(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    workers = Workers(4)
    monkeypatch.setattr(threading.Thread, "start", refused)
    with pytest.raises(RuntimeError, match="cannot start a worker thread"):
        submit(workers, 3, lambda i: i, lambda i: -1, 5)
    assert workers.queued() == 0


def test_a_callback_that_raises_takes_no_worker_down() -> None:
    workers = Workers(1)
    heard: list[int] = []
    finished = threading.Event()

    def on_done(values: dict[int, int]) -> None:
        heard.extend(sorted(values))
        finished.set()

    def boom(index: int) -> int:
        return index

    first = submit(workers, 1, boom, lambda i: -1, 5,
                   on_done=lambda values: (_ for _ in ()).throw(ValueError("bad")))
    submit(workers, 2, boom, lambda i: -1, 5, on_done=on_done)
    assert finished.wait(10) and heard == [0, 1] and first.complete()
    workers.close()


def test_a_slow_stand_in_delays_no_other_deadline() -> None:
    """A given-up task whose delivery is slow (its run's last result: the run is finished
    and recorded) is delivered on a thread of its own: the next task's deadline still
    frees its slot on time."""
    workers = Workers(2)
    release = threading.Event()
    freed_second = threading.Event()
    slow_delivery = threading.Event()

    def hang(index: int) -> int:
        release.wait(20)
        return index

    def on_first_done(values: dict[int, int]) -> None:
        slow_delivery.set()
        release.wait(20)  # slow, as long as the test needs

    try:
        submit(workers, 1, hang, lambda i: -1, 0.1, grace=0.1, patience=0.2,
               on_done=on_first_done)
        second = submit(workers, 2, hang, lambda i: -1, 0.6, grace=0.1, patience=5,
                        at_once=1)
        assert slow_delivery.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not freed_second.is_set():
            with second.cond:
                if 0 in second.freed:  # its slot went to its second task
                    freed_second.set()
            time.sleep(0.02)
        assert freed_second.is_set()
    finally:
        release.set()
        workers.close()


def test_waiting_on_a_stopped_pool_hears_that_it_stopped() -> None:
    """After Ctrl-C in an audit its queue is gone: a planner waiting on a batch there
    hears Stopped instead of waiting for ever."""
    workers = Workers(1)
    gate = threading.Event()
    submit(workers, 1, lambda i: gate.wait(20), lambda i: -1, 30)
    outcome: list[object] = []

    def wait() -> None:
        try:
            outcome.append(pool(2, lambda i: i, lambda i: -1, 1, 30, workers=workers))
        except Stopped as stop:
            outcome.append(stop)

    waiter = threading.Thread(target=wait, daemon=True)
    waiter.start()
    time.sleep(0.1)
    workers.stop()
    waiter.join(10)
    gate.set()
    assert len(outcome) == 1 and isinstance(outcome[0], Stopped)
