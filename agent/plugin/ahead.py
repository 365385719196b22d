"""Connections opened ahead for a batch of the runner's jobs (``Check.first_contact``).

The runner's side of :mod:`accessready.agent.io.connector`: which jobs get their first
connection opened before they get a thread, and what a job is handed when it runs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from accessready.agent.core.model import Result
from accessready.agent.io.connector import Connector
from accessready.agent.io.net import Opened

CONNECT_MARGIN_S = 0.05  # what CheckContext.timeout keeps back by default
STALE_AFTER_S = 10.0
"""A connection opened ahead and not taken within this long is closed and the check
connects afresh: a server may drop a client that says nothing for long (nginx waits
60 s for a request, Apache's mod_reqtimeout 20 s), and that would be our delay, not its
fault. One the peer has already closed is made again too, whatever its age."""


class Ahead:
    """The connections opened ahead for one batch of jobs (:func:`start`, :func:`execute`)."""

    def __init__(self, jobs: list[Any], connector: Connector | None, timeout: float,
                 services: dict[str, Any]) -> None:
        self.jobs, self.connector, self.timeout = jobs, connector, timeout
        self.services = services
        self.opened: dict[int, Opened] = {}
        self.lock = threading.Lock()

    def prepare(self, i: int, ready: Callable[[], bool]) -> bool:
        """Start job ``i``'s first connection; ``ready()`` once it is decided."""
        contact = self.jobs[i].contact
        if self.connector is None or contact is None:
            return False
        if contact.via is not None and \
                getattr(self.services.get(contact.via), "connects_with_net", False) is not True:
            return False
        cap = contact.within if contact.within is not None else self.timeout
        window = min(cap, self.timeout) - CONNECT_MARGIN_S
        if window <= 0:
            return False

        def landed(opened: Opened) -> None:
            with self.lock:
                self.opened[i] = opened
            if not ready():  # it will not run (Ctrl-C): nothing holds the socket
                with self.lock:
                    self.opened.pop(i, None)
                opened.discard()

        return self.connector.open(contact.host, contact.port, window, landed)

    def take(self, i: int) -> Opened | None:
        """Job ``i``'s connection, if one was opened ahead and is still fresh."""
        with self.lock:
            opened = self.opened.pop(i, None)
        if opened is not None and opened.sock is not None and (
                time.monotonic() - opened.ended > STALE_AFTER_S or not opened.still_open()):
            opened.discard()
            return None  # connect afresh, with the whole deadline
        return opened

    def work(self, run: Callable[[Any, float, Opened | None], list[Result]]
             ) -> Callable[[int], list[Result]]:
        """``work(i)`` for :func:`~accessready.agent.plugin.pool.submit`: ``run(job,
        timeout, opened)`` (the runner's ``run_job``) with its connection, if fresh."""
        return lambda i: run(self.jobs[i], self.timeout, self.take(i))
