"""What an audit produces: plain data the overview renderers read.

Kept apart from :mod:`accessready.agent.app.audit` (which runs checks) so that renderers
import data, never the machinery.
"""

from __future__ import annotations

from dataclasses import dataclass
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
