"""A bounded set of daemon worker threads, each task with its own deadline.

A task still running past its deadline is given up on (its stand-in result recorded) and
its slot goes to a replacement worker; the stuck thread ends when its task returns.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class Stopped(Exception):
    """Ctrl-C reached :func:`pool`; ``done`` holds what had finished."""

    def __init__(self, done: dict[int, Any]) -> None:
        super().__init__("interrupted")
        self.done = done


def pool(count: int, work: Callable[[int], T], overdue: Callable[[int], T],
         concurrency: int, timeout: float,
         on_tick: Callable[[int, list[int]], None] | None = None,
         grace: float = 0.0) -> dict[int, T]:
    """``work(i)`` for every ``i < count`` on at most ``concurrency`` daemon threads,
    each with a deadline of ``timeout`` s from its start; ``overdue(i)`` stands in for one
    still running ``grace`` s past its deadline. ``work`` must not raise.

    When a task overruns its deadline the main thread records ``overdue(i)`` and starts a
    replacement worker, so the stuck thread no longer holds a slot; it exits once its task
    returns. ``on_tick(done, running)`` hears how many finished and which run. Raises
    :class:`Stopped` (with what finished) when the main thread is interrupted.
    """
    finished: dict[int, T] = {}
    running: dict[int, float] = {}
    pending = deque(range(count))
    cond = threading.Condition()

    def worker() -> None:
        while True:
            with cond:
                if not pending:
                    return
                index = pending.popleft()
                running[index] = time.monotonic() + timeout + grace
            value = work(index)
            with cond:
                if index not in running:  # reported as overdue; a replacement took over
                    return
                del running[index]
                finished[index] = value
                cond.notify()

    def start_worker() -> None:
        threading.Thread(target=worker, daemon=True, name="accessready-check").start()

    try:
        for _ in range(min(concurrency, count)):
            start_worker()
        with cond:
            while len(finished) < count:
                if on_tick is not None:
                    on_tick(len(finished), list(running))
                deadlines = list(running.values())
                wait = min(deadlines) - time.monotonic() + 0.005 if deadlines else 0.05
                cond.wait(timeout=min(max(wait, 0.0), 0.25))
                now = time.monotonic()
                for index, deadline in list(running.items()):
                    if now >= deadline:
                        del running[index]
                        finished[index] = overdue(index)
                        if pending:
                            start_worker()
            if on_tick is not None:
                on_tick(len(finished), [])
    except KeyboardInterrupt:
        with cond:
            pending.clear()  # workers stop taking tasks
            done = dict(finished)
        raise Stopped(done) from None
    return finished
