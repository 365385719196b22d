"""A bounded pool of daemon threads for blocking calls that may never return (a
``getaddrinfo`` stuck on a dead resolver): :class:`DaemonPool`."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any


class DaemonPool:
    """At most ``size`` daemon threads running queued calls. Daemon threads, so a
    getaddrinfo stuck past the run never holds the process open at exit (the standard
    ThreadPoolExecutor joins its workers then). A new thread starts whenever more calls
    wait than threads do: one hung look-up never holds up the names queued behind it."""

    def __init__(self, size: int, name: str, what: str) -> None:
        # ``name``: its threads' names; ``what``: its calls, as an error names them
        self._size, self._name, self._what = size, name, what
        self._jobs: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]]] = \
            queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0  # threads waiting for a call (or that have just taken one)
        self._queued = 0  # calls not yet counted as taken

    def submit(self, call: Callable[[], Any]) -> Future[Any]:
        """Queue ``call``; its Future can be cancelled until a worker takes it."""
        future: Future[Any] = Future()
        with self._lock:
            self._queued += 1
            self._jobs.put((future, call))
            # counting idle threads alone, a burst while one thread was still on its
            # way to the queue all waited behind whatever that thread took
            start = self._queued > self._idle and self._threads < self._size
            if start:
                self._threads += 1
                number = self._threads
        if start:
            try:
                threading.Thread(target=self._work, daemon=True,
                                 name=f"{self._name}-{number}").start()
            except RuntimeError:  # "can't start new thread": the ones there take it
                with self._lock:
                    self._threads -= 1
                    orphaned = self._threads == 0
                if orphaned and claim(future):  # none to take it: our failure, not a hang
                    future.set_exception(RuntimeError(f"cannot start a {self._what} thread"))
        return future

    @property
    def threads(self) -> int:
        """Workers started so far (never more than the size)."""
        return self._threads

    def _work(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            future, call = self._jobs.get()
            with self._lock:
                self._idle -= 1
                self._queued -= 1
            if not claim(future):  # cancelled, or failed when no thread could start
                continue
            try:
                future.set_result(call())
            except BaseException as exc:
                future.set_exception(exc)


def claim(future: Future[Any]) -> bool:
    """Whether the caller is the one to run (or fail) ``future``: not when it was
    cancelled, or another took it first (atomic, under the future's own lock)."""
    try:
        return future.set_running_or_notify_cancel()
    except RuntimeError:  # already running or finished
        return False
