"""What an audit produces: plain data the overview renderers read.

Kept apart from :mod:`accessready.agent.app.audit` (which runs checks) so that renderers
import data, never the machinery.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from accessready.agent.core.changes import Change
from accessready.agent.core.model import ExitCode, Run, Verdict

# CRITICAL > UNKNOWN > WARNING > OK — deliberately not monitoring-plugins' max_state_alt
# (which puts WARNING above UNKNOWN): a customer we could not check (a profile that no
# longer loads, a gating rule that could not decide) may be not ready, and must not hide
# behind another customer's warning; it still never hides a customer that is not ready.
# The overview's order (reports.overview) is the same, so the status line, "worst:", the
# HTML, the JSON and Prometheus all agree.
VERDICT_SEVERITY = {Verdict.READY: 0, Verdict.READY_WITH_WARNINGS: 1, Verdict.UNKNOWN: 2,
                    Verdict.NOT_READY: 3}
"""How bad each verdict is across customers (higher is worse)."""
_NAGIOS_ORDER = {ExitCode.for_verdict(v): n for v, n in VERDICT_SEVERITY.items()}


def worst_exit(codes: list[ExitCode]) -> ExitCode:
    """The worst of ``codes`` as Nagios aggregates states; UNKNOWN for none."""
    if not codes:
        return ExitCode.UNKNOWN
    return max(codes, key=lambda c: _NAGIOS_ORDER[c])


@dataclass(frozen=True)
class AuditEntry:
    """One profile's part of an audit: its run (or why there is none) and what changed."""

    profile: str  # the profile file, as the audit was given it
    customer: str  # from the profile; the file name when the profile did not load
    run: Run | None = None
    error: str | None = None  # one line, when no run was possible
    changes: tuple[Change, ...] = ()
    trend: tuple[tuple[str, Verdict], ...] = ()  # (finished_at, verdict), oldest first
    previous_verdict: Verdict | None = None
    first_run: bool = True  # no earlier run in the history to compare with
    run_id: int | None = None
    report_href: str | None = None  # link to this customer's full report, when written

    @property
    def verdict(self) -> Verdict:
        """The run's verdict; unknown when there is no run."""
        return self.run.verdict if self.run is not None else Verdict.UNKNOWN

    @property
    def exit_code(self) -> ExitCode:
        """The verdict as an exit code."""
        return ExitCode.for_verdict(self.verdict)


@dataclass(frozen=True)
class AuditReport:
    """A finished (or interrupted) audit over many profiles."""

    started_at: str
    finished_at: str
    duration_s: float
    entries: tuple[AuditEntry, ...]
    interrupted: bool = False
    history: str | None = None  # the history database's path, when one was kept
    audit_id: int | None = None
    tool_version: str = ""
    lang: str = "en"
    host: dict[str, str] | None = None
    pruned: dict[str, Any] | None = None  # what --keep-days removed
    history_error: str | None = None  # one line, when the history could not be kept

    @property
    def exit_code(self) -> ExitCode:
        """The worst customer's exit code (UNKNOWN when the audit was interrupted)."""
        if self.interrupted:
            return ExitCode.UNKNOWN
        return worst_exit([e.exit_code for e in self.entries])

    def counts(self) -> dict[str, int]:
        """Customers per verdict, every verdict present."""
        out = {v.value: 0 for v in Verdict}
        for entry in self.entries:
            out[entry.verdict.value] += 1
        return out


# Below this many profiles a second process does not pay for itself: measured with
# bench_scale on 2 cores, 200 profiles (1,000 servers) took the same wall time and 50 MiB
# more memory in 2 processes; 1,000 profiles took about a sixth less time.
PROFILES_PER_PROCESS = 400


def usable_cpus() -> int:
    """The CPUs this process may run on, at least 1: its affinity (and on Windows its job
    object's limit, from Python 3.13) where the system says, else every CPU."""
    counted = getattr(os, "process_cpu_count", None)  # 3.13+
    if counted is not None:
        return max(1, counted() or 1)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # Windows, macOS before 3.13
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
