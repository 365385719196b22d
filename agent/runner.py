"""Running checks: planning, a bounded set of workers, per-check deadlines, stable order.

Each (check, target) pair is a job. At most ``concurrency`` jobs run at once, each on its
own daemon thread with a deadline counted from its start (time spent waiting for a worker
does not count). A job still running a short grace after its deadline (:func:`overdue_grace`)
is reported as ``error`` and its slot is given to the next job; the stuck thread is
abandoned (it is a daemon, and every network call in a check has a timeout below the
deadline, so it ends soon after). Results come back in plan order, whatever finished first.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from accessready.agent.checkapi import (
    Check,
    CheckContext,
    DeadlineExceeded,
    Target,
    password_unavailable,
)
from accessready.agent.model import Result, Status, Text, Vantage, t
from accessready.agent.profile_types import Profile
from accessready.agent.secrets import REDACTOR

log = logging.getLogger("accessready.runner")


@dataclass(frozen=True)
class RunOptions:
    """How to run: deadlines, concurrency, filters."""

    timeout: float = 10.0
    concurrency: int = 32
    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    accept_new_host_keys: bool = False  # SSH: add unknown host keys to known_hosts
    vantage: Vantage = Vantage.ENGINEER  # where the run looks from: which checks apply


@dataclass(frozen=True)
class Job:
    """One check on one target."""

    index: int
    check: Check
    target: Target


@dataclass
class Progress:
    """What the terminal's live line shows."""

    total: int
    done: int = 0
    running: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def _matches(check_id: str, globs: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(check_id, g) for g in globs)


def _skip(check: Check, target: str, summary_en: str, summary_sv: str,
          reason: str) -> Result:
    return check.result(target, Status.SKIP, t(summary_en, summary_sv), {"reason": reason})


def plan(checks: Sequence[Check], profile: Profile,
         options: RunOptions) -> list[Job | Result]:
    """Every job to run, and a skip result in place of each check that will not run."""
    items: list[Job | Result] = []
    for check in checks:
        if options.only and not _matches(check.id, options.only):
            items.append(_skip(check, "-", "Not selected (--only).", "Ej vald (--only).",
                               "filtered"))
            continue
        if _matches(check.id, options.skip):
            items.append(_skip(check, "-", "Skipped on request (--skip).",
                               "Hoppades över på begäran (--skip).", "filtered"))
            continue
        try:
            elsewhere = check.not_from(options.vantage)
            if elsewhere is not None:
                items.append(check.result("-", Status.SKIP, elsewhere, {
                    "reason": "vantage", "vantage": options.vantage.value,
                    "applies_from": sorted(v.value for v in check.vantages)}))
                continue
            why_not = check.applies(profile)
            targets = check.targets(profile) if why_not is None else []
        except Exception as exc:  # a broken plugin must not take the run down
            log.debug("check %s failed to plan", check.id, exc_info=True)
            items.append(check.result("-", Status.ERROR, t(
                f"The check could not start: {type(exc).__name__}: {exc}",
                f"Kontrollen kunde inte starta: {type(exc).__name__}: {exc}"),
                {"reason": "crash", "exception": type(exc).__name__}, fix="error"))
            continue
        if why_not is not None:
            items.append(check.result("-", Status.SKIP, why_not, {"reason": "not_applicable"}))
            continue
        if not targets:
            items.append(_skip(check, "-", "Nothing to check in this profile.",
                               "Inget att kontrollera i denna profil.", "no_targets"))
        for target in targets:
            items.append(Job(len(items), check, target))
    return items


def _normalise(job: Job, produced: Result | Iterable[Result] | None) -> list[Result]:
    if produced is None:
        raise TypeError(f"{job.check.id} returned nothing")
    results = [produced] if isinstance(produced, Result) else list(produced)
    if not results:
        raise TypeError(f"{job.check.id} returned no result")
    if not all(isinstance(r, Result) for r in results):
        raise TypeError(f"{job.check.id} returned something that is not a Result")
    return results


def _error(job: Job, en: str, sv: str, details: dict[str, Any]) -> Result:
    return job.check.result(job.target, Status.ERROR, t(en, sv), details, fix="error")


def _masked(text: Text) -> Text:
    return Text(en=REDACTOR.text(text.en), sv=REDACTOR.text(text.sv))


def _clean(result: Result, duration: float) -> Result:
    """Mask secrets in everything a result carries and record its duration."""
    return dataclasses.replace(
        result,
        target=REDACTOR.text(result.target),
        summary=_masked(result.summary),
        details=REDACTOR.data(result.details),
        remediation=_masked(result.remediation) if result.remediation is not None else None,
        duration_s=result.duration_s or duration,
    )


class ContextFactory:
    """Builds each job's :class:`CheckContext`: the profile, shared services, the password."""

    def __init__(self, profile: Profile, services: dict[str, Any] | None = None,
                 password: Any = None, password_problem: Text | None = None,
                 self_check: bool = False, vantage: Vantage = Vantage.ENGINEER) -> None:
        self.profile = profile
        self.services = services or {}
        self.password = password
        self.password_problem = password_problem
        self.self_check = self_check
        self.vantage = vantage

    def __call__(self, deadline: float) -> CheckContext:
        return CheckContext(profile=self.profile, deadline=deadline, services=self.services,
                            password=self.password, password_problem=self.password_problem,
                            vantage=self.vantage)


def _precheck(job: Job, make_context: ContextFactory) -> Result | None:
    """A result without running the job when what it needs is missing."""
    if "password" in job.check.target_needs(job.target):
        if make_context.self_check:
            return job.check.result(job.target, Status.SKIP, t(
                "Needs the support account's password; a self-check never uses it.",
                "Kräver supportkontots lösenord; en egenkontroll använder det aldrig."),
                {"reason": "no_password", "self_check": True})
        if make_context.profile.account.password is None:
            # Not a self-check: an untested login must not look like a passed one.
            return job.check.result(job.target, Status.ERROR, t(
                "Needs the support account's password, and the profile names none: add "
                "[account] password = { env = \"…\" } (or run with --self-check).",
                "Kräver supportkontots lösenord, och profilen anger inget: lägg till "
                "[account] password = { env = \"…\" } (eller kör med --self-check)."),
                {"reason": "no_password"}, fix="password")
        if make_context.password is None:
            return job.check.result(
                job.target, Status.ERROR, password_unavailable(make_context.password_problem),
                {"reason": "password_unavailable"}, fix="password")
    return None


def run_job(job: Job, make_context: ContextFactory, timeout: float) -> list[Result]:
    """Run one job to completion in this thread (the runner calls this on a worker).

    Never raises: whatever a plugin does wrong becomes an ``error`` result at once.
    """
    started = time.monotonic()
    try:
        ready = _precheck(job, make_context)
        if ready is not None:
            results = [ready]
        else:
            results = _normalise(job, job.check.run(make_context(started + timeout),
                                                    job.target))
    except DeadlineExceeded:
        results = [_error(job, f"Ran out of time ({timeout:g} s).",
                          f"Tiden tog slut ({timeout:g} s).", {"reason": "timeout"})]
    except Exception as exc:
        log.debug("check %s crashed on %s", job.check.id, job.target.name, exc_info=True)
        results = [_error(job, f"The check failed unexpectedly: {type(exc).__name__}: {exc}",
                          f"Kontrollen misslyckades oväntat: {type(exc).__name__}: {exc}",
                          {"reason": "crash", "exception": type(exc).__name__})]
    duration = time.monotonic() - started
    try:
        return [_clean(r, duration) for r in results]
    except Exception as exc:  # a malformed result object from a plugin
        return [_clean(_error(job, f"The check returned something unusable: "
                              f"{type(exc).__name__}", f"Kontrollen returnerade något "
                              f"oanvändbart: {type(exc).__name__}",
                              {"reason": "crash", "exception": type(exc).__name__}), duration)]


def overdue_grace(timeout: float) -> float:
    """How long past its deadline a job may take before the runner gives up on it.

    A check's network timeouts end at its deadline; what follows — classifying the
    outcome, building the result, waiting for the CPU on a busy machine — is ours. Without
    this grace a silent target that timed out on time would still be reported as the
    runner's "did not finish" error (could not decide) instead of the check's own
    ``fail: timeout`` (the target's fault), and turn a "not ready" into "unknown".
    """
    return min(3.0, max(0.5, 0.2 * timeout))


class Interrupted(Exception):
    """The run was stopped (Ctrl-C); ``results`` holds what had finished."""

    def __init__(self, results: list[Result]) -> None:
        super().__init__("interrupted")
        self.results = results


def execute(items: list[Job | Result], make_context: ContextFactory, options: RunOptions,
            on_progress: Callable[[Progress], None] | None = None) -> list[Result]:
    """Run the jobs in ``items``; return every result in plan order.

    ``options.concurrency`` worker threads take jobs from a queue. When a job overruns its
    deadline the main thread records an error for it and starts a replacement worker, so
    the stuck thread no longer holds a slot; it exits once its job returns.

    Raises :class:`Interrupted` (carrying the finished results, and a skip for each job
    that did not finish) when the main thread is interrupted.
    """
    jobs = [i for i in items if isinstance(i, Job)]
    finished: dict[int, list[Result]] = {}
    running: dict[int, tuple[Job, float]] = {}
    pending = deque(jobs)
    cond = threading.Condition()
    progress = Progress(total=len(jobs))

    def worker() -> None:
        while True:
            with cond:
                if not pending:
                    return
                job = pending.popleft()
                running[job.index] = (job, time.monotonic() + options.timeout
                                      + overdue_grace(options.timeout))
            results = run_job(job, make_context, options.timeout)
            with cond:
                if job.index not in running:  # reported as overdue; a replacement took over
                    return
                del running[job.index]
                finished[job.index] = results
                cond.notify()

    def start_worker() -> None:
        threading.Thread(target=worker, daemon=True, name="accessready-check").start()

    def report() -> None:
        if on_progress is not None:
            progress.done = len(finished)
            progress.running = [f"{j.check.id}[{j.target.name}]" for j, _ in running.values()]
            on_progress(progress)

    try:
        for _ in range(min(options.concurrency, len(jobs))):
            start_worker()
        with cond:
            while len(finished) < len(jobs):
                report()
                deadlines = [deadline for _, deadline in running.values()]
                wait = min(deadlines) - time.monotonic() + 0.005 if deadlines else 0.05
                cond.wait(timeout=min(max(wait, 0.0), 0.25))
                now = time.monotonic()
                for index, (job, deadline) in list(running.items()):
                    if now >= deadline:
                        del running[index]
                        finished[index] = [_clean(_error(
                            job, f"Did not finish within its deadline ({options.timeout:g} s).",
                            f"Blev inte klar inom tidsgränsen ({options.timeout:g} s).",
                            {"reason": "deadline", "timeout_s": options.timeout}),
                            options.timeout)]
                        if pending:
                            start_worker()
            report()
    except KeyboardInterrupt:
        with cond:
            pending.clear()  # workers stop taking jobs
            done = dict(finished)
        raise Interrupted(_collect(items, done, interrupted=True)) from None
    return _collect(items, finished, interrupted=False)


def _collect(items: list[Job | Result], finished: dict[int, list[Result]],
             interrupted: bool) -> list[Result]:
    out: list[Result] = []
    for item in items:
        if isinstance(item, Result):
            out.append(item)
        elif item.index in finished:
            out.extend(finished[item.index])
        elif interrupted:
            out.append(_skip(item.check, item.target.name, "Not run: the run was interrupted.",
                             "Kördes inte: körningen avbröts.", "interrupted"))
    return out
