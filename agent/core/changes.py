"""What changed between two runs of the same customer: the audit's "since last time".

:func:`compare` is pure: two runs in, a list of :class:`Change` out, worst first. Results
are matched by check id and target (and their order, when a check reports one target more
than once). Each matched pair yields at most one change, the most specific that fits:

``stopped_answering``
    an ``access`` or ``remote`` check went from pass/warn to fail/error: a gateway or server
    that answered last time does not now.
``expiry_warn`` / ``expiry_fail``
    a check whose evidence carries an expiry (``not_after``, ``days_left``,
    ``password_expires``, …) went pass → warn (crossed the warning line) or to fail. The
    check decides where the line is (``cert_warn_days``, ``min_password_days``); this module
    only sees it crossed. ``subject`` says certificate, password or other.
``new_fail`` / ``new_error`` / ``new_warn``
    a problem where there was none (pass, skip, or not checked before).
``worse`` / ``better``
    a problem turned into a worse or milder one (warn → error, fail → warn, …).
``fixed``
    a problem now passes.
``no_longer_checked``
    a problem that is now skipped or gone: not fixed, just not looked at.

A change of the verdict comes first, as kind ``verdict``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from accessready.agent.core.model import Requirement, Result, Run, Status, Text

PROBLEMS = (Status.WARN, Status.ERROR, Status.FAIL)
_ANSWERED = (Status.PASS, Status.WARN)
_REACH = (Requirement.ACCESS, Requirement.REMOTE)

SEVERITY = ("verdict", "stopped_answering", "expiry_fail", "new_fail", "new_error", "worse",
            "expiry_warn", "new_warn", "no_longer_checked", "better", "fixed")
"""Change kinds, most urgent first."""

_NOT_AFTER = {"not_after", "notafter", "not_valid_after"}
_CERT_KEYS = {"certificate", "certificates", "cert"}
_EXPIRY_KEYS = {"days_left", "expires", "expiry", "expires_at", "valid_until",
                "days_to_expiry"}
_MAX_DEPTH = 5


@dataclass(frozen=True)
class Change:
    """One thing that changed since the previous run."""

    kind: str
    check_id: str = ""
    target: str = ""
    requirement: str = ""
    before: str | None = None
    after: str | None = None
    summary: Text | None = None
    subject: str = ""  # expiry_*: "certificate" | "password" | "other"

    @property
    def rank(self) -> int:
        """Position in :data:`SEVERITY` (0 is the most urgent)."""
        return SEVERITY.index(self.kind) if self.kind in SEVERITY else len(SEVERITY)

    @property
    def worse(self) -> bool:
        """True for a change for the worse (everything but better, fixed, unchecked)."""
        return self.kind not in ("better", "fixed", "no_longer_checked") and not (
            self.kind == "verdict" and _verdict_rank(self.after) <= _verdict_rank(self.before))

    def to_json(self) -> dict[str, Any]:
        """The change as the audit JSON and the history database hold it."""
        data: dict[str, Any] = {"kind": self.kind, "check": self.check_id,
                                "target": self.target, "requirement": self.requirement,
                                "before": self.before, "after": self.after}
        if self.summary is not None:
            data["summary"] = self.summary.to_json()
        if self.subject:
            data["subject"] = self.subject
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Change:
        """Inverse of :meth:`to_json`."""
        summary = data.get("summary")
        return cls(kind=str(data["kind"]), check_id=str(data.get("check", "")),
                   target=str(data.get("target", "")),
                   requirement=str(data.get("requirement", "")), before=data.get("before"),
                   after=data.get("after"),
                   summary=Text.from_json(summary) if summary else None,
                   subject=str(data.get("subject", "")))


_VERDICT_RANK = {"ready": 0, "ready_with_warnings": 1, "unknown": 2, "not_ready": 3}


def _verdict_rank(verdict: str | None) -> int:
    return _VERDICT_RANK.get(verdict or "", -1)


def _keys(data: Any, depth: int = 0) -> Iterable[str]:
    """Every mapping key in ``data``, lower case, a few levels deep (evidence is nested)."""
    if depth > _MAX_DEPTH:
        return
    if isinstance(data, Mapping):
        for key, value in data.items():
            yield str(key).lower()
            yield from _keys(value, depth + 1)
    elif isinstance(data, list | tuple):
        for value in data[:50]:  # bounded: evidence lists can be long
            yield from _keys(value, depth + 1)


def expiry_subject(details: Mapping[str, Any]) -> str:
    """"certificate", "password", "other" when the evidence carries an expiry; else ""."""
    keys = set(_keys(details))
    if any("password" in k and "expir" in k for k in keys):
        return "password"
    if keys & _NOT_AFTER or (keys & _CERT_KEYS and keys & _EXPIRY_KEYS):
        return "certificate"
    if keys & _EXPIRY_KEYS:
        return "other"
    return ""


def _indexed(results: Iterable[Result]) -> dict[tuple[str, str, int], Result]:
    seen: Counter[tuple[str, str]] = Counter()
    out = {}
    for r in results:
        seen[(r.check_id, r.target)] += 1
        out[(r.check_id, r.target, seen[(r.check_id, r.target)])] = r
    return out


def _one(before: Result | None, after: Result | None) -> Change | None:
    was = before.status if before is not None else None
    now = after.status if after is not None else None
    if was == now:
        return None
    ref = after if after is not None else before
    assert ref is not None
    base = {"check_id": ref.check_id, "target": ref.target,
            "requirement": ref.requirement.value, "before": was.value if was else None,
            "after": now.value if now else None, "summary": ref.summary}
    if was in PROBLEMS and (now is None or now is Status.SKIP):
        return Change("no_longer_checked", **base)
    if now is None or now is Status.SKIP:
        return None  # pass → skip/gone: nothing to act on
    subject = expiry_subject(after.details) if after is not None else ""
    if subject and was in (Status.PASS, Status.WARN) and now is Status.FAIL:
        return Change("expiry_fail", subject=subject, **base)
    if subject and was is Status.PASS and now is Status.WARN:
        return Change("expiry_warn", subject=subject, **base)
    if ref.requirement in _REACH and was in _ANSWERED and now in (Status.FAIL, Status.ERROR):
        return Change("stopped_answering", **base)
    if now is Status.PASS:
        return Change("fixed", **base) if was in PROBLEMS else None
    if was in PROBLEMS:
        return Change("worse" if now.rank > was.rank else "better", **base)
    return Change(f"new_{now.value}", **base)


def compare(previous: Run | None, current: Run) -> list[Change]:
    """Everything that changed from ``previous`` to ``current``, most urgent first.

    With no previous run there is nothing to compare: the list is empty (a first audit
    is not a wall of "new" findings; the overview shows the findings themselves).
    """
    if previous is None:
        return []
    changes: list[Change] = []
    if previous.verdict != current.verdict:
        changes.append(Change("verdict", before=previous.verdict.value,
                              after=current.verdict.value))
    old, new = _indexed(previous.results), _indexed(current.results)
    order = list(new) + [k for k in old if k not in new]
    for key in order:
        change = _one(old.get(key), new.get(key))
        if change is not None:
            changes.append(change)
    ranked = sorted(enumerate(changes), key=lambda pair: (pair[1].rank, pair[0]))
    return [change for _, change in ranked]
