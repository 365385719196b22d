"""An audit's profiles started in one process: loaded, planned and handed to shared
check workers (:mod:`.audit` in its own process, :mod:`.audit_processes` in each worker
process)."""

from __future__ import annotations

import logging
import queue
import threading
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from accessready.agent.app.audit_record import Finished, one_line
from accessready.agent.app.run import start_run
from accessready.agent.core.audit_types import AuditOptions
from accessready.agent.core.model import Run
from accessready.agent.core.profile import ProfileError, check_waivers, load_profile
from accessready.agent.core.profile_types import Profile
from accessready.agent.io.connector import Connector
from accessready.agent.plugin.checkapi import Check
from accessready.agent.plugin.pool import Workers
from accessready.agent.plugin.runner import RunOptions

log = logging.getLogger("accessready.audit")


def guess_customer(path: Path) -> str:
    """The customer's name from a profile that did not validate, else the file's stem."""
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
        name = raw.get("customer", {}).get("name")
        if isinstance(name, str) and name.strip():
            return name.strip()
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, AttributeError):
        pass
    return path.stem


def start_one(index: int, path: Path, options: AuditOptions, checks: Sequence[Check],
              services: Callable[[Profile], dict[str, Any]] | None, workers: Workers,
              planners: Workers, deliver: Callable[[Finished], None],
              connector: Connector | None = None) -> Finished | None:
    """Load one profile, plan its checks and hand them to ``workers``; ``deliver`` hears
    the run when its last check ends. Returns the entry at once when the profile cannot
    run (every problem becomes this entry's error), else None."""
    try:
        # an expired waiver does not stop the audit: its finding simply counts again
        profile = load_profile(path, allow_expired_waivers=True)
        check_waivers(profile, {c.id for c in checks})
    except ProfileError as exc:
        return Finished(index, str(path), guess_customer(path), error=one_line(str(exc)))
    run_options = RunOptions(
        timeout=options.timeout or profile.checks.timeout,
        # the audit's bound is its workers; a profile may ask for less on its network
        concurrency=max(1, min(profile.checks.concurrency, options.checks_at_once)),
        only=options.only or profile.checks.only,
        skip=tuple(profile.checks.skip) + options.skip,
    )
    customer = profile.customer.name

    def crashed(exc: BaseException) -> Finished:
        log.debug("run of %s crashed", path, exc_info=exc)
        return Finished(index, str(path), customer,
                        error=one_line(f"internal error: {type(exc).__name__}: {exc}"))

    def ended(run: Run | Exception) -> None:
        deliver(crashed(run) if isinstance(run, Exception) else
                Finished(index, str(path), customer, run=run))

    try:
        start_run(profile, run_options, workers, ended, lang=options.lang, checks=checks,
                  services=services(profile) if services is not None else None,
                  vantage=options.vantage, planners=planners, connector=connector)
    except Exception as exc:  # one broken run must not take the audit down
        return crashed(exc)
    return None


class ProfilePool:
    """``size`` daemon threads taking profiles from a queue and starting their runs.

    A thread loads and plans a profile, hands its checks to the audit's workers and takes
    the next profile: a profile whose checks wait on a silent host holds no thread here.
    Finished runs arrive on :attr:`done`, from ``work`` (a profile that could not run)
    or from the workers. Daemon threads, not an executor: on Ctrl-C the main thread
    leaves at once and the process does not wait for runs in flight (each would end at its
    checks' deadlines, but the user asked to stop now).
    """

    def __init__(self, size: int, jobs: list[tuple[int, Path]],
                 work: Callable[[int, Path], Finished | None],
                 done: queue.SimpleQueue[Finished], stop: threading.Event,
                 on_started: Callable[[], None] | None = None) -> None:
        self.todo: queue.SimpleQueue[tuple[int, Path]] = queue.SimpleQueue()
        for job in jobs:
            self.todo.put(job)
        self.done, self.stop, self.work = done, stop, work
        self.on_started = on_started
        self.live = min(size, len(jobs))
        self.lock = threading.Lock()
        for n in range(self.live):
            threading.Thread(target=self._worker, daemon=True,
                             name=f"accessready-audit-{n}").start()
        if not self.live and on_started is not None:
            on_started()

    def _worker(self) -> None:
        try:
            self._take()
        finally:
            with self.lock:
                self.live -= 1
                last = self.live == 0
            if last and self.on_started is not None:
                self.on_started()

    def _take(self) -> None:
        while not self.stop.is_set():
            try:
                index, path = self.todo.get_nowait()
            except queue.Empty:
                return
            try:
                finished = self.work(index, path)
                if finished is not None:
                    self.done.put(finished)
            except BaseException as exc:  # never lose an entry: the main thread waits
                self.done.put(Finished(index, str(path), path.stem,
                                       error=one_line(f"internal error: {exc!r}")))


class Local:
    """The audit's profiles started in this process (and in each of its worker processes:
    :mod:`~accessready.agent.app.audit_processes`): one set of check workers, one of
    planners and one connector shared by every profile; each finished profile goes to
    ``deliver``, or straight to ``done`` when it could not run."""

    def __init__(self, jobs: list[tuple[int, Path]], options: AuditOptions,
                 checks: Sequence[Check], services: Callable[[Profile], dict[str, Any]] | None,
                 deliver: Callable[[Finished], None], done: queue.SimpleQueue[Finished],
                 stop: threading.Event, on_started: Callable[[], None] | None) -> None:
        workers = self.workers = Workers(options.checks_at_once)
        # planning has threads of its own: behind hundreds of checks in the workers' queue
        # a profile's few quick planning calls would wait (its checks start late)
        planners = self.planners = Workers(options.profiles_at_once, name="accessready-plan")
        # a silent host's connection attempt waits here, not on a worker thread
        connector = self.connector = Connector()
        room = max(options.checks_at_once, connector.limit)

        def work(index: int, path: Path) -> Finished | None:
            # planned profiles wait for workers, not in memory: at most one queue's worth
            # (waiting for room ends the hold below: room comes only from the workers)
            workers.wait_for_room(room, stop)
            if stop.is_set():  # interrupted: this profile is "not run"
                return None
            return start_one(index, path, options, checks, services, workers, planners,
                             deliver, connector)

        def all_started() -> None:
            workers.release()
            if on_started is not None:
                on_started()

        # Plan first: the checks whose first connection is opened ahead start waiting on
        # the network while the profiles behind them are still being read, instead of
        # after the CPU has gone to the quick checks of the profiles before them (a
        # silent host costs its whole timeout from when it is first tried). Connections
        # already decided are urgent, so they are served meanwhile.
        workers.hold()
        ProfilePool(options.profiles_at_once, jobs, work, done, stop, all_started)

    def close(self, complete: bool) -> None:
        """Let the threads go: waited for when every profile finished, else stopped."""
        for threads in (self.workers, self.planners):
            if complete:
                threads.close()
            else:
                threads.stop()
        self.connector.close()


