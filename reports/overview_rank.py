"""What every audit output agrees on: which customers are worst, which findings count
most, why a customer has no verdict, how a change reads, and each customer's unique label.

The HTML and JSON overview (:mod:`.overview`), the Prometheus, Nagios and terminal
outputs (:mod:`.overview_text`) and ``accessready history`` (:mod:`.history_text`) all
rank and word things through here, so they cannot disagree.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from accessready.agent.core.audit_types import VERDICT_SEVERITY, AuditEntry, AuditReport
from accessready.agent.core.changes import Change
from accessready.agent.core.findings import Finding, urgency
from accessready.agent.core.findings import findings as all_findings
from accessready.agent.core.model import Requirement, Result, Run, Status, Verdict, insecure_notes
from accessready.agent.core.textsafe import clean
from accessready.reports.html import LINE
from accessready.reports.i18n import Translator, check_title
from accessready.reports.prometheus import LABEL_LIMIT, unique_labels
from accessready.reports.terminal import undecided_lines

GLYPHS = {"ready": "✓", "ready_with_warnings": "!", "not_ready": "✕", "unknown": "?"}
_PROBLEM_RANK = {Status.FAIL: 0, Status.ERROR: 1, Status.WARN: 2}
# worst first, in the order the exit code ranks them (not ready > unknown > warnings)
VERDICT_ORDER = {v: -n for v, n in VERDICT_SEVERITY.items()}


def ranked_findings(run: Run) -> list[Finding]:
    """The run's warn/error/fail findings that count (a waived one does not): most severe
    first, then fail, error, warn, then the earliest due date; ties in report order.

    Status comes before the due date here (unlike a report's to-do list, which is ordered
    for acting): in a column of the worst few, a warning due soon must not push a failure
    of the same severity out of sight."""
    order = {r: i for i, r in enumerate(Requirement)}
    return sorted(
        (f for f in all_findings(run) if not f.waived),
        key=lambda f: (urgency(f.severity, f.due, 0)[0], _PROBLEM_RANK[f.result.status],
                       urgency(f.severity, f.due, 0)[1],
                       order.get(f.result.requirement, 99), f.index))


def findings(run: Run) -> list[Result]:
    """The results of :func:`ranked_findings`, in its order."""
    return [f.result for f in ranked_findings(run)]


def why_unknown(entry: AuditEntry, tr: Translator) -> str:
    """Why a customer has no verdict, in one line: why no run was possible, else the
    requirements its run could not decide and what decides them (as the terminal says
    it); "" for a customer with a verdict."""
    if entry.error:
        return entry.error
    if entry.run is None or entry.verdict is not Verdict.UNKNOWN:
        return ""
    if entry.run.interrupted:
        return tr("overview.interrupted_run")
    return "; ".join(undecided_lines(entry.run, tr))


def insecure_count(entry: AuditEntry) -> int:
    """How many security settings the customer's profile turned off in this run."""
    return len(insecure_notes(entry.run.results)) if entry.run is not None else 0


def sorted_entries(report: AuditReport) -> list[AuditEntry]:
    """Worst customers first (not ready, unknown, warnings, ready), then by name."""
    return sorted(report.entries, key=lambda e: (VERDICT_ORDER[e.verdict],
                                                 e.customer.casefold(), e.profile))


def worst_customers(report: AuditReport) -> tuple[Verdict, list[AuditEntry]]:
    """The worst verdict of the audit (unknown when interrupted or empty) and the customers
    that have it — what the Nagios line's "worst:", the JSON's ``worst`` and the HTML
    title all say."""
    ranked = sorted_entries(report)
    verdict = Verdict.UNKNOWN if report.interrupted or not ranked else ranked[0].verdict
    return verdict, [e for e in ranked if e.verdict is verdict]


def change_words(change: Change, tr: Translator,
                 catalogue: dict[str, Any] | None = None) -> str:
    """One change as a line: "New failure: AnyConnect gateway · vpn.x (pass → fail)"."""
    if change.kind == "verdict":
        return (f"{tr('change.verdict')}: {tr.verdict(change.before or 'unknown')} → "
                f"{tr.verdict(change.after or 'unknown')}")
    key = f"change.{change.kind}"
    if change.kind.startswith("expiry_"):
        key += f".{change.subject or 'other'}"
    try:
        kind = tr(key)
    except KeyError:  # a kind from a newer accessready in an old history: show it raw
        kind = change.kind
    title = check_title(catalogue or {}, change.check_id, tr.lang)
    before = tr.status(change.before) if change.before else "—"
    after = tr.status(change.after) if change.after else "—"
    target = f" · {change.target}" if change.target and change.target != "-" else ""
    return clean(f"{kind}: {title}{target} ({before} → {after})", LINE)


def changes_summary(entry: AuditEntry, tr: Translator) -> str:
    if entry.first_run:
        return tr("overview.first_run")
    worse = sum(1 for c in entry.changes if c.worse and c.kind != "verdict")
    better = sum(1 for c in entry.changes if not c.worse and c.kind != "verdict")
    parts = []
    if worse:
        parts.append(tr(f"overview.worse.{'one' if worse == 1 else 'other'}", n=worse))
    if better:
        parts.append(tr(f"overview.better.{'one' if better == 1 else 'other'}", n=better))
    return ", ".join(parts) or tr("overview.no_changes")


def customer_labels(report: AuditReport) -> dict[int, str]:
    """The customer label per entry, unique: the name as a Prometheus label shows it
    (cleaned and bounded), or "name (file.toml)" where two profiles' names show alike,
    then "#2", "#3" where even that collides — each customer's series stay its own."""
    shown = [clean(e.customer, LABEL_LIMIT) for e in report.entries]
    names = Counter(shown)
    unique = unique_labels()
    return {i: unique(name if names[name] == 1 else
                      clean(f"{name} ({Path(e.profile).name})", LABEL_LIMIT))
            for i, (name, e) in enumerate(zip(shown, report.entries, strict=True))}
