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
   host costs its whole timeout; started last, it ends the audit late). A large audit deals
   them out to worker processes (``processes``; :mod:`.audit_processes`), each doing
   steps 2 and 3 for its share with its part of the bounds, while this process does the
   rest: the GIL holds one process to one core.
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
import queue
import re
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from accessready import __version__
from accessready.agent.app.audit_local import Local, guess_customer
from accessready.agent.app.audit_processes import Processes
from accessready.agent.app.audit_record import (
    Finished,
    Recorder,
    record_batch,
    record_one,
)
from accessready.agent.app.history import HistoryUnusable
from accessready.agent.app.history_db import check_path
from accessready.agent.app.lock import RunLock
from accessready.agent.app.run import where_from
from accessready.agent.core.audit_types import AuditEntry, AuditOptions, AuditReport
from accessready.agent.core.profile_types import Profile
from accessready.agent.plugin.checkapi import Check
from accessready.agent.plugin.registry import load_registry

log = logging.getLogger("accessready.audit")


class AuditError(Exception):
    """Bad audit input (no profiles, unreadable folder); the text is one line."""


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
        try:  # Ctrl-C while the processes start is an interruption like any other
            if count > 1:
                source = Processes.start(jobs, options, count, deliver, done, stop,
                                         on_started)
            if source is None:  # one process, or no other could be started
                source = Local(jobs, options, checks if checks is not None else
                               load_registry().checks, services,
                               deliver, done, stop, on_started)
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
                    lambda db, done=batch: record_batch(done, db, audit_id, options), None)
                for n, finished in enumerate(batch):
                    # no history, or it just failed: that batch is not in it
                    entry = recorded[n] if recorded is not None else \
                        record_one(finished, None, audit_id, options)
                    entries[finished.index] = entry
                    if on_progress is not None:
                        on_progress(len(entries), len(paths), entry)
        except KeyboardInterrupt:
            interrupted = True
        finally:  # whatever ended the loop, no thread is left waiting on these
            stop.set()
            if source is not None:
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

