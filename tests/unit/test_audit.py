"""Audits: many profiles, bounded, recorded; the lock; crashes; retention; the outputs."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
import zlib
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest

from accessready.agent.app.audit import AuditError, AuditOptions, expand_profiles, run_audit
from accessready.agent.app.history import History
from accessready.agent.app.lock import LockBusy, RunLock
from accessready.agent.core.audit_types import worst_exit
from accessready.agent.core.model import ExitCode, Requirement, Status, Vantage, Verdict, t
from accessready.agent.plugin.checkapi import Check, Target
from accessready.reports import overview

from .fakes import make_check
from .runs import make_run, result

REPO = Path(__file__).resolve().parents[2]
AUDIT_SCHEMA = json.loads((REPO / "reports" / "schemas" / "audit.schema.json").read_text())
CANARY = "Audit-Canary-5d1e!"


def profile(folder: Path, name: str, customer: str, extra: str = "") -> Path:
    path = folder / f"{name}.toml"
    path.write_text(f'[customer]\nname = "{customer}"\n[access]\nmethods = ["teamviewer"]\n'
                    f"{extra}", encoding="utf-8")
    return path


def access_check(status: Status):
    """A fake TeamViewer network check: the customer's one access method."""
    return make_check("teamviewer.network", Requirement.ACCESS, status, method="teamviewer")


@pytest.fixture
def profiles(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "profiles"
    folder.mkdir()
    return [profile(folder, "a", "Alfa kommun"), profile(folder, "b", "Beta skola"),
            profile(folder, "c", "Gamma kommun")]


def _options(tmp_path: Path, **kw) -> AuditOptions:
    return AuditOptions(history=str(tmp_path / "audit.db"), **kw)


# -- input -------------------------------------------------------------------------------

def test_expand_files_folders_and_globs(tmp_path: Path, profiles: list[Path]) -> None:
    folder = profiles[0].parent
    (folder / "notes.txt").write_text("x")
    assert expand_profiles([str(folder)]) == profiles
    assert expand_profiles([str(folder / "[ab].toml")]) == profiles[:2]
    # duplicates once, order kept; a missing file is that profile's error later
    assert expand_profiles([str(profiles[1]), str(folder), "missing.toml"]) == \
        [profiles[1], profiles[0], profiles[2], Path("missing.toml")]
    with pytest.raises(AuditError, match="matches no profile"):
        expand_profiles([str(folder / "*.nope")])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(AuditError, match=r"no \*.toml profiles"):
        expand_profiles([str(empty)])


# -- running -----------------------------------------------------------------------------

def test_audit_records_every_run_and_keeps_going_after_a_bad_profile(
        tmp_path: Path, profiles: list[Path]) -> None:
    bad = profiles[0].parent / "bad.toml"
    bad.write_text('[customer]\nname = "Trasig kommun"\nbogus = 1\n', encoding="utf-8")
    paths = [*profiles, bad, tmp_path / "missing.toml"]
    report = run_audit(paths, _options(tmp_path, profiles_at_once=2),
                       checks=[access_check(Status.PASS), make_check("admin.agreement")])
    assert [e.customer for e in report.entries] == ["Alfa kommun", "Beta skola",
                                                    "Gamma kommun", "Trasig kommun", "missing"]
    assert [e.verdict for e in report.entries[:3]] == [Verdict.READY] * 3
    broken = report.entries[3]
    assert broken.verdict is Verdict.UNKNOWN and "bogus" in (broken.error or "")
    assert "no such file" in (report.entries[4].error or "")
    assert report.exit_code is ExitCode.UNKNOWN  # ready + unknown → unknown
    with History(tmp_path / "audit.db") as db:
        assert db.runs("Trasig kommun")[0].error == broken.error
        status = db.db.execute("SELECT status, finished_at FROM audits").fetchall()
        assert status[0][0] == "finished" and status[0][1]
        assert {c["customer"] for c in db.customers()} >= {"Alfa kommun", "Gamma kommun"}


def test_second_audit_reports_changes_and_trend(tmp_path: Path, profiles: list[Path]) -> None:
    options = _options(tmp_path)
    first = run_audit(profiles, options, checks=[access_check(Status.PASS)])
    assert all(e.first_run and not e.changes for e in first.entries)
    second = run_audit(profiles, options, checks=[access_check(Status.FAIL)])
    entry = second.entries[0]
    assert not entry.first_run and entry.previous_verdict is Verdict.READY
    kinds = [c.kind for c in entry.changes]
    assert kinds == ["verdict", "stopped_answering"]
    assert [v for _, v in entry.trend] == [Verdict.READY, Verdict.NOT_READY]
    assert second.exit_code is ExitCode.NOT_READY
    with History(tmp_path / "audit.db") as db:
        assert db.runs("Alfa kommun")[0].changes[1].kind == "stopped_answering"


def test_first_audit_after_vantages_compares_with_runs_recorded_as_engineer(
        tmp_path: Path, profiles: list[Path]) -> None:
    """Audits before vantages existed were stored as "engineer"; the first audit with
    vantage "audit" compares with them instead of starting over."""
    laptop = make_check("workstation.os", Requirement.WORKSTATION, Status.ERROR)
    old = run_audit(profiles[:1], _options(tmp_path, vantage="engineer"),
                    checks=[access_check(Status.PASS), laptop])
    assert old.entries[0].run.vantage == "engineer"
    laptop_only = make_check("workstation.os", Requirement.WORKSTATION, Status.ERROR)
    type(laptop_only).vantages = frozenset({Vantage.ENGINEER})
    new = run_audit(profiles[:1], _options(tmp_path),
                    checks=[access_check(Status.PASS), laptop_only])
    entry = new.entries[0]
    assert entry.run.vantage == "audit" and not entry.first_run
    assert [(c.kind, c.check_id) for c in entry.changes] == [
        ("verdict", ""), ("no_longer_checked", "workstation.os")]


class _Meeting(Check):
    """Passes when ``parties`` of its runs are under way at the same time (a barrier);
    fails when they never meet. Counts the most runs in flight at once."""

    id = "admin.meeting"
    requirement = Requirement.ADMIN
    title = t("Meeting", "Möte")
    remediation = {"default": t("Fix it.", "Fixa det.")}

    def __init__(self, parties: int, targets: int = 1) -> None:
        self.barrier = threading.Barrier(parties, timeout=20)
        self.count = targets
        self.lock = threading.Lock()
        self.now = self.most = 0

    def targets(self, profile):  # type: ignore[no-untyped-def]
        return [Target(f"t{n}") for n in range(self.count)]

    def run(self, ctx, target):  # type: ignore[no-untyped-def]
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            self.barrier.wait()
            status = Status.PASS
        except threading.BrokenBarrierError:
            status = Status.FAIL
        with self.lock:
            self.now -= 1
        return self.result(target, status, t(str(status), str(status)))


def test_a_profile_waiting_on_its_checks_holds_no_profile_slot(tmp_path: Path,
                                                               profiles: list[Path]) -> None:
    """One profile at a time, yet the checks of all three profiles wait at once: a
    profile's slot is for loading and planning, not for waiting on a silent host."""
    meeting = _Meeting(parties=3)
    report = run_audit(profiles, AuditOptions(profiles_at_once=1, checks_at_once=8),
                       checks=[access_check(Status.PASS), meeting])
    assert [e.verdict for e in report.entries] == [Verdict.READY] * 3
    assert meeting.most == 3


def test_checks_at_once_bounds_checks_in_flight_across_the_audit(
        tmp_path: Path, profiles: list[Path]) -> None:
    """Three profiles of four targets each, two checks at once in the whole audit: the
    meeting of two always happens, and never more than two are under way."""
    meeting = _Meeting(parties=2, targets=4)
    report = run_audit(profiles, AuditOptions(profiles_at_once=3, checks_at_once=2),
                       checks=[meeting])
    statuses = {r.status for e in report.entries for r in e.run.results}
    assert statuses == {Status.PASS} and meeting.most == 2


class _SeesPlanning(Check):
    """Notes, as each check starts, how many profiles had been planned by then."""

    id = "admin.sees"
    requirement = Requirement.ADMIN
    title = t("Sees", "Ser")
    remediation = {"default": t("Fix it.", "Fixa det.")}

    def __init__(self) -> None:
        self.planned = 0
        self.seen: list[int] = []
        self.lock = threading.Lock()

    def targets(self, profile):  # type: ignore[no-untyped-def]
        with self.lock:
            self.planned += 1
        return [Target("t")]

    def run(self, ctx, target):  # type: ignore[no-untyped-def]
        with self.lock:
            self.seen.append(self.planned)
        time.sleep(0.05)
        return self.result(target, Status.PASS, t("ok", "ok"))


def test_an_audit_plans_every_profile_before_its_checks_take_the_cpu(
        tmp_path: Path, profiles: list[Path]) -> None:
    """One check at a time, one profile planned at a time: no check starts before every
    profile is planned (a silent host is then tried as early as it can be, instead of
    after the quick checks of the profiles before it), and planning never waits for a
    check."""
    sees = _SeesPlanning()
    report = run_audit(profiles, AuditOptions(profiles_at_once=1, checks_at_once=1,
                                              timeout=20), checks=[sees])
    assert [r.status for e in report.entries for r in e.run.results] == [Status.PASS] * 3
    assert sees.seen == [len(profiles)] * len(profiles)


def test_profiles_slowest_last_time_start_first(tmp_path: Path, profiles: list[Path]) -> None:
    """A nightly audit starts the profiles that took longest last night first (a silent
    host's timeout then overlaps the rest); one never recorded starts before them; the
    report keeps the profiles' order."""
    new = profile(profiles[0].parent, "d", "Delta skola")
    with History(tmp_path / "audit.db") as db:
        for path, seconds in zip(profiles, (1.0, 5.0, 9.0), strict=True):
            run = make_run([result("admin.agreement", "kund", "pass")], customer=path.stem)
            db.record(replace(run, duration_s=seconds), profile=path.name)
    order: list[str] = []

    class Records(Check):
        id = "admin.records"
        requirement = Requirement.ADMIN
        title = t("Records", "Antecknar")
        remediation = {"default": t("Fix it.", "Fixa det.")}

        def run(self, ctx, target):  # type: ignore[no-untyped-def]
            order.append(ctx.profile.customer.name)
            return self.result(target, Status.PASS, t("ok", "ok"))

    report = run_audit([*profiles, new], _options(tmp_path, profiles_at_once=1,
                                                  checks_at_once=1), checks=[Records()])
    assert order == ["Delta skola", "Gamma kommun", "Beta skola", "Alfa kommun"]
    assert [e.customer for e in report.entries] == [
        "Alfa kommun", "Beta skola", "Gamma kommun", "Delta skola"]


def test_a_crash_outside_the_checks_is_that_entry_only(tmp_path: Path,
                                                       profiles: list[Path]) -> None:
    def services(prof):
        if prof.customer.name == "Beta skola":
            raise RuntimeError("service setup broke")
        return {}

    report = run_audit(profiles, AuditOptions(), checks=[access_check(Status.PASS)],
                       services=services)
    assert [e.verdict for e in report.entries] == [Verdict.READY, Verdict.UNKNOWN,
                                                   Verdict.READY]
    assert "internal error: RuntimeError: service setup broke" in report.entries[1].error


def test_without_history_there_is_no_lock_and_no_trend(tmp_path: Path,
                                                       profiles: list[Path]) -> None:
    report = run_audit(profiles, AuditOptions(), checks=[access_check(Status.WARN)])
    assert report.history is None and report.audit_id is None
    assert [len(e.trend) for e in report.entries] == [1, 1, 1]


# -- the lock ------------------------------------------------------------------------------

def test_a_second_audit_is_refused_while_one_runs(tmp_path: Path,
                                                  profiles: list[Path]) -> None:
    options = _options(tmp_path)
    # the held lock stands in for a running audit
    with RunLock(tmp_path / "audit.db.lock"), pytest.raises(LockBusy) as refused:
        run_audit(profiles, options, checks=[access_check(Status.PASS)])
    message = str(refused.value)
    assert re.match(r"another audit is running \(pid \d+ since \d{4}-\d\d-\d\dT", message)
    assert "\n" not in message
    assert not (tmp_path / "audit.db").exists()  # refused before touching the history
    # once the first is done, the next one runs
    assert run_audit(profiles, options, checks=[access_check(Status.PASS)]).entries


def test_explicit_lock_path(tmp_path: Path, profiles: list[Path]) -> None:
    lock = tmp_path / "locks" / "nightly.lock"
    with RunLock(lock), pytest.raises(LockBusy):
        run_audit(profiles, AuditOptions(lock=str(lock)), checks=[access_check(Status.PASS)])


_KILLED_AUDIT = textwrap.dedent("""
    import sys
    from pathlib import Path
    sys.path.insert(0, {repo!r})
    from tests.unit.fakes import make_check
    from accessready.agent.app.audit import AuditOptions, run_audit
    from accessready.agent.core.model import Requirement, Status
    folder = Path(sys.argv[1])
    paths = []
    for n in range(40):
        p = folder / f"p{{n:02d}}.toml"
        p.write_text(f'[customer]\\nname = "Kund {{n:02d}}"\\n'
                     '[access]\\nmethods = ["teamviewer"]\\n')
        paths.append(p)
    checks = [make_check("teamviewer.network", Requirement.ACCESS, Status.PASS,
                         method="teamviewer", sleep=0.15, targets=tuple("abcdef"))]
    run_audit(paths, AuditOptions(history=sys.argv[2], profiles_at_once=2,
                                  checks_at_once=2), checks=checks)
""").format(repo=str(REPO))


def test_sigkill_mid_audit_keeps_earlier_runs(tmp_path: Path) -> None:
    db_path = tmp_path / "audit.db"
    folder = tmp_path / "profiles"
    folder.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_AUDIT, str(folder), str(db_path)])
    try:
        seen = 0
        for _ in range(600):  # bounded wait (at most ~60 s) for a few runs to be committed
            if db_path.exists():
                with History(db_path) as db:
                    seen = db.db.execute("SELECT count(*) FROM runs").fetchone()[0]
            if seen >= 3 or proc.poll() is not None:
                break
            time.sleep(0.1)
        assert proc.poll() is None, "the audit finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    with History(db_path) as db:
        assert db.integrity() == "ok"
        rows = db.db.execute("SELECT id FROM runs").fetchall()
        assert len(rows) >= seen >= 3
        for (run_id,) in rows:  # every recorded run is whole and loads
            assert len(db.load_run(run_id).results) == 6
        audit = db.db.execute("SELECT status, finished_at FROM audits").fetchone()
        assert audit == ("running", None)  # the killed audit is visibly unfinished
    # the OS dropped the dead audit's lock: the next audit may start
    with RunLock(str(db_path) + ".lock"):
        pass


# -- retention -----------------------------------------------------------------------------

def test_keep_days_prunes_after_the_audit(tmp_path: Path, profiles: list[Path]) -> None:
    old = (dt.datetime.now(dt.UTC) - dt.timedelta(days=400)).isoformat(timespec="seconds")
    with History(tmp_path / "audit.db") as db:
        db.record(make_run([result("admin.agreement", "x", "pass")], customer="Alfa kommun",
                           finished_at=old))
    report = run_audit(profiles, _options(tmp_path, keep_days=365),
                       checks=[access_check(Status.PASS)])
    assert report.pruned is not None and report.pruned["runs"] == 1
    with History(tmp_path / "audit.db") as db:
        assert len(db.runs("Alfa kommun")) == 1


# -- secrets ------------------------------------------------------------------------------

def test_no_password_reaches_history_or_outputs(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from accessready.agent.plugin.checkapi import Check

    class Leaky(Check):
        id = "account.login"
        title = t("Leaky", "Läckande")
        requirement = Requirement.ACCOUNT
        needs = ("password",)

        def run(self, ctx, target):  # type: ignore[no-untyped-def]
            secret = ctx.password.reveal()
            return self.result(target, Status.FAIL, t(f"pw {secret}", f"lösen {secret}"),
                               {"sent": secret})

    monkeypatch.setenv("AR_AUDIT_PW", CANARY)
    path = profile(tmp_path, "s", "Hemlig kommun",
                   '[account]\nusername = "support"\npassword = { env = "AR_AUDIT_PW" }\n')
    report = run_audit([path], _options(tmp_path), checks=[Leaky()])
    assert report.entries[0].run is not None
    outputs = b"".join(render(report, "en") for render in overview.RENDERERS.values())
    assert CANARY.encode() not in outputs
    with History(tmp_path / "audit.db") as db:
        blobs = [zlib.decompress(b) for (b,) in db.db.execute("SELECT result FROM runs")]
    assert blobs and not any(CANARY.encode() in b for b in blobs)
    assert all(CANARY.encode() not in f.read_bytes() for f in tmp_path.iterdir() if f.is_file())


# -- outputs -------------------------------------------------------------------------------

def _audit_with_everything(tmp_path: Path, profiles: list[Path]):
    hostile = profile(profiles[0].parent, "x", "<script>alert(1)</script> & 'kommun'")
    options = _options(tmp_path)
    run_audit([*profiles, hostile], options, checks=[access_check(Status.PASS)])
    broken = profiles[0].parent / "broken.toml"
    broken.write_text("[customer\n", encoding="utf-8")
    return run_audit([*profiles, hostile, broken], options,
                     checks=[access_check(Status.FAIL), make_check("admin.agreement",
                                                                   status=Status.WARN)])


def test_overview_html_is_self_contained_escaped_and_sorted(tmp_path: Path,
                                                            profiles: list[Path]) -> None:
    report = _audit_with_everything(tmp_path, profiles)
    for lang in ("en", "sv"):
        page = overview.render_html(report, lang)
        assert page.index("Content-Security-Policy") < page.index("<title>")
        assert "<script" not in page and "&lt;script&gt;" in page
        assert not re.search(r'(?:href|src)="(?:https?:)?//', page)  # loads nothing
        rows = re.findall(r'<th scope="row"><a href="#(c-[a-z0-9-]+)">', page)
        assert len(rows) == 5 and all(f'id="{a}"' in page for a in rows)
    page = overview.render_html(report, "en")
    # not ready first, then unknown; each row with trend, changes and worst findings
    assert page.index("Alfa kommun") < page.index("broken.toml")
    assert "Stopped answering" in page and "Could not run" in page
    assert "Verdicts of the last 2 runs" in page
    assert "Slutade svara" in overview.render_html(report, "sv")


def test_overview_json_validates(tmp_path: Path, profiles: list[Path]) -> None:
    report = _audit_with_everything(tmp_path, profiles)
    data = json.loads(overview.render_json(report))
    jsonschema.validate(data, AUDIT_SCHEMA)
    assert data["exit_code"] == 2 and data["verdicts"]["not_ready"] == 4
    alfa = next(c for c in data["customers"] if c["customer"] == "Alfa kommun")
    assert [c["kind"] for c in alfa["changes"]][:2] == ["verdict", "stopped_answering"]
    assert alfa["findings"][0]["status"] == "fail" and len(alfa["trend"]) == 2


def test_overview_prometheus_is_valid_exposition(tmp_path: Path,
                                                 profiles: list[Path]) -> None:
    report = _audit_with_everything(tmp_path, profiles)
    text = overview.render_prometheus_text(report)
    families = re.findall(r"^# TYPE (\S+) gauge$", text, re.M)
    assert len(families) == len(set(families))  # each family once
    samples = [line.rsplit(" ", 1)[0] for line in text.splitlines()
               if line and not line.startswith("#")]
    assert len(samples) == len(set(samples))  # no duplicate series
    verdicts = [line for line in text.splitlines() if line.startswith("accessready_verdict{")]
    assert len(verdicts) == 5  # one per customer, the unrunnable one included
    assert 'accessready_audit_exit_code 2' in text
    assert re.search(r'accessready_changes\{customer="Alfa kommun",kind="stopped_answering"\} 1',
                     text)
    if shutil.which("promtool"):
        out = subprocess.run(["promtool", "check", "metrics"], input=text, text=True,
                             capture_output=True, timeout=60)
        assert "error" not in (out.stdout + out.stderr).lower(), out.stderr


def test_overview_nagios_reports_the_worst_customer(tmp_path: Path,
                                                    profiles: list[Path]) -> None:
    report = _audit_with_everything(tmp_path, profiles)
    lines = overview.render_nagios_text(report, "en").splitlines()
    assert lines[0].startswith("ACCESSREADY CRITICAL - 5 customers: Not ready 4, Unknown 1")
    assert "| ready=0;;;; ready_with_warnings=0;;;; not_ready=4;;;; unknown=1;;;;" in lines[0]
    assert len(lines) == 6 and lines[1].startswith("CRITICAL: ")


def test_worst_exit_ranks_unknown_between_not_ready_and_warnings() -> None:
    """A customer that could not be checked must not hide behind a warning (issue 14)."""
    E = ExitCode
    assert worst_exit([E.READY, E.UNKNOWN]) is E.UNKNOWN
    assert worst_exit([E.UNKNOWN, E.WARNINGS]) is E.UNKNOWN
    assert worst_exit([E.WARNINGS, E.NOT_READY, E.UNKNOWN]) is E.NOT_READY
    assert worst_exit([]) is E.UNKNOWN


def test_every_overview_string_exists_in_both_languages(tmp_path: Path,
                                                        profiles: list[Path]) -> None:
    """The overview's tr(...) ids all exist (a KeyError would fail rendering too)."""
    from accessready.reports.i18n import catalogue

    source = (REPO / "reports" / "templates" / "overview.html").read_text() + \
        (REPO / "reports" / "overview.py").read_text()
    used = set(re.findall(r"""\btr\(\s*["']([\w.]+)["']""", source))
    assert used and not used - set(catalogue())
    for key in (k for k in catalogue() if k.startswith(("change.", "overview.", "history."))):
        assert all(catalogue()[key][lang].strip() for lang in ("en", "sv")), key


def test_a_check_that_cannot_be_hashed_still_gets_its_catalogue(tmp_path) -> None:
    # The catalogue is cached per set of checks; a plugin check class with __eq__ and no
    # __hash__ (a plain dataclass) must not turn every run into an error.
    import dataclasses

    from accessready.agent.app.run import _catalogue_of
    from accessready.agent.core.model import Requirement, t
    from accessready.agent.plugin.checkapi import Check

    @dataclasses.dataclass
    class EqCheck(Check):
        id = "plugin.eq"
        title = t("Eq", "Eq")
        requirement = Requirement.ADMIN

    catalogue = _catalogue_of([EqCheck()])
    assert catalogue["plugin.eq"]["id"] == "plugin.eq"
    assert _catalogue_of([EqCheck()]) == catalogue and _catalogue_of([EqCheck()]) is not catalogue
