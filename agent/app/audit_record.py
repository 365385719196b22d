"""How an audit records each finished profile in the history (:mod:`.audit`)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from accessready.agent.app.history import History, HistoryDamaged, HistoryError, HistoryUnusable
from accessready.agent.core.audit_types import AuditEntry, AuditOptions
from accessready.agent.core.changes import compare
from accessready.agent.core.model import Run
from accessready.agent.io.secrets import REDACTOR

log = logging.getLogger("accessready.audit")

_T = TypeVar("_T")


@dataclass(frozen=True)
class Finished:
    """A worker's answer for one profile."""

    index: int
    path: str
    customer: str
    run: Run | None = None
    error: str | None = None


def one_line(text: str) -> str:
    """``text`` on one line, at most 500 characters, with every known secret masked."""
    return REDACTOR.text(" ".join(str(text).split()))[:500]


class Recorder:
    """The history as an audit writes it.

    A damaged file, or a failure while recording (a bad page, a full disk), must not cost
    the overview of a whole night's audit: after the first failure nothing more is
    recorded, the audit goes on and :attr:`error` says what happened.
    """

    def __init__(self, path: str | None) -> None:
        self.db: History | None = None
        self.error: str | None = None
        if path:
            try:
                self.db = History(path)
            except (HistoryDamaged, HistoryUnusable) as exc:  # others: refused at once
                self.error = one_line(str(exc))

    def use(self, action: Callable[[Any], _T], default: _T) -> _T:
        """``action(db)``, or ``default`` without a usable history."""
        if self.db is None:
            return default
        try:
            return action(self.db)
        except HistoryError as exc:
            log.debug("history failed", exc_info=True)
            self.error = one_line(str(exc))
            self.close()
            return default

    def close(self) -> None:
        """Close the database (idempotent)."""
        if self.db is not None:
            db, self.db = self.db, None
            db.close()


def record_batch(batch: list[Finished], history: History, audit_id: int | None,
                 options: AuditOptions) -> list[AuditEntry]:
    """Store several finished profiles in one transaction."""
    with history.batch():
        return [record_one(finished, history, audit_id, options) for finished in batch]


def record_one(finished: Finished, history: Any, audit_id: int | None,
               options: AuditOptions) -> AuditEntry:
    """Store one finished profile and work out what changed since its previous run."""
    profile_name = Path(finished.path).name
    entry = AuditEntry(profile=finished.path, customer=finished.customer,
                       run=finished.run, error=finished.error)
    if history is None:
        return replace(entry, trend=((_finished_at(finished), entry.verdict),))
    previous_rows = history.runs(finished.customer, limit=1)
    previous_verdict = previous_rows[0].verdict if previous_rows else None
    if finished.run is None:
        run_id = history.record_failure(finished.customer, finished.error or "unknown error",
                                        profile=profile_name, audit_id=audit_id,
                                        vantage=options.vantage)
        changes: tuple = ()
        first = previous_verdict is None
    else:
        previous = history.previous(finished.customer, profile=profile_name,
                                    vantage=finished.run.vantage)
        if previous is None and finished.run.vantage == "audit":
            # Audits before vantages existed were recorded as "engineer" (only audits write
            # the history): compare with those, so the first audit after the upgrade shows
            # what it no longer checks instead of starting over as a first run.
            previous = history.previous(finished.customer, profile=profile_name,
                                        vantage="engineer")
        changes = tuple(compare(previous, finished.run))
        first = previous is None
        run_id = history.record(finished.run, profile=profile_name, audit_id=audit_id,
                                changes=changes)
    return replace(entry, changes=changes, run_id=run_id, first_run=first,
                   previous_verdict=previous_verdict,
                   trend=tuple(history.trend(finished.customer, options.trend_length)))


def _finished_at(finished: Finished) -> str:
    if finished.run is not None:
        return finished.run.finished_at
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
