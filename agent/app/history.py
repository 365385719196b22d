"""The audit history: every run of every customer, in one SQLite file.

Why it is built the way it is:

* **WAL, ``synchronous=FULL``, one transaction per run.** A run (its row, its results, its
  changes) is committed on its own as soon as it finishes, so a crash, a ``kill -9`` or a
  power cut in the middle of an audit loses only the runs still in flight, never an
  earlier one, and never leaves half a run behind. WAL lets ``accessready history`` read
  while an audit writes; ``busy_timeout`` makes a second writer wait instead of failing.
* **Versioned schema** (``PRAGMA user_version``): an older accessready refuses a newer
  file with a clear line instead of misreading it; migrations run in one transaction.
* **What is stored:** the run's JSON result document (``accessready.result/1``, already
  masked by the runner's redactor, zlib-compressed, without the check catalogue, which is
  kept once per distinct catalogue) so any past run can be exported and re-rendered; plus
  one slim row per result (check, target, status) for plain SQL queries, and the changes
  since the customer's previous run.
* **Indexes for the questions asked:** a customer's runs newest first
  (``runs(customer_key, finished_at)``); results by run (the results table is clustered
  on ``run_id``).
* **Purging:** ``secure_delete`` is on, so pruned rows are overwritten, not merely
  unlinked, and the WAL is truncated after a prune: support data the supplier purges is
  gone from the file, not lingering in free pages.

The file itself (schema, path checks, opening, errors) is :mod:`.history_db`.

Times are stored as ISO 8601 in UTC (``2026-05-01T02:00:00+00:00``), which sort correctly
as text.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import sqlite3
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from accessready.agent.app.history_db import (
    BUSY_TIMEOUT_MS,
    SCHEMA_VERSION,
    HistoryDamaged,
    HistoryError,
    HistoryUnusable,
    check_path,
    connect,
    guarded,
    history_errors,
    transaction,
)
from accessready.agent.core.changes import Change
from accessready.agent.core.model import Run, Verdict
from accessready.agent.io.secrets import REDACTOR
from accessready.reports.json_report import from_dict, to_dict

__all__ = [
    "SCHEMA_VERSION",
    "History",
    "HistoryDamaged",
    "HistoryError",
    "HistoryUnusable",
    "PrunePlan",
    "PruneStats",
    "RunRow",
    "check_path",
    "customer_key",
    "utc_iso",
]


def utc_iso(value: str | dt.datetime) -> str:
    """``value`` as ISO 8601 in UTC, seconds precision (naive times are taken as UTC)."""
    stamp = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    return stamp.astimezone(dt.UTC).isoformat(timespec="seconds")


def customer_key(name: str) -> str:
    """The lookup form of a customer name: case and repeated spaces do not matter."""
    return " ".join(name.split()).casefold()


def _pack(data: Any) -> bytes:
    return zlib.compress(json.dumps(data, ensure_ascii=False, separators=(",", ":"))
                         .encode("utf-8"), 6)


def _unpack(blob: bytes) -> Any:
    return json.loads(zlib.decompress(blob).decode("utf-8"))


@dataclass(frozen=True)
class RunRow:
    """One stored run as :meth:`History.runs` lists it (no results: those stay packed)."""

    id: int
    customer: str
    profile: str
    vantage: str
    audit_id: int | None
    started_at: str
    finished_at: str
    duration_s: float
    verdict: Verdict
    counts: dict[str, int]
    error: str | None
    changes: list[Change] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The row for ``accessready history --format json``."""
        return {"id": self.id, "customer": self.customer, "profile": self.profile,
                "vantage": self.vantage, "audit": self.audit_id,
                "started_at": self.started_at, "finished_at": self.finished_at,
                "duration_s": round(self.duration_s, 3), "verdict": self.verdict.value,
                "counts": self.counts, "error": self.error,
                "changes": [c.to_json() for c in self.changes]}


@dataclass(frozen=True)
class PrunePlan:
    """What a prune would delete, before it does: per customer, and what would be left."""

    before: str
    customer: str | None
    runs: int
    results: int
    remaining: int
    per_customer: list[dict[str, Any]] = field(default_factory=list)

    @property
    def deletes_everything(self) -> bool:
        """True when every stored run of every customer would go."""
        return self.customer is None and self.runs > 0 and self.remaining == 0


@dataclass(frozen=True)
class PruneStats:
    """What a prune removed, and what is left."""

    runs: int
    results: int
    audits: int
    remaining: int


_RUNS_OF_CUSTOMER = (
    "SELECT id, customer, profile, vantage, audit_id, started_at, finished_at, duration_s, "
    "verdict, n_pass, n_warn, n_fail, n_error, n_skip, error, changes FROM runs "
    "WHERE customer_key = ? ORDER BY finished_at DESC, id DESC LIMIT ?")
# (?2 IS NULL OR ...): one static statement whether or not a customer is named
_PRUNE_COUNT = ("SELECT count(*) FROM results WHERE run_id IN (SELECT id FROM runs "
                "WHERE finished_at < ?1 AND (?2 IS NULL OR customer_key = ?2))")
_PRUNE_PLAN = ("SELECT customer, count(*), min(finished_at), max(finished_at) FROM runs "
               "WHERE finished_at < ?1 AND (?2 IS NULL OR customer_key = ?2) "
               "GROUP BY customer_key ORDER BY customer_key")
_PRUNE_DELETE = ("DELETE FROM runs WHERE finished_at < ?1 AND "
                 "(?2 IS NULL OR customer_key = ?2)")


def _row(row: Sequence[Any]) -> RunRow:
    counts = dict(zip(("pass", "warn", "fail", "error", "skip"), row[9:14], strict=True))
    return RunRow(id=row[0], customer=row[1], profile=row[2], vantage=row[3],
                  audit_id=row[4], started_at=row[5], finished_at=row[6],
                  duration_s=row[7], verdict=Verdict(row[8]), counts=counts, error=row[14],
                  changes=[Change.from_json(c) for c in json.loads(row[15] or "[]")])


class History:
    """An open history database. Use as a context manager; one thread per instance."""

    def __init__(self, path: str | Path, *, create: bool = True,
                 busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> None:
        self.path = Path(path)
        self.db = connect(self.path, create=create, busy_timeout_ms=busy_timeout_ms)

    def _write(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """One write transaction, taken at once (no deadlock between two writers); within
        :meth:`batch`, part of that one."""
        if self.db.in_transaction:
            return contextlib.nullcontext(self.db)
        return transaction(self.db)

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Every write inside in one transaction (one sync to disk instead of one per
        run): all of them are stored, or none."""
        with history_errors(self.path), self._write():  # BEGIN or COMMIT may fail
            yield

    def close(self) -> None:
        """Close the database."""
        self.db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- audits ------------------------------------------------------------------------

    @guarded
    def begin_audit(self, profiles: int, host: str = "") -> int:
        """Record that an audit of ``profiles`` profiles started; its id."""
        with self._write() as db:
            cur = db.execute(
                "INSERT INTO audits (started_at, status, host, pid, profiles) "
                "VALUES (?, 'running', ?, ?, ?)",
                (utc_iso(dt.datetime.now(dt.UTC)), host, os.getpid(), profiles))
            return int(cur.lastrowid or 0)

    @guarded
    def finish_audit(self, audit_id: int, status: str = "finished") -> None:
        """Mark the audit finished (or interrupted)."""
        with self._write() as db:
            db.execute("UPDATE audits SET finished_at = ?, status = ? WHERE id = ?",
                       (utc_iso(dt.datetime.now(dt.UTC)), status, audit_id))

    # -- writing runs --------------------------------------------------------------------

    def _catalogue_id(self, db: sqlite3.Connection, catalogue: dict[str, Any]) -> int | None:
        if not catalogue:
            return None
        canonical = json.dumps(catalogue, sort_keys=True, ensure_ascii=False)
        digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
        row = db.execute("SELECT id FROM catalogues WHERE digest = ?", (digest,)).fetchone()
        if row:
            return int(row[0])
        cur = db.execute("INSERT INTO catalogues (digest, data) VALUES (?, ?)",
                         (digest, _pack(catalogue)))
        return int(cur.lastrowid or 0)

    @guarded
    def record(self, run: Run, *, profile: str = "", audit_id: int | None = None,
               changes: Sequence[Change] = ()) -> int:
        """Store ``run`` (with its results and changes) in one transaction; its id."""
        document = to_dict(run)
        catalogue = document.pop("checks", {}) or {}
        counts = document["counts"]
        with self._write() as db:
            cur = db.execute(
                "INSERT INTO runs (audit_id, customer, customer_key, profile, vantage, "
                "started_at, finished_at, duration_s, verdict, exit_code, n_pass, n_warn, "
                "n_fail, n_error, n_skip, changes, catalogue_id, result) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (audit_id, run.customer, customer_key(run.customer), profile, run.vantage,
                 utc_iso(run.started_at), utc_iso(run.finished_at), run.duration_s,
                 run.verdict.value, document["exit_code"], counts["pass"], counts["warn"],
                 counts["fail"], counts["error"], counts["skip"],
                 json.dumps([c.to_json() for c in changes], ensure_ascii=False),
                 self._catalogue_id(db, catalogue), _pack(document)))
            run_id = int(cur.lastrowid or 0)
            db.executemany(
                "INSERT INTO results (run_id, seq, check_id, target, status) "
                "VALUES (?, ?, ?, ?, ?)",
                [(run_id, i, r.check_id, r.target, r.status.value)
                 for i, r in enumerate(run.results)])
        return run_id

    @guarded
    def record_failure(self, customer: str, error: str, *, profile: str = "",
                       audit_id: int | None = None, when: str | None = None,
                       vantage: str = "engineer") -> int:
        """Store that no run of ``customer`` was possible (bad profile): verdict unknown."""
        stamp = utc_iso(when or dt.datetime.now(dt.UTC))
        with self._write() as db:
            cur = db.execute(
                "INSERT INTO runs (audit_id, customer, customer_key, profile, vantage, "
                "started_at, finished_at, verdict, exit_code, error) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 'unknown', 3, ?)",
                (audit_id, customer, customer_key(customer), profile, vantage, stamp, stamp,
                 REDACTOR.text(error)))
            return int(cur.lastrowid or 0)

    # -- reading ------------------------------------------------------------------------

    @guarded
    def load_run(self, run_id: int) -> Run:
        """The stored run ``run_id``, complete (results, catalogue) and re-renderable."""
        row = self.db.execute(
            "SELECT r.result, c.data, r.error FROM runs r "
            "LEFT JOIN catalogues c ON c.id = r.catalogue_id WHERE r.id = ?",
            (run_id,)).fetchone()
        if row is None:
            raise HistoryError(f"{self.path}: no run with id {run_id} — list them with "
                               "`accessready history CUSTOMER`")
        if row[0] is None:
            raise HistoryError(f"{self.path}: run {run_id} has no results (it could not "
                               f"start: {row[2]})")
        document = _unpack(row[0])
        document["checks"] = _unpack(row[1]) if row[1] else {}
        return from_dict(document, f"{self.path} run {run_id}")

    @guarded
    def previous(self, customer: str, profile: str | None = None,
                 vantage: str | None = None, before_id: int | None = None) -> Run | None:
        """The newest complete run of ``customer`` (optionally: same profile file name and
        vantage, stored before ``before_id``), or None."""
        sql = "SELECT id FROM runs WHERE customer_key = ? AND result IS NOT NULL"
        args: list[Any] = [customer_key(customer)]
        if profile is not None:
            sql += " AND profile = ?"
            args.append(profile)
        if vantage is not None:
            sql += " AND vantage = ?"
            args.append(vantage)
        if before_id is not None:
            sql += " AND id < ?"
            args.append(before_id)
        row = self.db.execute(sql + " ORDER BY finished_at DESC, id DESC LIMIT 1",
                              args).fetchone()
        return self.load_run(row[0]) if row else None

    @guarded
    def durations(self, newest: int) -> dict[str, float]:
        """How long each profile (file name) took in its newest recorded run, in seconds,
        among the ``newest`` runs recorded; an audit starts the slowest first. Bounded, as
        it is read before an audit starts: the newest rows by key, not a scan of a year's
        history (a profile not among them counts as never recorded, and starts early)."""
        rows = self.db.execute(
            "SELECT profile, duration_s FROM runs WHERE profile != '' ORDER BY id DESC "
            "LIMIT ?", (max(0, newest),)).fetchall()
        took: dict[str, float] = {}
        for profile, seconds in rows:
            took.setdefault(profile, float(seconds))
        return took

    @guarded
    def runs(self, customer: str, limit: int | None = None) -> list[RunRow]:
        """``customer``'s runs, newest first."""
        rows = self.db.execute(
            _RUNS_OF_CUSTOMER,
            (customer_key(customer), -1 if limit is None else limit)).fetchall()
        return [_row(r) for r in rows]

    @guarded
    def trend(self, customer: str, limit: int = 14,
              before_id: int | None = None) -> list[tuple[str, Verdict]]:
        """The last ``limit`` verdicts of ``customer`` as ``(finished_at, verdict)``, oldest
        first (as a trend is read, left to right)."""
        rows = self.db.execute(
            "SELECT finished_at, verdict FROM runs WHERE customer_key = ? AND id <= ? "
            "ORDER BY finished_at DESC, id DESC LIMIT ?",
            (customer_key(customer), before_id if before_id is not None else 2**62,
             limit)).fetchall()
        return [(r[0], Verdict(r[1])) for r in reversed(rows)]

    @guarded
    def customers(self) -> list[dict[str, Any]]:
        """Every customer with its run count and latest run."""
        rows = self.db.execute(
            "SELECT r.customer, r.finished_at, r.verdict, n.runs FROM runs r JOIN ("
            "  SELECT customer_key, max(finished_at) AS last, count(*) AS runs FROM runs "
            "  GROUP BY customer_key) n ON n.customer_key = r.customer_key "
            "AND r.finished_at = n.last GROUP BY r.customer_key ORDER BY r.customer_key"
        ).fetchall()
        return [{"customer": r[0], "last_finished_at": r[1], "last_verdict": r[2],
                 "runs": r[3]} for r in rows]

    @guarded
    def find_customer(self, query: str) -> str:
        """The stored customer name ``query`` means: exact (any case), else one that
        contains it. Raises :class:`HistoryError` for none or several."""
        key = customer_key(query)
        names = {c["customer"]: customer_key(c["customer"]) for c in self.customers()}
        exact = [n for n, k in names.items() if k == key]
        if exact:
            return exact[0]
        partial = sorted(n for n, k in names.items() if key in k)
        if len(partial) == 1:
            return partial[0]
        if partial:
            shown = ", ".join(repr(n) for n in partial[:5])
            raise HistoryError(f"customer {query!r} matches {len(partial)} customers "
                               f"({shown}) — give more of the name")
        known = ", ".join(repr(n) for n in sorted(names)[:5]) or "none yet"
        raise HistoryError(f"{self.path}: no runs of customer {query!r} (known: {known}) — "
                           "check the name, or list them with `accessready history`")

    # -- retention ----------------------------------------------------------------------

    @guarded
    def prune_plan(self, before: dt.datetime, customer: str | None = None) -> PrunePlan:
        """What :meth:`prune` with the same arguments would delete; deletes nothing."""
        cutoff = utc_iso(before)
        args = (cutoff, customer_key(customer) if customer is not None else None)
        rows = self.db.execute(_PRUNE_PLAN, args).fetchall()
        runs = sum(r[1] for r in rows)
        total = self.db.execute("SELECT count(*) FROM runs").fetchone()[0]
        return PrunePlan(
            before=cutoff, customer=customer, runs=runs,
            results=self.db.execute(_PRUNE_COUNT, args).fetchone()[0],
            remaining=total - runs,
            per_customer=[{"customer": r[0], "runs": r[1], "oldest": r[2], "newest": r[3]}
                          for r in rows])

    @guarded
    def run_customer(self, run_id: int) -> str:
        """The customer stored run ``run_id`` belongs to (:class:`HistoryError` if none)."""
        row = self.db.execute("SELECT customer FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise HistoryError(f"{self.path}: no run with id {run_id} — list them with "
                               "`accessready history CUSTOMER`")
        return str(row[0])

    @guarded
    def prune(self, before: dt.datetime, customer: str | None = None) -> PruneStats:
        """Delete runs that finished before ``before`` (of ``customer`` only, if given),
        their results, and audits and catalogues nothing refers to any more."""
        cutoff = utc_iso(before)
        args = (cutoff, customer_key(customer) if customer is not None else None)
        with self._write() as db:
            results = db.execute(_PRUNE_COUNT, args).fetchone()[0]
            runs = db.execute(_PRUNE_DELETE, args).rowcount
            audits = db.execute(
                "DELETE FROM audits WHERE started_at < ? AND status != 'running' AND id NOT "
                "IN (SELECT audit_id FROM runs WHERE audit_id IS NOT NULL)",
                (cutoff,)).rowcount
            db.execute("DELETE FROM catalogues WHERE id NOT IN (SELECT catalogue_id FROM runs "
                       "WHERE catalogue_id IS NOT NULL)")
            remaining = db.execute("SELECT count(*) FROM runs").fetchone()[0]
        # Fold the WAL back and empty it: deleted pages must not linger in the -wal file.
        with contextlib.suppress(sqlite3.OperationalError):  # a reader may hold it; fine
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return PruneStats(runs=runs, results=results, audits=audits, remaining=remaining)

    @guarded
    def integrity(self) -> str:
        """``PRAGMA integrity_check``: "ok" for a sound file."""
        return str(self.db.execute("PRAGMA integrity_check").fetchone()[0])
