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
_cancelled: set[int] = set()
_counter = itertools.count()
_thread: threading.Thread | None = None


def arm(deadline: float, action: Callable[[], None]) -> int:
    """Run ``action`` at ``deadline`` (``time.monotonic()`` clock) unless disarmed first."""
    global _thread
    with _lock:
        handle = next(_counter)
        heapq.heappush(_heap, (deadline, handle, action))
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_loop, name="accessready-watchdog", daemon=True)
            _thread.start()
        _lock.notify()
    return handle


def disarm(handle: int) -> bool:
    """Cancel ``handle``; False when its action already ran (or is running)."""
    with _lock:
        if any(h == handle for _, h, _ in _heap):
            _cancelled.add(handle)
            return True
    return False


def pending() -> int:
    """How many actions wait (for tests and leak checks)."""
    with _lock:
        return sum(1 for _, h, _ in _heap if h not in _cancelled)


def _loop() -> None:
    while True:
        with _lock:
            while True:
                while _heap and _heap[0][1] in _cancelled:
                    _cancelled.discard(heapq.heappop(_heap)[1])
                if not _heap:
                    _lock.wait(30.0)
                    if not _heap:
                        continue
                    continue
                wait = _heap[0][0] - time.monotonic()
                if wait <= 0:
                    _, _, action = heapq.heappop(_heap)
                    break
                _lock.wait(wait)
        with contextlib.suppress(Exception):
            action()
