"""Prometheus text exposition format, for node_exporter's textfile collector.

Write it atomically into the collector's folder (``--prometheus
/var/lib/node_exporter/textfile/accessready-exempel.prom``); the CLI writes through a
temporary file and a rename, as the collector requires.

Value encoding of ``accessready_check_status`` and ``accessready_requirement_status`` —
one gauge per result, the status as a number, chosen to match the Nagios/exit-code
numbering the rest of the tool uses::

    0 = pass    1 = warn    2 = fail    3 = error (could not decide)    -1 = skip
    -2 = waived (a warn or fail a profile's waiver accepts; the verdict counts it as passed)

The numbers name states, they are not a severity scale: alert with ``== 2`` (fail) or
``> 0`` (anything to look at), not with ``max``. One-hot series per status would multiply
the series count by five for a nightly audit over many customers; counts per status are
there anyway as ``accessready_results``.

Series identity: ``customer``, ``requirement``, ``check``, ``target`` and ``method`` —
the check's method, or for a check without one the method its result's evidence names
(:func:`series_method`), so ``account.login`` on one server is one series per WinRM/SSH.
Results that still share every label (a check reporting one target twice alike) get
``target="x #2"``, ``"x #3"`` in run order, which is the plan's order: stable for a given
profile, so the same series keep the same names from run to run.

``accessready_verdict`` is the exit code (0 ready, 1 ready with warnings, 2 not ready,
3 unknown) — also no severity scale: unknown (3) is not worse than not ready (2), so alert
with ``== 2`` and ``== 3``, not with ``max``. ``accessready_insecure_settings`` counts the
profile's security settings that are turned off (``verify = false``,
``allow_insecure_credentials``): the report's loud notice, as a number to alert on.

Every series carries ``customer`` so several customers' files can sit in one
collector folder. No sample has a timestamp: the textfile collector rejects them; the
run's time is ``accessready_run_timestamp_seconds``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from accessready.agent.core.model import ExitCode, Result, Run, Status, insecure_notes
from accessready.agent.core.textsafe import UniqueNames, clean
from accessready.reports.counts import WAIVED, count_keys, tally

STATUS_VALUE = {Status.PASS: 0, Status.WARN: 1, Status.FAIL: 2, Status.ERROR: 3,
                Status.SKIP: -1}
WAIVED_VALUE = -2
ENCODING = "0=pass 1=warn 2=fail 3=error -1=skip -2=waived (counts as passed)"
VERDICT_HELP = ("The run's verdict as its exit code: 0=ready 1=ready_with_warnings "
                "2=not_ready 3=unknown. Not a severity scale (unknown is not worse than "
                "not_ready): alert with == 2 and == 3, not with max().")
INSECURE_HELP = ("Security settings the profile turned off (verify = false, "
                 "allow_insecure_credentials) that this run used; 0 when none.")
LABEL_LIMIT = 256


def unique_labels() -> UniqueNames:
    """Label values made unique with " #2", " #3", … — inside :data:`LABEL_LIMIT`, so the
    suffix is never cut off (and a real value "x #2" does not collide with a second "x")."""
    return UniqueNames(lambda base, n: f"{clean(base, LABEL_LIMIT - 12)} #{n}")


def escape_label(value: object) -> str:
    """A label value as the exposition format wants it: ``\\``, ``"`` and newline escaped.

    The value is cleaned first (controls and lone surrogates replaced, length bounded), so
    a hostile target name can neither break the line nor the file's UTF-8.
    """
    text = clean(value, LABEL_LIMIT)
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def escape_help(text: str) -> str:
    """HELP text: only backslash and newline are escaped."""
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _labels(pairs: Iterable[tuple[str, object]]) -> str:
    return "{" + ",".join(f'{k}="{escape_label(v)}"' for k, v in pairs) + "}"


def _number(value: float) -> str:
    if value != value:  # NaN
        return "NaN"
    if float(value).is_integer():
        return str(int(value))
    return repr(round(float(value), 6))


class _Family:
    """One metric: HELP, TYPE and its samples, written together as the format requires."""

    def __init__(self, name: str, help_text: str) -> None:
        self.name = name
        self.help = help_text
        self.samples: list[str] = []

    def add(self, labels: Iterable[tuple[str, object]], value: float) -> None:
        self.samples.append(f"{self.name}{_labels(labels)} {_number(value)}")

    def lines(self) -> list[str]:
        if not self.samples:
            return []
        return [f"# HELP {self.name} {escape_help(self.help)}",
                f"# TYPE {self.name} gauge", *self.samples]


def series_method(result: Result) -> str:
    """The ``method`` label of a result's series: the check's own method, else the one the
    result's evidence names (``details["method"]`` or ``details["transport"]``).

    Why: ``account.login`` has no method of its own but reports each server once per
    command method (WinRM, SSH), saying which in ``details["method"]``. Labelled by it, each
    series keeps its identity from run to run, whatever order the results come in; without
    it the two would be told apart only by a "#2" that follows the order.
    """
    if result.method:
        return result.method
    for key in ("method", "transport"):
        value = result.details.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def _epoch(iso: str) -> float | None:
    try:
        stamp = dt.datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    return stamp.timestamp()


def render_text(run: Run) -> str:
    """The exposition text of ``run``."""
    customer = ("customer", run.customer)
    status = _Family("accessready_check_status",
                     f"Result of one check on one target: {ENCODING}.")
    duration = _Family("accessready_check_duration_seconds",
                       "Time one check took on one target.")
    targets: dict[tuple[str, str, str], UniqueNames] = {}
    buckets = count_keys(run)  # a waiver that lifts nothing leaves the failure a failure
    for index, result in enumerate(run.results):
        # one series per result; see series_method and the module docstring for "#2"
        key = (clean(result.check_id, LABEL_LIMIT), result.requirement.value,
               clean(series_method(result), LABEL_LIMIT))
        target = targets.setdefault(key, unique_labels())(clean(result.target, LABEL_LIMIT))
        labels = [customer, ("requirement", key[1]), ("check", key[0]), ("target", target),
                  ("method", key[2])]
        status.add(labels, WAIVED_VALUE if buckets[index] == WAIVED
                   else STATUS_VALUE[result.status])
        duration.add(labels, max(0.0, result.duration_s))

    requirement = _Family("accessready_requirement_status",
                          f"A requirement's status (3 where its rule could not decide): "
                          f"{ENCODING}.")
    blocking = _Family("accessready_requirement_blocking",
                       "1 when this requirement makes the customer not ready.")
    for outcome in run.requirements:
        labels = [customer, ("requirement", outcome.requirement.value)]
        requirement.add(labels, STATUS_VALUE[outcome.status])
        blocking.add(labels, int(outcome.blocking))

    results = _Family("accessready_results",
                      "Number of results by status in the last run (a waived finding counts "
                      "as waived, not under its status).")
    for key, n in tally(buckets).items():
        results.add([customer, ("status", key)], n)

    verdict = _Family("accessready_verdict", VERDICT_HELP)
    verdict.add([customer], int(ExitCode.for_verdict(run.verdict)))
    insecure = _Family("accessready_insecure_settings", INSECURE_HELP)
    insecure.add([customer], len(insecure_notes(run.results)))
    run_time = _Family("accessready_run_duration_seconds", "Wall-clock time of the run.")
    run_time.add([customer], max(0.0, run.duration_s))
    stamp = _Family("accessready_run_timestamp_seconds",
                    "Unix time the run finished (for staleness alerts).")
    finished = _epoch(run.finished_at)
    if finished is not None:
        stamp.add([customer], finished)
    interrupted = _Family("accessready_run_interrupted",
                          "1 when the run was interrupted before every check finished.")
    interrupted.add([customer], int(run.interrupted))

    lines: list[str] = []
    for family in (verdict, insecure, run_time, stamp, interrupted, results, requirement,
                   blocking, status, duration):
        lines.extend(family.lines())
    return "\n".join(lines) + "\n"


def render(run: Run, lang: str | None = None) -> bytes:
    """The ``.prom`` file's bytes. ``lang`` is unused: metric text is not translated."""
    return render_text(run).encode("utf-8")
