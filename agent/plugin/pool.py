"""Bounded daemon worker threads, each task with its own deadline.

:class:`Workers` is a set of at most ``size`` threads, kept between tasks and shared by
every run that is handed it (an audit hands one to all its profiles, so ``--concurrency``
bounds checks in flight across the audit and no thread is started per check). A task's
deadline counts from the moment a thread takes it, never from when it was queued: time
spent waiting for a worker is ours, not the target's. A task still running past its
deadline loses its slot to a replacement thread (its *limit*); one still running at its
*patience* is given up on and its stand-in result delivered. Between the two its own
result still counts: a check that timed out on time but waited for the CPU on a busy
machine reports the target's ``fail: timeout``, not our "did not finish". The stuck
thread ends when its task returns.

:func:`submit` hands a batch of tasks over and calls back when the last one is done, so
nothing waits on a thread while a batch's checks wait on the network; :func:`pool` is the
same, waited for.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger("accessready.runner")


class Stopped(Exception):
    """Ctrl-C reached :func:`pool`; ``done`` holds what had finished."""

    def __init__(self, done: dict[int, Any]) -> None:
        super().__init__("interrupted")
        self.done = done


@dataclass(eq=False)
class _Task:
    work: Callable[[], Any]
    overdue: Callable[[], Any]
    limit: float  # seconds from the start until its thread's slot goes to another
    patience: float  # seconds from the start until it is given up on (>= limit)
    done: Callable[[Any], None]  # hears work()'s value, or overdue()'s
    started: Callable[[], None] | None = None
    freed: Callable[[], None] | None = None  # its slot went to another (past its limit)
    index: int = -1  # its place in its batch


class Workers:
    """At most ``size`` daemon threads taking tasks in order (``urgent`` ones first).

    Threads start as work arrives and wait for more once started; :meth:`close` lets
    them go. A monitor thread watches the deadlines of running tasks; a given-up task's
    stand-in is delivered on a thread of its own, so a slow callback never delays another
    task's deadline. A callback that raises is logged and does not take its thread down;
    a thread that cannot be started (a process or container limit) leaves the work to the
    threads there are.
    """

    def __init__(self, size: int, name: str = "accessready-check") -> None:
        self.size = max(1, size)
        self.name = name
        # One lock, three waits: idle workers wait for work (woken one per task, not all
        # at once: hundreds of idle threads woken per task is a thundering herd for the
        # GIL), the monitor for the next deadline, an audit's planners for room.
        self._cond = threading.Lock()
        self._has_work = threading.Condition(self._cond)
        self._watching = threading.Condition(self._cond)
        self._room = threading.Condition(self._cond)
        self._urgent: deque[_Task] = deque()
        self._queue: deque[_Task] = deque()
        self._running: dict[_Task, float] = {}  # task -> when its slot goes to another
        self._late: dict[_Task, float] = {}  # slot given away; task -> when it is given up
        self._threads = 0  # threads holding a slot
        self._idle = 0
        self._closed = False
        self._held = False  # :meth:`hold`: only urgent tasks are taken
        self.stopped = False  # :meth:`stop` was called: nothing queued will run
        self._monitor: threading.Thread | None = None
        self._wake_at = 0.0  # when the monitor looks next
        self._local = threading.local()

    def queued(self) -> int:
        """Tasks waiting for a thread."""
        with self._cond:
            return len(self._urgent) + len(self._queue)

    def wait_for_room(self, most: int, stop: threading.Event | None = None) -> None:
        """Block while more than ``most`` tasks wait for a thread (back-pressure, so an
        audit does not plan thousands of profiles ahead of its workers)."""
        with self._cond:
            while (len(self._urgent) + len(self._queue) > most and not self._closed
                   and not (stop is not None and stop.is_set())):
                if self._held:  # room comes only from the workers: let them work
                    self._held = False
                    self._has_work.notify_all()
                self._room.wait(0.25)

    def put(self, tasks: list[_Task], urgent: bool = False) -> bool:
        """Queue ``tasks``; start threads for them up to the bound; True when queued.
        Once :meth:`stop` or :meth:`close` was called nothing more is queued (the audit
        was interrupted): False. Raises ``RuntimeError`` (nothing queued) when not one
        thread can be started."""
        # a worker queueing from its task's done() takes the first task itself
        returning = getattr(self._local, "returning", False)
        self._local.returning = False
        with self._cond:
            if self._closed:
                return False
            (self._urgent if urgent else self._queue).extend(tasks)
            waiting = len(self._urgent) + len(self._queue)
            for _ in range(min(self.size - self._threads, max(0, waiting - self._idle))):
                if not self._start_thread():
                    break
            if not self._threads:
                line = self._urgent if urgent else self._queue
                for _ in tasks:
                    line.pop()
                raise RuntimeError("cannot start a worker thread (a limit on threads?)")
            if self._monitor is None:
                self._start_monitor()
            self._has_work.notify(len(tasks) - returning)
        return True

    def hold(self) -> None:
        """Take only urgent tasks until :meth:`release` (an audit plans first: its checks
        that wait on the network are then all waiting, none queued behind the others)."""
        with self._cond:
            self._held = True

    def release(self) -> None:
        """End :meth:`hold` (idempotent)."""
        with self._cond:
            if self._held:
                self._held = False
                self._has_work.notify_all()

    def drop(self, tasks: set[_Task]) -> None:
        """Forget ``tasks`` that no thread has taken yet (Ctrl-C)."""
        with self._cond:
            for line in (self._urgent, self._queue):
                kept = [t for t in line if t not in tasks]
                line.clear()
                line.extend(kept)

    def stop(self) -> None:
        """Forget every queued task and let the threads go (Ctrl-C); running ones end
        on their own (daemon threads); whoever waits on a batch hears :class:`Stopped`."""
        with self._cond:
            self._urgent.clear()
            self._queue.clear()
            self._closed = self.stopped = True
            self._wake_all()

    def close(self) -> None:
        """Let the threads go once the queue is empty; queued tasks still run."""
        with self._cond:
            self._closed = True
            self._wake_all()

    def _wake_all(self) -> None:
        # under self._cond
        for waiting in (self._has_work, self._watching, self._room):
            waiting.notify_all()

    def _start_monitor(self) -> None:
        # under self._cond; if it cannot start, the next put tries again
        monitor = threading.Thread(target=self._watch, daemon=True,
                                   name=f"{self.name}-deadlines")
        try:
            monitor.start()
        except RuntimeError:
            log.debug("could not start the deadline monitor", exc_info=True)
            return
        self._monitor = monitor

    def _start_thread(self) -> bool:
        # under self._cond
        self._threads += 1
        try:
            threading.Thread(target=self._work, daemon=True, name=self.name).start()
        except RuntimeError:  # "can't start new thread": work with the threads there are
            self._threads -= 1
            log.debug("could not start a worker thread", exc_info=True)
            return False
        return True

    def _next(self) -> _Task | None:
        # under self._cond: the next task, or None when this thread should end
        while True:
            line = self._urgent or (self._queue if not self._held else None)
            if line:
                task = line.popleft()
                deadline = self._running[task] = time.monotonic() + task.limit
                if deadline < self._wake_at:  # the monitor would look too late
                    self._watching.notify()
                self._room.notify()
                return task
            if self._closed:
                self._threads -= 1
                return None
            self._idle += 1
            self._has_work.wait()
            self._idle -= 1

    def _work(self) -> None:
        while True:
            with self._cond:
                task = self._next()
            if task is None:
                return
            _call(task.started)
            value = task.work()
            with self._cond:
                late = task not in self._running
                if late and self._late.pop(task, None) is None:
                    return  # given up on: its stand-in was delivered
                if not late:
                    del self._running[task]
            # what done() queues first, this thread takes next itself (unless it is late:
            # a replacement holds its slot): no other thread need wake for it
            self._local.returning = not late
            _call(task.done, value)
            self._local.returning = False
            if late:
                return

    def _watch(self) -> None:
        while True:
            freed: list[_Task] = []
            given_up: list[_Task] = []
            with self._cond:
                if self._closed and not (self._running or self._late or self._threads):
                    self._monitor = None
                    return
                now = time.monotonic()
                for task, deadline in list(self._running.items()):
                    if now >= deadline:
                        del self._running[task]
                        self._late[task] = deadline - task.limit + task.patience
                        freed.append(task)
                        # the late thread keeps running but no longer holds a slot
                        self._threads -= 1
                        if self._urgent or self._queue:
                            self._start_thread()
                for task, deadline in list(self._late.items()):
                    if now >= deadline:
                        del self._late[task]
                        given_up.append(task)
                if not (freed or given_up):
                    soonest = min((*self._running.values(), *self._late.values()),
                                  default=now + 0.5)
                    pause = min(max(soonest - now + 0.005, 0.0), 0.5)
                    self._wake_at = now + pause
                    self._watching.wait(pause)
            for task in freed:  # quick: the batch queues its next task
                _call(task.freed)
            for task in given_up:
                # Rare (a check that ignores its deadline), and what follows may be slow (a
                # profile's last result: its run is finished and recorded): on a thread of
                # its own, so no other deadline waits for it.
                deliver = threading.Thread(target=_call, args=(_give_up, task), daemon=True,
                                           name=f"{self.name}-overdue")
                try:
                    deliver.start()
                except RuntimeError:
                    _give_up(task)


def _give_up(task: _Task) -> None:
    task.done(task.overdue())


def _call(callback: Callable[..., None] | None, *args: Any) -> None:
    """A task's callback; what it raises is logged, never the end of a worker."""
    if callback is None:
        return
    try:
        callback(*args)
    except Exception:
        log.debug("a task's callback raised", exc_info=True)


@dataclass(eq=False)
class Batch:
    """Tasks handed over together; :attr:`finished` fills as they end."""

    count: int
    finished: dict[int, Any] = field(default_factory=dict)
    running: set[int] = field(default_factory=set)
    tasks: list[_Task] = field(default_factory=list)
    stopped: bool = False  # Ctrl-C: nothing more of it is queued
    freed: set[int] = field(default_factory=set)  # ended, or their slot went to another
    cond: threading.Condition = field(default_factory=threading.Condition)

    def complete(self) -> bool:
        """Whether every task has ended."""
        return len(self.finished) >= self.count


def submit(workers: Workers, count: int, work: Callable[[int], T],
           overdue: Callable[[int], T], timeout: float, *, grace: float = 0.0,
           patience: float | None = None, at_once: int | None = None, urgent: bool = False,
           on_done: Callable[[dict[int, T]], None] | None = None,
           prepare: Callable[[int, Callable[[], bool]], bool] | None = None) -> Batch:
    """Hand ``work(i)`` for every ``i < count`` to ``workers``. One still running
    ``grace`` s past its ``timeout`` frees its slot; ``overdue(i)`` stands in for one
    still running ``patience`` s past it (default: ``grace``). At most ``at_once`` of the
    batch run at the same time (a profile's own ``[checks] concurrency``). ``on_done``
    hears every value, in a worker thread, once the last task ends. ``work`` must not
    raise.

    ``prepare(i, ready)``, when given, is asked first as each task's turn comes: True
    means it started what the task waits for (its connection) and will call ``ready()``
    once that is done; only then is the task queued for a thread, ahead of the others
    (urgent). ``ready()`` says False when it was not queued (the batch was stopped or
    the workers closed): what was prepared for it is then the caller's to drop. It
    counts towards ``at_once`` meanwhile, not towards the workers' threads."""
    batch = Batch(count)
    waiting = deque(range(count))
    limit = timeout + grace
    wait = timeout + max(grace, patience if patience is not None else grace)

    def make(index: int) -> _Task:
        def started() -> None:
            with batch.cond:
                batch.running.add(index)

        return _Task(lambda: work(index), lambda: overdue(index), limit, wait,
                     lambda value: ended(index, value), started, lambda: freed(index), index)

    def freed(index: int) -> None:
        # a task ended or lost its slot (whichever comes first): the batch may start another
        with batch.cond:
            if index in batch.freed:
                return
            batch.freed.add(index)
            following = waiting.popleft() if waiting and not batch.stopped else None
        if following is not None:
            launch([following])

    def launch(indexes: list[int], first: bool = False) -> None:
        now = []
        for index in indexes:
            task = make(index)
            with batch.cond:
                batch.tasks.append(task)
            if not prepared(task):
                now.append(task)
        queue(now, first)

    def prepared(task: _Task) -> bool:
        if prepare is None:
            return False
        once = threading.Lock()  # the task is queued once: by ready(), or by launch()

        def ready() -> bool:
            return once.acquire(blocking=False) and queue([task], ahead=True)

        try:
            return prepare(task.index, ready)
        except Exception:
            # a bug, maybe on a worker's or the connector's thread where nobody hears it:
            # the task runs without what was opened for it (a later ready() drops that)
            log.debug("a task's connections could not be opened ahead", exc_info=True)
            return not once.acquire(blocking=False)

    def queue(tasks: list[_Task], first: bool = False, ahead: bool = False) -> bool:
        if not tasks:
            return True
        if batch.stopped:  # Ctrl-C: nothing more of it runs
            return False
        try:
            # A task whose connection was opened ahead goes first: its time on the network
            # is over (a failure to report takes a moment) or its socket would go stale.
            return workers.put(tasks, urgent or ahead)
        except Exception:
            # No thread to run them on (RuntimeError), or a bug. A task opened ahead is
            # queued from the connector's thread, which cannot tell its caller: it must
            # still end, or its batch (and the run) would wait for it forever.
            if first:
                raise
            log.debug("tasks could not be queued", exc_info=True)
            for task in tasks:
                ended(task.index, overdue(task.index))
            return True

    def ended(index: int, value: T) -> None:
        with batch.cond:
            if index in batch.finished:
                return
            batch.running.discard(index)
            batch.finished[index] = value
            last = batch.complete()
            batch.cond.notify_all()
        freed(index)
        if last and on_done is not None:
            on_done(dict(batch.finished))

    first = [waiting.popleft() for _ in range(min(count, at_once or count))]
    if first:
        launch(first, first=True)
    elif on_done is not None:
        on_done({})
    return batch


def pool(count: int, work: Callable[[int], T], overdue: Callable[[int], T],
         concurrency: int, timeout: float,
         on_tick: Callable[[int, list[int]], None] | None = None,
         grace: float = 0.0, workers: Workers | None = None,
         urgent: bool = False, patience: float | None = None,
         prepare: Callable[[int, Callable[[], bool]], bool] | None = None) -> dict[int, T]:
    """:func:`submit`, waited for: ``work(i)`` for every ``i < count``, at most
    ``concurrency`` at once, on ``workers`` (shared) or on threads of its own
    (``prepare``: as :func:`submit`'s).

    ``on_tick(done, running)`` hears how many finished and which run. Raises
    :class:`Stopped` (with what finished) when the waiting thread is interrupted; tasks
    not yet started then never start.
    """
    own = workers is None
    shared = workers if workers is not None else Workers(min(concurrency, max(count, 1)))
    batch: Batch | None = None
    try:
        batch = submit(shared, count, work, overdue, timeout, grace=grace,
                       patience=patience, at_once=concurrency, urgent=urgent,
                       prepare=prepare)
        with batch.cond:
            while not batch.complete():
                if shared.stopped:  # the audit was interrupted: its queue is gone
                    raise Stopped(dict(batch.finished))
                if on_tick is not None:
                    on_tick(len(batch.finished), sorted(batch.running))
                batch.cond.wait(0.25)
        if on_tick is not None:
            on_tick(count, [])
        return dict(batch.finished)
    except KeyboardInterrupt:
        if batch is None:
            raise Stopped({}) from None
        with batch.cond:
            batch.stopped = True
            done = dict(batch.finished)
        shared.drop(set(batch.tasks))
        raise Stopped(done) from None
    finally:
        if own:
            shared.close()
