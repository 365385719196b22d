"""Scheduled audits: every profile, concurrently and bounded, recorded in the history.

``accessready audit PROFILE... --history audit.db`` calls :func:`run_audit`:

1. Takes the lock (``--lock``, default ``<history>.lock``): an audit still running when the
   next one starts makes the second exit 3 with "another audit is running (pid N since T)"
   instead of doubling the load and racing for the same rows.
2. Loads and plans ``profiles_at_once`` profiles at a time and hands their checks to one
   set of ``checks_at_once`` worker threads shared by the whole audit (the bound on checks
   in flight). A profile waiting on a silent host holds no profile slot, only its checks'
   worker threads, so an audit takes about (checks × deadline of the slow ones) /
   ``checks_at_once``, not the sum over profiles.
3. Starts the profiles that took longest in the history's previous audit first (a silent
   host costs its whole timeout; started last, it ends the audit late).
4. Records each run as soon as it finishes (a kill mid-audit loses only runs not yet
   recorded), with what changed since that customer's previous run; the runs that
   finished while the last ones were recorded share one transaction (one sync to disk).
5. A profile that does not load, or a run that crashes, does not stop the others: it is an
   entry with verdict *unknown* and its one-line error.
6. ``keep_days`` prunes runs older than that after the audit.

Nothing here prints; ``on_progress`` hears of each finished profile, and ``on_run`` of
each run as it ends (``--reports-dir`` writes its files then: :class:`Details`).
"""

from __future__ import annotations

import datetime as dt
import glob
import logging
import math
import os
import queue
import re
import threading
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from accessready import __version__
from accessready.agent.app.audit_record import (
    Finished,
    Recorder,
    Recording,
    one_line,
    record_batch,
    record_one,
)
from accessready.agent.app.history import HistoryUnusable
from accessready.agent.app.history_db import check_path
from accessready.agent.app.lock import RunLock
from accessready.agent.app.run import start_run, where_from
from accessready.agent.core.audit_types import AuditEntry, AuditReport
from accessready.agent.core.model import Run
from accessready.agent.core.profile import ProfileError, check_waivers, load_profile
from accessready.agent.core.profile_types import Profile
from accessready.agent.io.connector import Connector
from accessready.agent.plugin.checkapi import Check
from accessready.agent.plugin.pool import Workers
from accessready.agent.plugin.registry import load_registry
from accessready.agent.plugin.runner import RunOptions

log = logging.getLogger("accessready.audit")


class AuditError(Exception):
    """Bad audit input (no profiles, unreadable folder); the text is one line."""


# Below this many profiles a second process does not pay for itself: measured with
# bench_scale --split 2, 200 profiles (1,000 servers) took the same wall time and 50 MiB
# more memory; 1,000 profiles took a quarter less time on 2 cores.
PROFILES_PER_PROCESS = 400


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity where the system says, as a
    container or a job object limits it), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # Windows, macOS
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class AuditOptions:
    """How to run an audit. ``None`` means "as each profile says"."""

    profiles_at_once: int = 8
    checks_at_once: int = 128  # across the whole audit
    timeout: float | None = None
    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    lang: str = "en"
    history: str | None = None
    lock: str | None = None
    keep_days: int | None = None
    trend_length: int = 14
    # An audit host is neither the engineer's laptop nor inside the customer's network:
    # the checks of the workstation and of a tunnel it has up skip (see README).
    vantage: str = "audit"
    # processes sharing the profiles (None: as many as the audit is large, up to the CPUs)
    processes: int | None = 1

    def processes_for(self, profiles: int) -> int:
        """How many processes audit ``profiles`` profiles: one per
        :data:`PROFILES_PER_PROCESS` up to the CPUs this process may use when not given,
        never more than there are profiles."""
        if self.processes is not None:
            return max(1, min(self.processes, profiles))
        return max(1, min(usable_cpus(), profiles // PROFILES_PER_PROCESS))

    def lock_path(self) -> Path | None:
        """The lock file: ``--lock``, else beside the history database, else none."""
        if self.lock:
            return Path(self.lock)
        if self.history:
            return Path(self.history + ".lock")
        return None


_GLOB = re.compile(r"[*?\[]")


def expand_profiles(args: Sequence[str]) -> list[Path]:
    """Profile files from ``args``: files, folders (their ``*.toml``) and globs.

    Globs are expanded here because Windows' shell (and Task Scheduler) leaves
    ``profiles\\*.toml`` to the program. Duplicates are dropped; order is kept.
    """
    found: dict[Path, None] = {}
    for arg in args:
        path = Path(arg)
        if path.is_dir():
            items = sorted(p for p in path.glob("*.toml") if p.is_file())
            if not items:
                raise AuditError(f"{arg}: no *.toml profiles in this folder — put the "
                                 "customers' profiles there, or name the files")
        elif path.exists() or not _GLOB.search(arg):
            items = [path]  # a missing file becomes that profile's one-line error
        else:
            items = [Path(p) for p in sorted(glob.glob(arg)) if Path(p).is_file()]
            if not items:
                raise AuditError(f"{arg}: matches no profile — check the pattern")
        found.update(dict.fromkeys(items))
    if not found:
        raise AuditError("no profiles to audit — name profile files or a folder of them")
    return list(found)


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


def _start_one(index: int, path: Path, options: AuditOptions, checks: Sequence[Check],
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


def _slowest_first(paths: list[Path], history: Recorder) -> list[tuple[int, Path]]:
    """The profiles (with their places in the report) in the order to start them: those
    that took longest last time first, since a silent host costs its whole timeout and
    one started last ends the audit late; profiles never recorded before the others
    (they may be slow), and otherwise the order given. The report keeps the given order."""
    # a few nights' worth: every profile of the last audits, whatever else was recorded
    took = history.use(lambda db: db.durations(newest=4 * len(paths) + 100), {})
    jobs = list(enumerate(paths))
    if took:
        jobs.sort(key=lambda job: -took.get(job[1].name, math.inf))
    return jobs


class _Pool:
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
            return _start_one(index, path, options, checks, services, workers, planners,
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
        _Pool(options.profiles_at_once, jobs, work, done, stop, all_started)

    def close(self, complete: bool) -> None:
        """Let the threads go: waited for when every profile finished, else stopped."""
        for threads in (self.workers, self.planners):
            if complete:
                threads.close()
            else:
                threads.stop()
        self.connector.close()


def run_audit(paths: Sequence[Path], options: AuditOptions, *,
              checks: Sequence[Check] | None = None,
              services: Callable[[Profile], dict[str, Any]] | None = None,
              on_progress: Callable[[int, int, AuditEntry], None] | None = None,
              on_run: Callable[[int, AuditEntry], None] | None = None,
              on_started: Callable[[], None] | None = None,
              ) -> AuditReport:
    """Audit every profile in ``paths``; see the module docstring.

    Raises :class:`~accessready.agent.app.lock.LockBusy` when another audit holds the lock and
    :class:`~accessready.agent.app.history.HistoryError` for a history file that is not one
    (another SQLite file, a newer schema, a path that cannot be opened). A damaged history,
    or one that fails while the audit records, does not stop the audit: it goes on without
    it and the report carries the error (``history_error``).
    ``checks`` and ``services`` replace the registry and the shared services (tests).
    ``on_run(index, entry)`` is called in a worker thread as each profile's run ends
    (``entry`` without history yet); it must not raise. ``on_started()`` is called once,
    in a worker thread, when every profile has been started (or could not be).
    """
    lock_path = options.lock_path()
    if options.history:
        # before the lock beside it: a folder that does not exist is refused, never made
        try:
            check_path(options.history)
        except HistoryUnusable:
            # the audit goes on without it, and says so; nothing is created beside a
            # device or a link (no /dev/null.lock), unless --lock names the lock itself
            if not options.lock:
                lock_path = None
    lock = RunLock(lock_path) if lock_path is not None else None
    if lock is not None:
        lock.acquire()
    try:
        return _audit(list(paths), options, checks, services, on_progress, on_run,
                      on_started)
    finally:
        if lock is not None:
            lock.release()


def _audit(paths: list[Path], options: AuditOptions, checks: Sequence[Check] | None,
           services: Callable[[Profile], dict[str, Any]] | None,
           on_progress: Callable[[int, int, AuditEntry], None] | None,
           on_run: Callable[[int, AuditEntry], None] | None,
           on_started: Callable[[], None] | None) -> AuditReport:
    started_wall = dt.datetime.now(dt.UTC)
    started = time.monotonic()
    history = Recorder(options.history)
    entries: dict[int, AuditEntry] = {}
    interrupted = False
    audit_id = None
    pruned = None
    try:
        recording = Recording(options.vantage, options.trend_length)
        audit_id = history.use(lambda db: db.begin_audit(
            len(paths), where_from().get("hostname", "")), None)
        done: queue.SimpleQueue[Finished] = queue.SimpleQueue()
        stop = threading.Event()

        def deliver(finished: Finished) -> None:
            try:
                if on_run is not None and finished.run is not None:
                    on_run(finished.index, AuditEntry(
                        profile=finished.path, customer=finished.customer, run=finished.run))
            finally:  # the main thread waits for every entry
                done.put(finished)

        jobs = _slowest_first(paths, history)
        count = options.processes_for(len(paths)) if checks is None and services is None \
            else 1  # a test's checks and services live in this process only
        source: Any = None
        if count > 1:
            from accessready.agent.app.audit_processes import Processes

            source = Processes.start(jobs, options, count, deliver, done, stop, on_started)
        if source is None:  # one process, or no other could be started
            source = Local(jobs, options, checks if checks is not None else
                           load_registry().checks, services,
                           deliver, done, stop, on_started)
        try:
            while len(entries) < len(paths):
                try:  # a timeout, so Ctrl-C is seen even while every run is busy
                    batch = [done.get(timeout=0.5)]
                except queue.Empty:
                    continue
                while True:  # and the runs that finished meanwhile
                    try:
                        batch.append(done.get_nowait())
                    except queue.Empty:
                        break
                # One transaction for the batch: Ctrl-C while it is written loses its runs
                # together (rolled back, reported "not run"), which is the price of one
                # sync to disk instead of one per run; the runs before it stay recorded.
                recorded = history.use(
                    lambda db, done=batch: record_batch(done, db, audit_id, recording), None)
                for n, finished in enumerate(batch):
                    # no history, or it just failed: that batch is not in it
                    entry = recorded[n] if recorded is not None else \
                        record_one(finished, None, audit_id, recording)
                    entries[finished.index] = entry
                    if on_progress is not None:
                        on_progress(len(entries), len(paths), entry)
        except KeyboardInterrupt:
            interrupted = True
        finally:  # whatever ended the loop, no thread is left waiting on these
            stop.set()
            source.close(complete=not interrupted and len(entries) == len(paths))
        if audit_id is not None:
            history.use(lambda db: db.finish_audit(
                audit_id, "interrupted" if interrupted else "finished"), None)
            if options.keep_days is not None and not interrupted:
                cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=options.keep_days)
                stats = history.use(lambda db: db.prune(cutoff), None)
                if stats is not None:
                    pruned = {"before": cutoff.isoformat(timespec="seconds"),
                              "runs": stats.runs, "results": stats.results,
                              "remaining": stats.remaining}
    finally:
        history.close()
    for index, path in enumerate(paths):
        if index not in entries:  # only after an interruption
            entries[index] = AuditEntry(profile=str(path), customer=guess_customer(path),
                                        error="not run: the audit was interrupted")
    return AuditReport(
        started_at=started_wall.isoformat(timespec="seconds"),
        finished_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        duration_s=time.monotonic() - started,
        entries=tuple(entries[i] for i in range(len(paths))),
        interrupted=interrupted,
        history=options.history,
        audit_id=audit_id,
        tool_version=__version__,
        lang=options.lang,
        host=where_from(),
        pruned=pruned,
        history_error=history.error,
    )

