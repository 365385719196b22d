"""Findings: the results someone must act on — who, how urgent, by when — and waivers.

A *finding* is a ``warn``, ``fail`` or ``error`` result. Its check says who acts on it
(:attr:`Result.owner`: the customer's IT, the supplier, or the engineer running the
checks) and, where it knows a date, when it is due (:attr:`Result.due`: a certificate's,
a password's or the agreement's expiry). How urgent it is follows from one rule,
:func:`severity`, applied to the finished run:

* **critical** — a ``fail`` that blocks support: its requirement's rule makes the customer
  not ready (no working access method, a failed login — not the account's status or
  privileges, which only report —, an AD FS/WAP server nobody can reach), or the support
  agreement or the data-processing agreement (the seed makes them conditions of support
  at all);
* **high** — any other ``fail``; an ``error`` in a gating rule (access, the support
  account's login, remote access, agreement, DPA) that could not decide, which leaves the
  verdict unknown (an error where the rule decided anyway is medium); and any finding due
  within :data:`DUE_SOON_DAYS` days of the run, or overdue;
* **medium** — the other warnings and errors;
* **low** — warnings about the engineer's own workstation, which never gate.

A profile's ``[[waivers]]`` accept a finding until a date (:func:`apply_waivers`): the
result keeps its status and carries the waiver; while it holds, the finding does not make
the run "with warnings" (:func:`counted`), and from the day after ``until`` it counts
again. A waiver never lifts a gating rule: a waived ``fail`` that still blocks support is
listed with the actions, not apart.
Only ``warn`` and ``fail`` can be waived: an ``error`` says the check could not decide,
which is no risk anyone has accepted.

Pure: results in, results out; nothing here reads files or prints.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from accessready.agent.core.model import (
    OWNERS,
    SEVERITIES,
    Requirement,
    Result,
    Run,
    Status,
    Vantage,
)

DUE_SOON_DAYS = 14
"""A finding due within this many days of the run (or overdue) is at least ``high``."""

GATING_REQUIREMENTS = frozenset({Requirement.ACCESS, Requirement.ACCOUNT, Requirement.REMOTE})
GATING_CHECKS = frozenset({"admin.agreement", "admin.dpa"})
FINDING_STATUSES = (Status.WARN, Status.FAIL, Status.ERROR)
WAIVABLE = (Status.WARN, Status.FAIL)


@dataclass(frozen=True)
class Finding:
    """One result someone must act on, as the reports list it."""

    index: int  # position in the run's results
    result: Result
    owner: str
    severity: str
    due: str | None
    waived: bool  # an unexpired waiver that lifts no gating rule: listed apart


def waived(result: Result) -> bool:
    """True when an unexpired waiver keeps ``result`` out of the verdict."""
    return bool(result.waiver) and not result.waiver.get("expired", False) and \
        result.status in WAIVABLE


def counted(results: Iterable[Result]) -> list[Result]:
    """``results`` as the verdict counts them: a waived finding as passed."""
    return [dataclasses.replace(r, status=Status.PASS) if waived(r) else r for r in results]


def apply_waivers(results: Sequence[Result], waivers: Sequence[Any],
                  today: dt.date) -> tuple[Result, ...]:
    """Attach the first matching waiver (``check``, optional ``target``) to every ``warn``
    and ``fail``; one whose ``until`` lies before ``today`` is attached as expired."""
    if not waivers:
        return tuple(results)
    out = []
    for r in results:
        match = next((w for w in waivers if r.status in WAIVABLE and w.check == r.check_id
                      and (w.target is None or w.target == r.target)), None)
        if match is not None:
            r = dataclasses.replace(r, waiver={"reason": match.reason,
                                               "until": match.until.isoformat(),
                                               "expired": match.until < today})
        out.append(r)
    return tuple(out)


def owner_of(result: Result, catalogue: Mapping[str, Any] | None = None,
             vantage: Vantage | None = None) -> str:
    """Who acts on ``result``: its own owner; for results written before owners existed,
    the check's (from the run's catalogue), else the engineer for an error (look and run
    again) and the customer for the rest. Seen from the customer's side (a self-check:
    the run's ``vantage``, or a merged result seen only from there) the "engineer" is the
    customer: this machine, its network, running again are theirs."""
    owner = _declared_owner(result, catalogue)
    seen_by_customer = vantage is Vantage.CUSTOMER or result.vantage == Vantage.CUSTOMER.value
    return "customer" if owner == "engineer" and seen_by_customer else owner


def _declared_owner(result: Result, catalogue: Mapping[str, Any] | None) -> str:
    if result.owner in OWNERS:
        return result.owner
    entry = (catalogue or {}).get(result.check_id)
    if isinstance(entry, Mapping) and entry.get("owner") in OWNERS:
        return str(entry["owner"])
    return "engineer" if result.status is Status.ERROR else "customer"


def run_day(run: Run) -> dt.date:
    """The day the run started (UTC), against which due dates are judged."""
    try:
        return dt.datetime.fromisoformat(run.started_at).astimezone(dt.UTC).date()
    except (TypeError, ValueError):
        return dt.datetime.now(dt.UTC).date()


def _due_soon(due: str | None, day: dt.date) -> bool:
    if not due:
        return False
    try:
        return (dt.date.fromisoformat(due) - day).days <= DUE_SOON_DAYS
    except ValueError:
        return False


def severity(result: Result, blocking: frozenset[Requirement] | set[Requirement],
             day: dt.date,
             undecided: frozenset[Requirement] | set[Requirement] = frozenset()) -> str:
    """The rule of the module docstring, for one finding of a run whose blocking
    requirements are ``blocking`` and whose gating rules that could not decide are
    ``undecided``."""
    gating = result.requirement in undecided and (
        result.requirement in GATING_REQUIREMENTS or result.check_id in GATING_CHECKS) and (
        result.requirement is not Requirement.ACCOUNT or result.check_id == "account.login")
    # Of the support account's checks only a failed login blocks (status and privileges
    # are reported, not gated).
    blocks = result.requirement in blocking and (
        result.requirement is not Requirement.ACCOUNT or result.check_id == "account.login")
    if result.status is Status.FAIL and (blocks or result.check_id in GATING_CHECKS):
        return "critical"
    if result.status is Status.FAIL or (result.status is Status.ERROR and gating) \
            or _due_soon(result.due, day):
        return "high"
    if result.status is Status.WARN and result.requirement is Requirement.WORKSTATION:
        return "low"
    return "medium"


def findings(run: Run) -> list[Finding]:
    """Every finding of ``run``, in result order."""
    blocking = frozenset(o.requirement for o in run.requirements if o.blocking)
    undecided = frozenset(o.requirement for o in run.requirements if o.undecided)
    day = run_day(run)
    out = []
    for i, r in enumerate(run.results):
        if r.status not in FINDING_STATUSES:
            continue
        level = severity(r, blocking, day, undecided)
        out.append(Finding(index=i, result=r, owner=owner_of(r, run.catalogue,
                                                              run.vantage_kind),
                           severity=level, due=r.due,
                           # a waived failure that still blocks support is to be acted on
                           waived=waived(r) and level != "critical"))
    return out


def overruled(found: Iterable[Finding]) -> frozenset[int]:
    """The result indexes among ``found`` (a run's :func:`findings`) whose waiver holds by
    its date yet lifts nothing: the failure still blocks support."""
    return frozenset(f.index for f in found if waived(f.result) and not f.waived)


def urgency(severity_name: str, due: str | None, index: int) -> tuple[int, str, int]:
    """Sort key: severity, then the earliest due date (none last), then report order."""
    return (SEVERITIES.index(severity_name), due or "9999-12-31", index)
