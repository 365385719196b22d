"""One shared thread that calls things at their deadline: for blocking library calls that
take no timeout of their own (paramiko's exec request), without a thread per wait.

``arm(deadline, action)`` returns a handle; ``disarm(handle)`` before the deadline means the
action never runs. Actions must be quick and must not raise (a raising one is swallowed:
the watchdog serves every caller and must not die for one).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import threading
import time
from collections.abc import Callable

_lock = threading.Condition()
_heap: list[tuple[float, int, Callable[[], None]]] = []
_armed: set[int] = set()  # handles still due; a disarmed one is dropped when it surfaces
_counter = itertools.count()
_thread: threading.Thread | None = None


def arm(deadline: float, action: Callable[[], None]) -> int:
    """Run ``action`` at ``deadline`` (``time.monotonic()`` clock) unless disarmed first."""
    global _thread
    with _lock:
        handle = next(_counter)
        heapq.heappush(_heap, (deadline, handle, action))
        _armed.add(handle)
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_loop, name="accessready-watchdog", daemon=True)
            _thread.start()
        _lock.notify()
    return handle


def disarm(handle: int) -> bool:
    """Cancel ``handle``; False when its action already ran (or is running)."""
    with _lock:
        if handle in _armed:
            _armed.discard(handle)
            return True
    return False


def _next_due() -> Callable[[], None]:
    """Wait for the earliest armed action to come due, and take it (lock held)."""
    while True:
        while _heap and _heap[0][1] not in _armed:
            heapq.heappop(_heap)  # disarmed before its time
        if not _heap:
            _lock.wait()
            continue
        wait = _heap[0][0] - time.monotonic()
        if wait > 0:
            _lock.wait(wait)
            continue
        _, handle, action = heapq.heappop(_heap)
        _armed.discard(handle)
        return action


def _loop() -> None:
    while True:
        with _lock:
            action = _next_due()
        with contextlib.suppress(Exception):
            action()
