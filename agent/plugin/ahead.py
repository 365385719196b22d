"""Connections opened ahead for a batch of the runner's jobs (``Check.first_contact``).

The runner's side of :mod:`accessready.agent.io.connector`: which jobs get their first
connections opened before they get a thread (one per host and port a check names; a farm's
check names each node's, opened side by side), and what a job is handed when it runs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from accessready.agent.core.model import Result
from accessready.agent.io.connector import Connector
from accessready.agent.io.net import Opened, ProbeFailure
from accessready.agent.plugin.checkapi import Contact

CONNECT_MARGIN_S = 0.05  # what CheckContext.timeout keeps back by default


class Ahead:
    """The connections opened ahead for one batch of jobs (:func:`start`, :func:`execute`)."""

    def __init__(self, jobs: list[Any], connector: Connector | None, timeout: float,
                 services: dict[str, Any], runs: Callable[[Any], bool] | None = None
                 ) -> None:
        self.jobs, self.connector, self.timeout = jobs, connector, timeout
        self.services = services
        # a job that will not run (no password for it) must neither wait nor cause traffic
        self.runs = runs
        self.opened: dict[int, list[Opened]] = {}
        self.shared: dict[tuple[str, int], _Shared] = {}
        self.lock = threading.Lock()

    def _usable(self, contact: Contact) -> bool:
        if contact.via is None:
            return True
        return getattr(self.services.get(contact.via), "connects_with_net", False) is True

    def prepare(self, i: int, ready: Callable[[], bool]) -> bool:
        """Start job ``i``'s first connections, side by side; ``ready()`` once every one
        that started is decided. False when none started (the job connects itself)."""
        if self.connector is None or (self.runs is not None and not self.runs(self.jobs[i])):
            return False
        # one count for this loop itself: ready() cannot come before every open was tried
        waiting, started = 1, 0

        def settled() -> None:
            nonlocal waiting
            with self.lock:
                waiting -= 1
                if waiting or not started:
                    return
            if not ready():  # it will not run (Ctrl-C): nothing holds the sockets
                with self.lock:
                    dropped = self.opened.pop(i, [])
                for opened in dropped:
                    opened.discard()

        def landed(opened: Opened) -> None:
            with self.lock:
                self.opened.setdefault(i, []).append(opened)
            settled()

        for contact in self.jobs[i].contacts:
            cap = contact.within if contact.within is not None else self.timeout
            window = min(cap, self.timeout) - CONNECT_MARGIN_S
            if window <= 0 or not self._usable(contact):
                continue
            with self.lock:
                waiting += 1
            joined = contact.shared and self._join(contact, landed)
            if joined or self.connector.open(contact.host, contact.port, window,
                                             self._sharing(contact, landed)):
                with self.lock:
                    started += 1
            else:
                self._unshare(contact)
                settled()
        settled()
        return started > 0

    def _join(self, contact: Contact, landed: Callable[[Opened], None]) -> bool:
        """Wait for the run's one attempt at a shared contact: True when there is one
        (``landed`` hears its outcome, at once if it is decided); False, and this job
        makes the attempt, when there is none yet."""
        key = (contact.host, contact.port)
        with self.lock:
            one = self.shared.get(key)
            if one is None:
                self.shared[key] = _Shared()
                return False
            if one.outcome is None:
                one.waiting.append(landed)
                return True
            outcome = one.outcome
        landed(_without_socket(outcome))
        return True

    def _sharing(self, contact: Contact, landed: Callable[[Opened], None]
                 ) -> Callable[[Opened], None]:
        """``landed``, telling the jobs that joined a shared attempt its outcome too."""
        if not contact.shared:
            return landed
        key = (contact.host, contact.port)

        def decided(opened: Opened) -> None:
            with self.lock:
                one = self.shared.setdefault(key, _Shared())
                one.outcome, joined, one.waiting = opened, one.waiting, []
            landed(opened)
            for other in joined:
                other(_without_socket(opened))

        return decided

    def _unshare(self, contact: Contact) -> None:
        """The shared attempt could not start (the connector is full): the next job
        naming it tries again, and those that joined it meanwhile connect themselves."""
        if not contact.shared:
            return
        with self.lock:
            one = self.shared.pop((contact.host, contact.port), None)
            joined = one.waiting if one is not None else []
        for other in joined:
            other(Opened(contact.host, contact.port, None, None, 0.0, None, time.monotonic()))

    def take(self, i: int) -> list[Opened]:
        """Job ``i``'s connections opened ahead (whether each is still fresh is asked
        when the check connects: :func:`~accessready.agent.io.net.connect`)."""
        with self.lock:
            return self.opened.pop(i, [])

    def work(self, run: Callable[[Any, float, list[Opened]], list[Result]]
             ) -> Callable[[int], list[Result]]:
        """``work(i)`` for :func:`~accessready.agent.plugin.pool.submit`: ``run(job,
        timeout, opened)`` (the runner's ``run_job``) with its connections."""
        return lambda i: run(self.jobs[i], self.timeout, self.take(i))


class _Shared:
    """The run's one attempt at a shared contact: its outcome once decided, and who waits
    for it meanwhile."""

    def __init__(self) -> None:
        self.outcome: Opened | None = None
        self.waiting: list[Callable[[Opened], None]] = []


def _without_socket(opened: Opened) -> Opened:
    """What a job that joined a shared attempt gets: its outcome (a failure of its own
    to raise, or no socket: it connected, and the job connects itself)."""
    failure = opened.failure
    if failure is not None:  # each job raises an exception of its own
        failure = ProbeFailure(failure.kind, str(failure), failure.elapsed_ms)
    return Opened(opened.host, opened.port, None, failure, opened.connect_ms,
                  opened.resolution, opened.ended)
