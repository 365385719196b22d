"""Connections opened ahead for a batch of the runner's jobs (``Check.first_contact``).

The runner's side of :mod:`accessready.agent.io.connector`: which jobs get their first
connections opened before they get a thread (one per host and port a check names; a farm's
check names each node's, opened side by side), and what a job is handed when it runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from accessready.agent.core.model import Result
from accessready.agent.io.connector import Connector
from accessready.agent.io.net import Opened
from accessready.agent.plugin.checkapi import Contact

CONNECT_MARGIN_S = 0.05  # what CheckContext.timeout keeps back by default


class Ahead:
    """The connections opened ahead for one batch of jobs (:func:`start`, :func:`execute`)."""

    def __init__(self, jobs: list[Any], connector: Connector | None, timeout: float,
                 services: dict[str, Any]) -> None:
        self.jobs, self.connector, self.timeout = jobs, connector, timeout
        self.services = services
        self.opened: dict[int, list[Opened]] = {}
        self.lock = threading.Lock()

    def _usable(self, contact: Contact) -> bool:
        if contact.via is None:
            return True
        return getattr(self.services.get(contact.via), "connects_with_net", False) is True

    def prepare(self, i: int, ready: Callable[[], bool]) -> bool:
        """Start job ``i``'s first connections, side by side; ``ready()`` once every one
        that started is decided. False when none started (the job connects itself)."""
        if self.connector is None:
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
            if self.connector.open(contact.host, contact.port, window, landed):
                with self.lock:
                    started += 1
            else:
                settled()
        settled()
        return started > 0

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
