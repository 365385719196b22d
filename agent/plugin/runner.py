"""Running checks: planning, a bounded set of workers, per-check deadlines, stable order.

Each (check, target) pair is a job. At most ``concurrency`` jobs run at once, each on a
daemon worker thread with a deadline counted from its start (time spent waiting for a
worker does not count). A job still running a short grace after its deadline
(:func:`overdue_grace`) gives its slot to the next job; its own result still counts until
the runner's patience (:func:`overdue_patience`) runs out, and only then is it reported
as ``error`` and its thread abandoned (a daemon: every network call in a check has a
timeout below the deadline, so it ends soon after). Results come back in plan order,
whatever finished first.

Plugin code is third-party code, and it is contained: ``applies``, ``targets``,
``target_needs`` and ``run`` all run on worker threads under the deadline, never on the
main thread; what they print is captured into the check's evidence
(:mod:`accessready.agent.plugin.capture`); anything they raise — ``SystemExit`` and
``KeyboardInterrupt`` included, which on a worker thread can only come from the plugin
(signals reach the main thread) — is an ``error`` of that check; a result must be plain
data JSON can hold, without NaN, or it becomes an ``error`` naming the bad evidence.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from accessready.agent.core.model import Result, Status, Text, Vantage, t
from accessready.agent.core.profile_spec import DEFAULTS
from accessready.agent.core.profile_types import Profile
from accessready.agent.io.connector import Connector
from accessready.agent.io.net import Opened, opened_ahead
from accessready.agent.plugin.ahead import Ahead
from accessready.agent.plugin.capture import Printed, capturing
from accessready.agent.plugin.checkapi import (
    Check,
    CheckContext,
    Contact,
    DeadlineExceeded,
    Target,
    password_unavailable,
)
from accessready.agent.plugin.pool import Batch, Stopped, Workers, pool, submit
from accessready.agent.plugin.results import Unusable, clean, sanitise

log = logging.getLogger("accessready.runner")


@dataclass(frozen=True)
class RunOptions:
    """How to run: deadlines, concurrency, filters."""

    timeout: float = float(DEFAULTS["checks.timeout"])
    concurrency: int = DEFAULTS["checks.concurrency"]
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
    needs: tuple[str, ...] = ()  # the check's target_needs(target), asked while planning
    printed: Printed = field(default_factory=Printed)  # what it printed while planning
    contacts: tuple[Contact, ...] = ()  # its first_contact(target), asked while planning


@dataclass
class Progress:
    """What the terminal's live line shows."""

    total: int
    done: int = 0
    running: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def _matches(check_id: str, globs: Sequence[str]) -> bool:
    return bool(globs) and _globs(tuple(globs)).match(check_id) is not None


@functools.lru_cache(maxsize=64)
def _globs(globs: tuple[str, ...]) -> re.Pattern[str]:
    """``globs`` as one pattern (an audit asks it for every check of every profile)."""
    return re.compile("|".join(f"(?:{fnmatch.translate(g)})" for g in globs))


def _skip(check: Check, target: str, summary_en: str, summary_sv: str,
          reason: str) -> Result:
    # Check.result, not check.result: results the runner makes run no plugin code
    return Check.result(check, target, Status.SKIP, t(summary_en, summary_sv),
                        {"reason": reason})


def _error(job: Job | Check, en: str, sv: str, details: dict[str, Any]) -> Result:
    """An ``error`` of ``job`` (or of a whole check, target "-", when it could not plan)."""
    check = job.check if isinstance(job, Job) else job
    where = job.target if isinstance(job, Job) else "-"
    return Check.result(check, where, Status.ERROR, t(en, sv), details, fix="error")


def _from_plugin(exc: BaseException) -> bool:
    """Whether ``exc`` came from plugin code, not from the user's Ctrl-C.

    Python delivers signals to the main thread only, so on a worker thread even a
    ``KeyboardInterrupt`` was raised by the plugin itself.
    """
    return not (isinstance(exc, KeyboardInterrupt)
                and threading.current_thread() is threading.main_thread())


def _exc_words(exc: BaseException) -> str:
    try:
        text = str(exc)
    except Exception:  # a plugin's exception whose __str__ itself fails
        text = ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# A crash or an unusable result is a fault of the check's code, not of what it checked:
# "run again with a larger --timeout" would send the reader the wrong way.
_FAULTY_CHECK = t(
    "This is a fault in the check itself, not in what it checked. Update accessready, or the "
    "plugin that provides the check (`accessready checks` lists them), or send the evidence "
    "to its author.",
    "Felet sitter i själva kontrollen, inte i det den kontrollerade. Uppdatera accessready, "
    "eller tillägget som ger kontrollen (`accessready checks` listar dem), eller skicka "
    "underlaget till dess upphovsperson.")


def _faulty(result: Result) -> Result:
    return dataclasses.replace(result, remediation=_FAULTY_CHECK)


def _crash(job: Job | Check, exc: BaseException, en: str, sv: str) -> Result:
    """The ``error`` result for plugin code that raised ``exc`` (``en``/``sv``: what it was
    doing, e.g. "could not start")."""
    if isinstance(exc, SystemExit | KeyboardInterrupt):
        words = (f"The check tried to stop the program ({_exc_words(exc)}); a check must "
                 "return results instead.",
                 f"Kontrollen försökte avsluta programmet ({_exc_words(exc)}); en kontroll "
                 "ska returnera resultat i stället.")
    else:
        words = (f"The check {en}: {_exc_words(exc)}", f"Kontrollen {sv}: {_exc_words(exc)}")
    return _faulty(_error(job, *words, {"reason": "crash", "exception": type(exc).__name__}))


@dataclass(frozen=True)
class _Planned:
    """What planning one check found: why it does not apply, or its targets (with what
    each needs), or the error it ran into; and what it printed meanwhile."""

    why_not: Text | None = None
    targets: tuple[tuple[Target, tuple[str, ...], Contact | None], ...] = ()
    failure: Result | None = None
    printed: Printed = field(default_factory=Printed)


def _contacts(named: object) -> tuple[Contact, ...]:
    """What ``first_contact`` named, as a tuple (one per host and port, the first kept)."""
    if named is None:
        return ()
    listed = named if isinstance(named, tuple) else (named,)
    if not all(isinstance(c, Contact) and isinstance(c.host, str) and isinstance(c.port, int)
               for c in listed):
        raise TypeError("first_contact() returned something that is not a Contact")
    kept: dict[tuple[str, int], Contact] = {}
    for contact in listed:
        kept.setdefault((contact.host, contact.port), contact)
    return tuple(kept.values())


def _plan_check(check: Check, profile: Profile) -> _Planned:
    """Ask ``check`` whether it applies, its targets and their needs (on a worker)."""
    with capturing() as sink:
        try:
            why_not = check.applies(profile)
            if why_not is not None and not isinstance(why_not, Text):
                raise TypeError("applies() returned neither None nor a Text")
            targets = []
            for target in (check.targets(profile) if why_not is None else ()):
                if not (isinstance(target, Target) and isinstance(target.name, str)):
                    raise TypeError("targets() listed something that is not a Target")
                needs = tuple(check.target_needs(target))
                if not all(isinstance(n, str) for n in needs):
                    raise TypeError("target_needs() returned something that is not text")
                targets.append((target, needs, _contacts(check.first_contact(target))))
            planned = _Planned(why_not, tuple(targets))
        except BaseException as exc:
            if not _from_plugin(exc):
                raise
            log.debug("check %s failed to plan", check.id, exc_info=True)
            planned = _Planned(failure=_crash(check, exc, "could not start",
                                              "kunde inte starta"))
    return dataclasses.replace(planned, printed=sink.printed())


def _built_in(check: Check) -> bool:
    """Whether ``check`` is one of accessready's own (not a plugin's)."""
    return type(check).__module__.startswith("accessready.checks.")


# Planning is quick (a hang is the exception, and an overdue planner is replaced at once):
# a few threads, not one per check, keep its cost near what it was on the main thread.
_PLANNERS = 4


def plan(checks: Sequence[Check], profile: Profile, options: RunOptions,
         workers: Workers | None = None) -> list[Job | Result]:
    """Every job to run, and a skip result in place of each check that will not run.

    Each check's ``applies``/``targets`` run on a worker thread under the check's deadline
    (``options.timeout``), a few at once — on ``workers`` when given, ahead of the checks
    queued there. Raises
    :class:`Interrupted` (every check a skip or what planning found) on Ctrl-C.
    """
    slots: list[Check | Result] = []
    for check in checks:
        if options.only and not _matches(check.id, options.only):
            slots.append(_skip(check, "-", "Not selected (--only).", "Ej vald (--only).",
                               "filtered"))
        elif _matches(check.id, options.skip):
            slots.append(_skip(check, "-", "Skipped on request (--skip).",
                               "Hoppades över på begäran (--skip).", "filtered"))
        elif (elsewhere := Check.not_from(check, options.vantage)) is not None:
            slots.append(Check.result(check, "-", Status.SKIP, elsewhere, {
                "reason": "vantage", "vantage": options.vantage.value,
                "applies_from": sorted(v.value for v in check.vantages)}))
        else:
            slots.append(check)
    chosen = [c for c in slots if isinstance(c, Check)]

    def overdue(i: int) -> _Planned:
        return _Planned(failure=_error(
            chosen[i], f"Did not decide what to check within its deadline "
            f"({options.timeout:g} s).",
            f"Kom inte fram till vad som skulle kontrolleras inom tidsgränsen "
            f"({options.timeout:g} s).", {"reason": "deadline", "timeout_s": options.timeout}))

    interrupted = False
    # accessready's own checks decide from the profile alone, at once: planned here. A
    # plugin's are third-party code, planned on worker threads under the deadline.
    planned = {i: _plan_check(c, profile) for i, c in enumerate(chosen) if _built_in(c)}
    contained = [i for i in range(len(chosen)) if i not in planned]
    try:
        found = pool(len(contained), lambda n: _plan_check(chosen[contained[n]], profile),
                     lambda n: overdue(contained[n]), min(options.concurrency, _PLANNERS),
                     options.timeout, grace=overdue_grace(options.timeout),
                     patience=overdue_patience(options.timeout), workers=workers,
                     urgent=True) if contained else {}
    except Stopped as stop:
        found, interrupted = stop.done, True
    planned.update({contained[n]: p for n, p in found.items()})
    by_check = {id(c): planned.get(i, _Planned(failure=_skip(
        c, "-", "Not run: the run was interrupted.", "Kördes inte: körningen avbröts.",
        "interrupted"))) for i, c in enumerate(chosen)}
    items: list[Job | Result] = []
    for slot in slots:
        if isinstance(slot, Result):
            items.append(slot)
            continue
        found = by_check[id(slot)]
        extra = {"printed": found.printed.evidence()} if found.printed else {}
        if found.failure is not None:
            items.append(_with_details(found.failure, extra))
        elif found.why_not is not None:
            items.append(Check.result(slot, "-", Status.SKIP, found.why_not,
                                      {"reason": "not_applicable", **extra}))
        elif not found.targets:
            items.append(_with_details(_skip(
                slot, "-", "Nothing to check in this profile.",
                "Inget att kontrollera i denna profil.", "no_targets"), extra))
        for target, needs, contacts in found.targets:
            items.append(Job(len(items), slot, target, needs, found.printed, contacts))
    if interrupted:
        raise Interrupted(_collect(items, {}, interrupted=True))
    return items


def _with_details(result: Result, extra: dict[str, Any]) -> Result:
    return dataclasses.replace(result, details={**result.details, **extra}) if extra else result


def _normalise(job: Job, produced: Result | Iterable[Result] | None) -> list[Result]:
    if produced is None:
        raise TypeError(f"{job.check.id} returned nothing")
    results = [produced] if isinstance(produced, Result) else list(produced)
    if not results:
        raise TypeError(f"{job.check.id} returned no result")
    if not all(isinstance(r, Result) for r in results):
        raise TypeError(f"{job.check.id} returned something that is not a Result")
    return results


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


def _runs(make_context: ContextFactory) -> Callable[[Job], bool]:
    """Whether a job will run (its first connections are opened ahead only then). What a
    plugin's ``result`` raises here is the pool's to contain (``submit``'s ``prepare``):
    the job then runs, and ``run_job`` makes it that check's error."""
    return lambda job: _precheck(job, make_context) is None


def _precheck(job: Job, make_context: ContextFactory) -> Result | None:
    """A result without running the job when what it needs is missing."""
    if "password" in job.needs:
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


def run_job(job: Job, make_context: ContextFactory, timeout: float,
            opened: Sequence[Opened] = ()) -> list[Result]:
    """Run one job to completion on this worker thread (never the main thread: a
    ``KeyboardInterrupt`` here is taken as the plugin's).

    ``opened``: its first connections, opened ahead (:func:`start`), which the check's own
    connects take (or whose failures they get); the deadline starts when this thread does.

    Never raises: whatever a plugin does wrong becomes an ``error`` result at once, and
    what it prints goes into its evidence.
    """
    started = time.monotonic()
    spent = max((o.connect_ms for o in opened), default=0.0) / 1000  # opened side by side
    # The deadline starts now, whole, also after a connection opened ahead: what that
    # took is not taken off, since the measure includes our own delays (the connector's
    # thread waiting for the CPU), and a target must never be cut short by our slowness.
    # A check whose connect failed reports that at once; one that connected has its
    # whole time for the rest, as if it had just connected.
    left = timeout
    with capturing() as sink, opened_ahead(opened):
        try:
            ready = _precheck(job, make_context)
            if ready is not None:  # check.result may be the plugin's own
                results = [sanitise(job.check, ready)]
            else:
                produced = job.check.run(make_context(started + left), job.target)
                results = [sanitise(job.check, r) for r in _normalise(job, produced)]
        except DeadlineExceeded:
            results = [_error(job, f"Ran out of time ({timeout:g} s).",
                              f"Tiden tog slut ({timeout:g} s).", {"reason": "timeout"})]
        except Unusable as bad:
            results = [_faulty(_error(
                job, f"The check returned a result that cannot be kept: {bad.en}.",
                f"Kontrollen returnerade ett resultat som inte kan sparas: {bad.sv}.",
                {"reason": "bad_result"}))]
        except BaseException as exc:
            if not _from_plugin(exc):
                raise
            log.debug("check %s crashed on %s", job.check.id, job.target.name, exc_info=True)
            results = [_crash(job, exc, "failed unexpectedly", "misslyckades oväntat")]
    printed = job.printed + sink.printed()
    extra = {"printed": printed.evidence()} if printed else {}
    duration = spent + time.monotonic() - started
    return [clean(_with_details(r, extra), duration) for r in results]


def _runner(make_context: ContextFactory
            ) -> Callable[[Job, float, Sequence[Opened]], list[Result]]:
    return lambda job, timeout, opened: run_job(job, make_context, timeout, opened)


def overdue_grace(timeout: float) -> float:
    """How long past its deadline a job may take before the runner gives up on it.

    A check's network timeouts end at its deadline; what follows — classifying the
    outcome, building the result, waiting for the CPU on a busy machine — is ours. Without
    this grace a silent target that timed out on time would still be reported as the
    runner's "did not finish" error (could not decide) instead of the check's own
    ``fail: timeout`` (the target's fault), and turn a "not ready" into "unknown".
    """
    return min(3.0, max(0.5, 0.2 * timeout))


def overdue_patience(timeout: float) -> float:
    """How long past its deadline a job's own result still counts (its slot went to the
    next job at :func:`overdue_grace`): as long again as the deadline, within 2–30 s. A
    machine so busy that a check which timed out on time cannot build its result within
    that is not a machine whose timeouts say anything about the target; a check that
    ignores its deadline costs its run this much, but no worker."""
    return max(overdue_grace(timeout), min(30.0, max(2.0, timeout)))


class Interrupted(Exception):
    """The run was stopped (Ctrl-C); ``results`` holds what had finished."""

    def __init__(self, results: list[Result]) -> None:
        super().__init__("interrupted")
        self.results = results


def _overdue_job(job: Job, options: RunOptions) -> list[Result]:
    return [clean(_error(
        job, f"Did not finish within its deadline ({options.timeout:g} s).",
        f"Blev inte klar inom tidsgränsen ({options.timeout:g} s).",
        {"reason": "deadline", "timeout_s": options.timeout}), options.timeout)]


def start(items: list[Job | Result], make_context: ContextFactory, options: RunOptions,
          workers: Workers, on_done: Callable[[list[Result]], None],
          connector: Connector | None = None) -> Batch:
    """Hand the jobs in ``items`` to ``workers`` and return at once; ``on_done`` hears
    every result in plan order, on a worker thread, when the last job ends (at most
    ``options.concurrency`` of them run at the same time). Nothing waits meanwhile: an
    audit's profile does not hold a thread while its checks wait on the network, and a
    job that names its first connection (``first_contact``) waits for it on
    ``connector``, not on a thread."""
    jobs = [i for i in items if isinstance(i, Job)]
    ahead = Ahead(jobs, connector, options.timeout, make_context.services,
                  _runs(make_context))

    def finished(done: dict[int, list[Result]]) -> None:
        on_done(_collect(items, {jobs[i].index: r for i, r in done.items()},
                         interrupted=False))

    return submit(workers, len(jobs), ahead.work(_runner(make_context)),
                  lambda i: _overdue_job(jobs[i], options), options.timeout,
                  grace=overdue_grace(options.timeout),
                  patience=overdue_patience(options.timeout), at_once=options.concurrency,
                  on_done=finished, prepare=ahead.prepare)


def execute(items: list[Job | Result], make_context: ContextFactory, options: RunOptions,
            on_progress: Callable[[Progress], None] | None = None,
            workers: Workers | None = None,
            connector: Connector | None = None) -> list[Result]:
    """Run the jobs in ``items``; return every result in plan order.

    At most ``options.concurrency`` jobs run at once, on ``workers`` when given (shared
    with other runs) or on threads of their own; a job still running at its deadline is an
    ``error`` and its slot goes to the next job. Jobs that name their first connection
    wait for it on ``connector`` (by default one of the run's own) before they get a
    thread.

    Raises :class:`Interrupted` (carrying the finished results, and a skip for each job
    that did not finish) when the main thread is interrupted.
    """
    jobs = [i for i in items if isinstance(i, Job)]
    progress = Progress(total=len(jobs))

    def tick(done: int, running: list[int]) -> None:
        if on_progress is not None:
            progress.done = done
            progress.running = [f"{jobs[i].check.id}[{jobs[i].target.name}]"
                                for i in running]
            on_progress(progress)

    own = connector is None and any(j.contacts for j in jobs)
    if own:
        connector = Connector()
    ahead = Ahead(jobs, connector, options.timeout, make_context.services,
                  _runs(make_context))
    try:
        finished = pool(len(jobs), ahead.work(_runner(make_context)),
                        lambda i: _overdue_job(jobs[i], options), options.concurrency,
                        options.timeout, tick, grace=overdue_grace(options.timeout),
                        patience=overdue_patience(options.timeout), workers=workers,
                        prepare=ahead.prepare)
    except Stopped as stop:
        done = {jobs[i].index: results for i, results in stop.done.items()}
        raise Interrupted(_collect(items, done, interrupted=True)) from None
    finally:
        if own and connector is not None:
            connector.close()
    return _collect(items, {jobs[i].index: r for i, r in finished.items()},
                    interrupted=False)


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
