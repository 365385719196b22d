"""The audit history (SQLite) and the "what changed since last run" comparison."""

from __future__ import annotations

import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from accessready.agent.app.history import SCHEMA_VERSION, History, HistoryError
from accessready.agent.core.changes import Change, compare, expiry_subject
from accessready.agent.core.model import Verdict
from accessready.reports.json_report import to_dict

from .runs import make_run, result

REPO = Path(__file__).resolve().parents[2]


def _day(n: int) -> str:
    return (dt.datetime(2026, 1, 1, 2, 0, tzinfo=dt.UTC) + dt.timedelta(days=n)).isoformat()


def _run(n: int, status: str = "pass", customer: str = "Exempel kommun"):
    return make_run([result("admin.agreement", "Exempel", status),
                     result("remote.rdp", "adfs01", "pass")], customer=customer,
                    finished_at=_day(n))


# -- the database ---------------------------------------------------------------------

def test_new_database_is_wal_versioned_and_indexed(tmp_path: Path) -> None:
    with History(tmp_path / "a.db") as db:
        assert db.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        indexes = {r[0] for r in db.db.execute("SELECT name FROM sqlite_master "
                                               "WHERE type = 'index'")}
        assert "runs_by_customer" in indexes
        plan = " ".join(str(r) for r in db.db.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM runs WHERE customer_key = ? "
            "ORDER BY finished_at DESC", ("x",)))
        assert "runs_by_customer" in plan  # a customer's history never scans the table


def test_record_and_load_round_trip(tmp_path: Path) -> None:
    run = _run(0, "warn")
    with History(tmp_path / "a.db") as db:
        run_id = db.record(run, profile="exempel.toml",
                           changes=[Change("new_warn", "admin.agreement", "Exempel")])
        assert to_dict(db.load_run(run_id)) == to_dict(run)
        (row,) = db.runs("exempel kommun")
        assert row.verdict is Verdict.READY_WITH_WARNINGS and row.counts["warn"] == 1
        assert row.changes[0].kind == "new_warn" and row.profile == "exempel.toml"
        stored = db.db.execute("SELECT check_id, status FROM results WHERE run_id = ? "
                               "ORDER BY seq", (run_id,)).fetchall()
        assert stored == [("admin.agreement", "warn"), ("remote.rdp", "pass")]


def test_catalogue_is_stored_once(tmp_path: Path) -> None:
    with History(tmp_path / "a.db") as db:
        for n in range(5):
            db.record(_run(n))
        assert db.db.execute("SELECT count(*) FROM catalogues").fetchone()[0] == 1


def test_a_batch_is_one_transaction_all_or_nothing(tmp_path: Path) -> None:
    """An audit records the runs that finished meanwhile together: every run of the batch
    is stored, or (a failure inside) none of them."""
    with History(tmp_path / "a.db") as db:
        with db.batch():
            first, second = db.record(_run(0)), db.record(_run(1))
            assert db.db.in_transaction  # not committed one by one
        assert not db.db.in_transaction
        assert [r.id for r in db.runs("exempel kommun")] == [second, first]
        with pytest.raises(HistoryError), db.batch():
            db.record(_run(2))
            db.record_failure("Exempel kommun", "x", when="not a time")
        assert [r.id for r in db.runs("exempel kommun")] == [second, first]
        db.record(_run(3))  # and the next write is a transaction of its own again
        assert not db.db.in_transaction and len(db.runs("exempel kommun")) == 3


def test_runs_newest_first_trend_oldest_first_and_previous(tmp_path: Path) -> None:
    with History(tmp_path / "a.db") as db:
        for n, status in enumerate(["pass", "warn", "fail", "pass"]):
            db.record(_run(n, status), profile="exempel.toml")
        rows = db.runs("Exempel kommun")
        assert [r.finished_at[:10] for r in rows] == [_day(n)[:10] for n in (3, 2, 1, 0)]
        trend = db.trend("Exempel kommun", limit=3)
        assert [v for _, v in trend] == [Verdict.READY_WITH_WARNINGS,
                                         Verdict.NOT_READY, Verdict.READY]  # agreement gates
        previous = db.previous("Exempel kommun", profile="exempel.toml")
        assert previous is not None and previous.finished_at == _day(3)
        assert db.previous("Exempel kommun", profile="other.toml") is None
        assert db.previous("Exempel kommun", vantage="customer") is None


def test_failure_record_is_an_unknown_run_without_results(tmp_path: Path) -> None:
    with History(tmp_path / "a.db") as db:
        run_id = db.record_failure("Trasig kommun", "trasig.toml:3: bad key", profile="t.toml")
        (row,) = db.runs("Trasig kommun")
        assert row.verdict is Verdict.UNKNOWN and row.error == "trasig.toml:3: bad key"
        with pytest.raises(HistoryError, match="could not start"):
            db.load_run(run_id)
        assert db.previous("Trasig kommun") is None


def test_find_customer(tmp_path: Path) -> None:
    with History(tmp_path / "a.db") as db:
        for name in ("Exempel kommun", "Exempel skola", "Annan kommun"):
            db.record(_run(0, customer=name))
        assert db.find_customer("exempel KOMMUN") == "Exempel kommun"
        assert db.find_customer("annan") == "Annan kommun"
        with pytest.raises(HistoryError, match="matches 2 customers"):
            db.find_customer("exempel")
        with pytest.raises(HistoryError, match="no runs of customer 'Okänd'"):
            db.find_customer("Okänd")
        assert [c["customer"] for c in db.customers()] == ["Annan kommun", "Exempel kommun",
                                                          "Exempel skola"]


def test_prune_removes_old_runs_results_and_unused_catalogues(tmp_path: Path) -> None:
    with History(tmp_path / "a.db") as db:
        for n in range(10):
            db.record(_run(n))
        db.record(_run(0, customer="Annan kommun"))
        stats = db.prune(dt.datetime.fromisoformat(_day(5)), "Exempel kommun")
        assert (stats.runs, stats.results, stats.remaining) == (5, 10, 6)
        assert len(db.runs("Annan kommun")) == 1  # another customer's old run stays
        stats = db.prune(dt.datetime.fromisoformat(_day(100)))
        assert stats.remaining == 0
        assert db.db.execute("SELECT count(*) FROM results").fetchone()[0] == 0
        assert db.db.execute("SELECT count(*) FROM catalogues").fetchone()[0] == 0
        assert db.integrity() == "ok"


def test_prune_plan_lists_what_would_go_and_deletes_nothing(tmp_path: Path) -> None:
    with History(tmp_path / "a.db") as db:
        for n in range(4):
            db.record(_run(n))
        db.record(_run(1, customer="Annan kommun"))
        plan = db.prune_plan(dt.datetime.fromisoformat(_day(2)))
        assert (plan.runs, plan.results, plan.remaining) == (3, 6, 2)
        assert [(c["customer"], c["runs"]) for c in plan.per_customer] == [
            ("Annan kommun", 1), ("Exempel kommun", 2)]
        assert plan.per_customer[1]["oldest"][:10] == _day(0)[:10]
        assert not plan.deletes_everything
        assert db.db.execute("SELECT count(*) FROM runs").fetchone()[0] == 5  # untouched
        everything = db.prune_plan(dt.datetime.fromisoformat(_day(9)))
        assert everything.deletes_everything and everything.remaining == 0
        # one customer's whole history is not "everything": the others keep theirs
        assert not db.prune_plan(dt.datetime.fromisoformat(_day(9)),
                                 "Annan kommun").deletes_everything


def test_run_customer_names_the_runs_owner(tmp_path: Path) -> None:
    with History(tmp_path / "a.db") as db:
        first = db.record(_run(0, customer="Annan kommun"))
        assert db.run_customer(first) == "Annan kommun"
        with pytest.raises(HistoryError, match="no run with id 99"):
            db.run_customer(99)


def test_pruned_data_is_gone_from_the_files(tmp_path: Path) -> None:
    """secure_delete and a WAL truncate: a purged customer's name is not left in free
    pages or in the -wal file."""
    path = tmp_path / "a.db"
    marker = "Raderas-kommun-7f3a9c"
    with History(path) as db:
        db.record(_run(0, customer=marker))
        db.record(_run(50))
        db.prune(dt.datetime.fromisoformat(_day(10)))
    for file in tmp_path.iterdir():
        assert marker.encode() not in file.read_bytes(), file.name


@pytest.mark.parametrize("content,match", [
    (b"not a database at all, just text" * 200, "not a usable accessready history"),
    (None, "not an accessready history database"),
])
def test_foreign_files_are_refused(tmp_path: Path, content: bytes | None, match: str) -> None:
    path = tmp_path / "x.db"
    if content is None:
        con = sqlite3.connect(path)
        con.execute("CREATE TABLE other (x)")
        con.commit()
        con.close()
    else:
        path.write_bytes(content)
    with pytest.raises(HistoryError, match=match):
        History(path)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    History(path).close()
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.commit()
    con.close()
    with pytest.raises(HistoryError, match="newer accessready"):
        History(path)


def test_reading_never_creates_a_file(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match="no such history database"):
        History(tmp_path / "missing.db", create=False)
    assert not (tmp_path / "missing.db").exists()


_WRITER = textwrap.dedent("""
    import sys
    sys.path.insert(0, {repo!r})
    from tests.unit.runs import make_run, result
    from accessready.agent.app.history import History
    db = History(sys.argv[1])
    print("ready", flush=True)
    for n in range(int(sys.argv[2])):
        run = make_run([result("admin.agreement", f"t{{i}}", "pass") for i in range(50)],
                       customer=sys.argv[3], finished_at=f"2026-01-01T00:00:{{n % 60:02d}}+00:00")
        db.record(run)
        print(n, flush=True)
""").format(repo=str(REPO))


def test_two_writers_at_once_do_not_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    History(path).close()
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(path), "25", name],
                              stdout=subprocess.PIPE, text=True)
             for name in ("Kund A", "Kund B")]
    for proc in procs:
        proc.wait(timeout=120)
        assert proc.returncode == 0
    with History(path) as db:
        assert db.integrity() == "ok"
        assert len(db.runs("Kund A")) == len(db.runs("Kund B")) == 25
        assert db.db.execute("SELECT count(*) FROM results").fetchone()[0] == 50 * 50


def test_kill_mid_write_loses_no_committed_run_and_leaves_no_partial_one(
        tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(path), "100000", "Kund K"],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    committed = -1
    for _ in range(200):  # bounded: wait for a few commits, then kill mid-stream
        committed = int(proc.stdout.readline())
        if committed >= 5:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    with History(path) as db:
        assert db.integrity() == "ok"
        runs = db.runs("Kund K")
        assert len(runs) >= committed + 1
        per_run = db.db.execute("SELECT run_id, count(*) FROM results GROUP BY run_id")
        assert {n for _, n in per_run} == {50}  # every stored run is whole
        db.load_run(runs[0].id)


# -- what changed since last run ---------------------------------------------------------

def _kinds(changes: list[Change]) -> dict[tuple[str, str], str]:
    return {(c.check_id, c.target): c.kind for c in changes if c.kind != "verdict"}


def test_first_run_has_no_changes() -> None:
    assert compare(None, _run(0, "fail")) == []


def test_new_fixed_worse_better() -> None:
    before = make_run([result("admin.agreement", "a", "pass"), result("admin.dpa", "b", "fail"),
                       result("admin.contacts", "c", "warn"), result("adfs.dns", "d", "fail")])
    after = make_run([result("admin.agreement", "a", "fail"), result("admin.dpa", "b", "pass"),
                      result("admin.contacts", "c", "error"), result("adfs.dns", "d", "warn"),
                      result("service.running", "e", "warn")])
    kinds = _kinds(compare(before, after))
    assert kinds == {("admin.agreement", "a"): "new_fail", ("admin.dpa", "b"): "fixed",
                     ("admin.contacts", "c"): "worse", ("adfs.dns", "d"): "better",
                     ("service.running", "e"): "new_warn"}


def test_verdict_change_comes_first() -> None:
    changes = compare(make_run([result("remote.rdp", "adfs01", "pass")]),
                      make_run([result("remote.rdp", "adfs01", "fail")]))
    assert changes[0].kind == "verdict" and changes[0].after == "not_ready"
    assert changes[0].worse


def test_gateway_that_stopped_answering() -> None:
    before = make_run([result("anyconnect.gateway", "vpn", "warn"),
                       result("remote.rdp", "adfs01", "pass")])
    after = make_run([result("anyconnect.gateway", "vpn", "error"),
                      result("remote.rdp", "adfs01", "fail")])
    kinds = _kinds(compare(before, after))
    assert kinds == {("anyconnect.gateway", "vpn"): "stopped_answering",
                     ("remote.rdp", "adfs01"): "stopped_answering"}


def test_certificate_crossing_the_warning_line() -> None:
    cert = {"tls": {"certificate": {"not_after": "2026-06-01T00:00:00+00:00"}}}
    before = make_run([result("adfs.tls", "sts", "pass", cert),
                       result("adfs.metadata", "signing", "warn", {"days_left": 3})])
    after = make_run([result("adfs.tls", "sts", "warn", cert),
                      result("adfs.metadata", "signing", "fail", {"days_left": -1,
                                                                 "certificate": {}})])
    changes = {c.check_id: c for c in compare(before, after) if c.kind != "verdict"}
    assert changes["adfs.tls"].kind == "expiry_warn"
    assert changes["adfs.tls"].subject == "certificate"
    assert changes["adfs.metadata"].kind == "expiry_fail"


def test_expiry_subjects() -> None:
    assert expiry_subject({"password_expires": "2026-01-01"}) == "password"
    assert expiry_subject({"a": [{"b": {"not_after": "x"}}]}) == "certificate"
    assert expiry_subject({"agreement": "SA-1", "days_left": 20}) == "other"
    assert expiry_subject({"rtt_ms": 3}) == ""


def test_a_problem_that_is_no_longer_checked_is_not_fixed() -> None:
    before = make_run([result("admin.dpa", "b", "fail"), result("admin.agreement", "a", "warn")])
    after = make_run([result("admin.dpa", "b", "skip")])
    kinds = _kinds(compare(before, after))
    assert kinds == {("admin.dpa", "b"): "no_longer_checked",
                     ("admin.agreement", "a"): "no_longer_checked"}


def test_changes_round_trip_through_json() -> None:
    changes = compare(_run(0), _run(1, "fail"))
    assert [Change.from_json(c.to_json()) for c in changes] == changes



@pytest.mark.parametrize("first_page", [0, 2], ids=["header", "pages"])
def test_a_damaged_file_is_a_one_line_error_saying_to_move_it_aside(tmp_path: Path,
                                                                    first_page: int) -> None:
    from accessready.agent.app.history import HistoryDamaged

    from .runs import damaged_history

    path = tmp_path / "audit.db"
    damaged_history(path, first_page=first_page)
    with pytest.raises(HistoryDamaged) as caught, History(path, create=False) as db:
        db.runs("Kund A")
        db.previous("Kund A")
    message = str(caught.value)
    assert str(path) in message and "damaged" in message and "move it aside" in message
    assert "\n" not in message


def test_durations_come_from_each_profiles_newest_run_among_the_newest_recorded(
        tmp_path: Path) -> None:
    """What an audit reads before it starts is bounded by the newest runs, not a scan of
    the whole history; an older profile beyond them counts as never recorded."""
    with History(tmp_path / "h.db") as db:
        for name, seconds in [("a.toml", 9.0), ("a.toml", 1.0), ("b.toml", 3.0),
                              ("c.toml", 4.0), ("", 8.0), ("b.toml", 2.0)]:
            run = make_run([result("admin.agreement", "kund", "pass")], customer="Kund")
            db.record(replace(run, duration_s=seconds), profile=name)
        assert db.durations(newest=100) == {"a.toml": 1.0, "b.toml": 2.0, "c.toml": 4.0}
        # the newest three runs of a profile file: b (2.0), c, b (3.0, older); not a
        assert db.durations(newest=3) == {"b.toml": 2.0, "c.toml": 4.0}
        assert db.durations(newest=0) == {}
