"""The views the HTML report's templates print: plain data, built by
:func:`accessready.reports.html.build_context`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True, frozen=True)
class Badge:
    """A status as the page shows it: CSS key and word.

    Status is never told by colour alone: every badge carries its word, and the stylesheet
    adds a glyph (✓ ! ✕ ? –) before it.
    """

    status: str
    label: str


@dataclass(slots=True)
class ResultView:
    """One result, ready to print."""

    anchor: str
    badge: Badge
    target: str
    summary: str
    remediation: str
    evidence: str
    truncated: bool
    duration: str
    vantage: str = ""  # merged runs: "seen from …"
    waiver: str = ""  # "Waived until …: reason", or that the waiver ran out


@dataclass(slots=True)
class CheckView:
    """One check's results within a requirement."""

    anchor: str
    id: str
    title: str
    description: str
    badge: Badge
    results: list[ResultView] = field(default_factory=list)
    fragment: Any = None  # see _fragment_keys


@dataclass(slots=True)
class RequirementView:
    """One requirement: its line at the top and its section of checks."""

    key: str
    anchor: str
    title: str
    badge: Badge
    blocking: bool
    reason: str
    counts: list[tuple[str, str]]
    checks: list[CheckView] = field(default_factory=list)
    fragment: Any = None  # see _fragment_keys


@dataclass(slots=True)
class ActionView:
    """One thing someone must do, with the results that call for it."""

    badge: Badge
    blocking: bool
    text: str
    check_title: str
    check_id: str
    targets: list[str]
    more: int
    anchor: str
    owner: str = "customer"
    severity: str = "medium"
    severity_label: str = ""
    due: str = ""  # the earliest due date of its results, YYYY-MM-DD
    due_words: str = ""
    waiver: str = ""  # waived: "Waived until …: reason"; a run-out waiver: the note
    waived: bool = False


@dataclass(slots=True)
class OwnerSection:
    """The findings one party must act on: the customer's IT, the supplier, the engineer."""

    owner: str
    anchor: str
    heading: str
    empty: str
    actions: list[ActionView] = field(default_factory=list)
