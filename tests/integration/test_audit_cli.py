"""The self-check, merge, audit and history commands, end to end through the real CLI.

The audits run the real ``winvpn.pptp`` check against the PPTP simulator on loopback (the
customer's VPN gateway); stopping the simulator is "a gateway that stopped answering".
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest

from accessready.agent.demo.simulators.pptp import PptpSimulator

from .conftest import REPO, accessready, account_profile, one_line_error

RESULT_SCHEMA = json.loads((REPO / "reports" / "schemas" / "result.schema.json").read_text())
AUDIT_SCHEMA = json.loads((REPO / "reports" / "schemas" / "audit.schema.json").read_text())
CANARY = "SelfCheck-Canary-31c7!"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def plain_profile(folder: Path, name: str, customer: str) -> Path:
    """Admin checks and the support account's login on a server whose SSH port is closed."""
    return account_profile(folder / f"{name}.toml", customer, f"""[[servers]]
name = "adfs01"
address = "127.0.0.1"
roles = ["adfs"]
remote = ["ssh"]
ssh = {{ port = {closed_port()} }}
[checks]
timeout = 5
only = ["admin.agreement", "admin.dpa", "account.login"]
""")


def vpn_profile(folder: Path, name: str, customer: str, port: int, timeout: float = 3,
                also: tuple[str, ...] = ()) -> Path:
    path = folder / f"{name}.toml"
    checks = ", ".join(f'"{c}"' for c in ("winvpn.pptp", "admin.agreement", "admin.dpa", *also))
    path.write_text(f"""
[customer]
name = "{customer}"
agreement = "SA-2"
agreement_valid_until = 2099-12-31
dpa_signed = 2025-01-01
[access]
methods = ["windows_vpn"]
[access.windows_vpn]
server = "127.0.0.1"
tunnel = "pptp"
port = {port}
[checks]
timeout = {timeout}
only = [{checks}]
""", encoding="utf-8")
    return path


# -- self-check, report, merge -------------------------------------------------------------

def test_self_check_report_and_merge(tmp_path: Path) -> None:
    profile = plain_profile(tmp_path, "p", "Själv kommun")
    env = {"AR_CANARY": CANARY}
    out = accessready("run", str(profile), "--self-check", "--json", str(tmp_path / "c.json"),
                      "--html", str(tmp_path / "c.html"), env=env)
    assert out.returncode == 0, out.stderr
    data = json.loads((tmp_path / "c.json").read_text("utf-8"))
    jsonschema.validate(data, RESULT_SCHEMA)
    assert data["self_check"] is True and data["vantage"] == "customer"
    login = next(r for r in data["results"] if r["check"] == "account.login")
    assert login["status"] == "skip" and "never uses it" in login["summary"]["en"]
    assert "Self-check" in (tmp_path / "c.html").read_text("utf-8")

    # the supplier re-renders what the customer sent
    out = accessready("report", str(tmp_path / "c.json"), "--html", str(tmp_path / "r.html"),
                      "--lang", "sv")
    assert out.returncode == 0 and "Egenkontroll" in (tmp_path / "r.html").read_text("utf-8")

    # the engineer's run tries to log in and cannot even connect (the port is closed): the
    # login stays untested, an error, so the verdict is unknown (exit 3), not "not ready"
    engineer = accessready("run", str(profile), "--json", str(tmp_path / "e.json"),
                           "--vantage", "engineer", env=env)
    assert engineer.returncode == 3, engineer.stderr
    tried = json.loads((tmp_path / "e.json").read_text("utf-8"))
    assert tried["verdict"] == "unknown" and not tried["interrupted"]
    out = accessready("merge", str(tmp_path / "c.json"), str(tmp_path / "e.json"),
                      "--json", str(tmp_path / "m.json"), "--html", str(tmp_path / "m.html"))
    assert out.returncode == engineer.returncode, out.stderr  # the login is the engineer's
    merged = json.loads((tmp_path / "m.json").read_text("utf-8"))
    jsonschema.validate(merged, RESULT_SCHEMA)
    assert {s["vantage"] for s in merged["merged_from"]} == {"engineer", "customer"}
    assert "Merged from 2 results" in (tmp_path / "m.html").read_text("utf-8")
    for file in tmp_path.iterdir():
        assert CANARY not in file.read_text("utf-8", "replace"), file.name


def test_merge_refuses_another_customer_in_one_line(tmp_path: Path) -> None:
    for name, customer in (("a", "Kund A"), ("b", "Kund B")):
        out = accessready("run", str(plain_profile(tmp_path, name, customer)), "--self-check",
                          "--json", str(tmp_path / f"{name}.json"), "-q")
        assert out.returncode == 0, out.stderr
    one_line_error(accessready("merge", str(tmp_path / "a.json"), str(tmp_path / "b.json")),
                   "'Kund B'", "--force")
    out = accessready("merge", str(tmp_path / "a.json"), str(tmp_path / "b.json"), "--force",
                      "--json", str(tmp_path / "m.json"), "-q")
    assert out.returncode == 0, out.stderr
    one_line_error(accessready("merge", str(tmp_path / "a.json")), "two or more")
    one_line_error(accessready("merge", str(tmp_path / "a.json"), str(tmp_path / "nope.json")),
                   "nope.json")


@pytest.mark.parametrize("label", ["a+b", "x" * 41, "", "bad,label"])
def test_bad_vantage_labels_are_usage_errors(tmp_path: Path, label: str) -> None:
    profile = plain_profile(tmp_path, "p", "Kund")
    one_line_error(accessready("run", str(profile), "--vantage", label), "--vantage")


# -- audit and history ------------------------------------------------------------------

def test_audit_history_and_prune(tmp_path: Path, gateway: PptpSimulator) -> None:
    folder = tmp_path / "profiles"
    folder.mkdir()
    vpn_profile(folder, "a", "Kund A", gateway.port)
    vpn_profile(folder, "b", "Kund B", gateway.port)
    (folder / "c.toml").write_text('[customer]\nname = "Kund C"\n', encoding="utf-8")
    db = str(tmp_path / "audit.db")
    outputs = ["--html", str(tmp_path / "o.html"), "--json", str(tmp_path / "o.json"),
               "--prometheus", str(tmp_path / "o.prom"), "--reports-dir",
               str(tmp_path / "details")]

    out = accessready("audit", str(folder), "--history", db, *outputs)
    # PPTP answers (a warning: weak crypto); Kund C has no [access]: unknown. A profile
    # that no longer loads must not hide behind a warning (issue 14): UNKNOWN beats
    # WARNING, and the status line, "worst:", JSON and Prometheus agree.
    assert out.returncode == 3, out.stderr
    status = out.stdout.splitlines()[-1]
    assert status.startswith("ACCESSREADY UNKNOWN") and "worst: Kund C" in status, status
    first = json.loads((tmp_path / "o.json").read_text("utf-8"))
    jsonschema.validate(first, AUDIT_SCHEMA)
    assert first["verdicts"] == {"ready": 0, "ready_with_warnings": 2, "not_ready": 0,
                                 "unknown": 1}
    assert first["exit_code"] == 3
    assert first["worst"] == {"verdict": "unknown", "customers": ["Kund C"]}
    assert {c["vantage"] for c in first["customers"] if c["verdict"] != "unknown"} == {"audit"}
    assert "accessready_audit_exit_code 3" in (tmp_path / "o.prom").read_text()
    assert "<title>Audit overview — Unknown" in (tmp_path / "o.html").read_text("utf-8")

    gateway.stop()  # the customers' gateway stops answering
    out = accessready("audit", str(folder), "--history", db, "--nagios", *outputs)
    assert out.returncode == 2, out.stderr
    assert out.stdout.startswith("ACCESSREADY CRITICAL - 3 customers")
    second = json.loads((tmp_path / "o.json").read_text("utf-8"))
    kund_a = next(c for c in second["customers"] if c["customer"] == "Kund A")
    assert [c["kind"] for c in kund_a["changes"]] == ["verdict", "stopped_answering"]
    page = (tmp_path / "o.html").read_text("utf-8")
    assert "Stopped answering" in page
    assert (tmp_path / kund_a["report"]).is_file()  # the overview links to the details
    assert 'accessready_verdict{customer="Kund A"} 2' in (tmp_path / "o.prom").read_text()

    out = accessready("history", "kund a", "--history", db)
    assert out.returncode == 0, out.stderr
    assert "Kund A: 2 runs, newest first" in out.stdout
    assert "Stopped answering" in out.stdout and "Not ready" in out.stdout
    out = accessready("history", "--history", db, "--lang", "sv")
    assert out.returncode == 0 and "Kund C" in out.stdout and "Okänt" in out.stdout
    out = accessready("history", "Kund A", "--history", db, "--format", "json")
    runs = json.loads(out.stdout)["runs"]
    assert [r["verdict"] for r in runs] == ["not_ready", "ready_with_warnings"]
    assert {r["vantage"] for r in runs} == {"audit"}  # the history records the vantage

    # a stored run exported and re-rendered
    exported = tmp_path / "run.json"
    out = accessready("history", "--history", db, "--run", str(runs[1]["id"]), "--json",
                      str(exported))
    assert out.returncode == 0, out.stderr
    assert accessready("report", str(exported), "--nagios").returncode == 1

    one_line_error(accessready("history", "Kund", "--history", db), "matches 3 customers")
    # Kund B's run is not Kund A's to export
    one_line_error(accessready("history", "Kund A", "--history", db, "--run",
                               str(_run_ids(db, "Kund B")[0]), "--json", str(exported)),
                   "is of 'Kund B', not of 'Kund A'")


def _run_ids(db: str, customer: str) -> list[int]:
    out = accessready("history", customer, "--history", db, "--format", "json")
    return [r["id"] for r in json.loads(out.stdout)["runs"]]


def _old_history(path: Path, today_too: bool = True) -> None:
    """Three customers' runs from 2020 and 2021 and (``today_too``) one of Kund A from
    today."""
    import datetime as dt

    from accessready.agent.app.history import History
    from tests.unit.runs import make_run, result

    today = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    with History(path) as history:
        for customer, when in (("Kund A", "2020-03-01"), ("Kund A", "2021-03-01"),
                               ("Kund B", "2020-06-01"), ("Kund C", "2021-01-15")):
            history.record(make_run([result("admin.agreement", "x", "pass")],
                                    customer=customer, finished_at=f"{when}T02:00:00+00:00"))
        if today_too:
            history.record(make_run([result("admin.agreement", "x", "pass")],
                                    customer="Kund A", finished_at=today))


def _stored(path: Path) -> int:
    import sqlite3

    with sqlite3.connect(path) as db:
        return db.execute("SELECT count(*) FROM runs").fetchone()[0]


@pytest.mark.parametrize("lang,would,per_customer", [
    ("en", "Would delete 3 runs (3 results) finished before 2021-02-01 00:00 UTC; 2 runs "
           "would remain:", "  Kund A: 1 runs, 2020-03-01"),
    ("sv", "Skulle ta bort 3 körningar (3 resultat) klara före 2021-02-01 00:00 UTC; 2 "
           "körningar skulle finnas kvar:", "  Kund A: 1 körningar, 2020-03-01"),
])
def test_prune_lists_first_and_needs_a_yes(tmp_path: Path, lang: str, would: str,
                                           per_customer: str) -> None:
    db = tmp_path / "audit.db"
    _old_history(db)
    args = ["history", "--history", str(db), "--prune", "--before", "2021-02-01",
            "--lang", lang]
    out = accessready(*args, "--dry-run")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == would
    assert per_customer in out.stdout and "Kund C" in out.stdout
    assert _stored(db) == 5  # a dry run deletes nothing
    # no terminal to ask and no --yes: refused, nothing deleted
    one_line_error(accessready(*args, stdin=""), "would delete 3 runs", "--yes")
    assert _stored(db) == 5
    out = accessready(*args, "--yes")
    assert out.returncode == 0 and "removed 3 runs" in out.stderr, out.stderr
    assert _stored(db) == 2


def test_prune_asks_on_a_terminal(tmp_path: Path) -> None:
    import os
    import pty

    db = tmp_path / "audit.db"
    _old_history(db)
    for answer, left in (("n\n", 5), ("y\n", 3)):
        leader, follower = pty.openpty()  # stdin is a terminal: the command asks
        try:
            os.write(leader, answer.encode())  # typed ahead; read when the prompt asks
            proc = subprocess.run(
                [sys.executable, "-m", "accessready", "history", "Kund A", "--history",
                 str(db), "--prune", "--keep-days", "30"], stdin=follower,
                capture_output=True, text=True, timeout=60)
        finally:
            os.close(leader)
            os.close(follower)
        assert "Delete these 2 runs for good?" in proc.stderr, proc.stderr
        assert _stored(db) == left, proc.stderr
        assert proc.returncode == (3 if answer == "n\n" else 0), proc.stderr


def test_prune_refuses_a_mistyped_date_and_deleting_everything(tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    _old_history(db)
    base = ["history", "--history", str(db), "--prune", "--yes"]
    one_line_error(accessready(*base, "--before", "2062-01-01"), "in the future")
    one_line_error(accessready(*base, "--before", "2021-1-5"), "YYYY-MM-DD")
    one_line_error(accessready(*base, "--before", "2021-02-30"), "not a day of the calendar")
    one_line_error(accessready(*base, "--before", "01/02/2021"), "YYYY-MM-DD")
    assert _stored(db) == 5


def test_prune_never_takes_a_run_id_and_exports_need_one(tmp_path: Path) -> None:
    """`history --run 2 --prune --yes` once ignored --run and pruned every customer."""
    db = tmp_path / "audit.db"
    _old_history(db)
    base = ["history", "--history", str(db)]
    one_line_error(accessready(*base, "--run", "2", "--prune", "--before", "2026-01-01",
                               "--yes"), "do not go with --prune")
    one_line_error(accessready(*base, "--prune", "--keep-days", "30", "--yes", "--json",
                               str(tmp_path / "x.json")), "do not go with --prune")
    one_line_error(accessready(*base, "--json", str(tmp_path / "x.json")), "go with --run")
    assert _stored(db) == 5


def test_prune_of_every_run_of_every_customer_needs_delete_all(tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    _old_history(db, today_too=False)
    base = ["history", "--history", str(db), "--prune", "--keep-days", "30", "--yes"]
    one_line_error(accessready(*base), "would delete all 4 stored runs of every customer",
                   "--delete-all")
    assert _stored(db) == 4
    # one customer's whole history is fine: the others keep theirs
    assert accessready(*base[:1], "Kund B", *base[1:]).returncode == 0
    assert _stored(db) == 3
    out = accessready(*base, "--delete-all")
    assert out.returncode == 0 and "removed 3 runs" in out.stderr, out.stderr
    assert _stored(db) == 0


def test_second_audit_is_refused_while_the_first_runs(tmp_path: Path,
                                                     plugin_dir: Path) -> None:
    import os
    import signal

    silent = socket.create_server(("127.0.0.1", 0))  # accepts the TCP handshake, says nothing
    plugins = {"PYTHONPATH": str(plugin_dir)}
    first: subprocess.Popen[str] | None = None
    try:
        # The sample plugin's sample.slow blocks for its whole 60 s: the first audit holds
        # the lock until this test ends it, however long the second takes to start.
        profile = vpn_profile(tmp_path, "slow", "Långsam kommun", silent.getsockname()[1],
                              timeout=60, also=("sample.slow",))
        db = tmp_path / "audit.db"
        blocking = tmp_path / "blocking"
        first = subprocess.Popen([sys.executable, "-m", "accessready", "audit", str(profile),
                                  "--history", str(db), "-q"],
                                 env={**os.environ, **plugins, "AR_SAMPLE_SLOW": str(blocking)},
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(600):  # bounded: until sample.slow blocks (the lock is taken first)
            if blocking.exists() or first.poll() is not None:
                break
            time.sleep(0.05)
        second = accessready("audit", str(profile), "--history", str(db),
                             "--reports-dir", str(tmp_path / "refused"), env=plugins)
        one_line_error(second, f"another audit is running (pid {first.pid} since ")
        assert not (tmp_path / "refused").exists()  # a refused audit leaves no folder
        first.send_signal(signal.SIGINT)  # Ctrl-C: rather than wait out sample.slow
        _stdout, stderr = first.communicate(timeout=60)
        assert first.returncode == 3 and "audit interrupted" in stderr, stderr
    finally:
        if first is not None and first.poll() is None:  # a failed assertion: not 60 s more
            first.kill()
            first.communicate()
        silent.close()
    # the first audit released its lock: the next one runs (the gateway now refuses)
    assert accessready("audit", str(profile), "--history", str(db), "-q",
                       "--timeout", "0.5", env=plugins).returncode == 2


def test_keep_days_prunes_on_every_audit(tmp_path: Path, gateway: PptpSimulator) -> None:
    from accessready.agent.app.history import History
    from tests.unit.runs import make_run, result

    db = tmp_path / "audit.db"
    with History(db) as history:
        history.record(make_run([result("admin.agreement", "x", "pass")], customer="Kund A",
                                finished_at="2020-06-01T02:00:00+00:00"))
    profile = vpn_profile(tmp_path, "a", "Kund A", gateway.port)
    out = accessready("audit", str(profile), "--history", str(db), "--keep-days", "30",
                      "--json", str(tmp_path / "o.json"), "-q")
    assert out.returncode == 1, out.stderr
    assert json.loads((tmp_path / "o.json").read_text())["pruned"]["runs"] == 1
    one_line_error(accessready("audit", str(profile), "--keep-days", "30"), "--history")


def test_audit_and_history_usage_errors(tmp_path: Path) -> None:
    one_line_error(accessready("audit"), "Missing argument")
    one_line_error(accessready("audit", str(tmp_path / "*.toml")), "matches no profile")
    one_line_error(accessready("history", "X", "--history", str(tmp_path / "none.db")),
                   "no such history database")
    (tmp_path / "junk.db").write_text("junk" * 1000)
    one_line_error(accessready("history", "X", "--history", str(tmp_path / "junk.db")),
                   "not a usable accessready history database")
    one_line_error(accessready("history", "--history", str(tmp_path / "junk.db"), "--prune"),
                   "--before")


def test_audit_says_why_a_customer_is_unknown(tmp_path: Path) -> None:
    """Issue 14 item 4 in the audit: the Nagios line, the JSON row and the HTML overview
    name the requirement that could not be decided and what decides it."""
    folder = tmp_path / "profiles"
    folder.mkdir()
    plain_profile(folder, "d", "Kund D")  # the login's SSH port is closed: undecided
    out = accessready("audit", str(folder), "--nagios", "--json", str(tmp_path / "o.json"),
                      "--html", str(tmp_path / "o.html"), "--lang", "sv")
    assert out.returncode == 3, out.stderr
    assert out.stdout.startswith("ACCESSREADY UNKNOWN - 1 kund: ")
    line = next(x for x in out.stdout.splitlines() if x.startswith("UNKNOWN: Kund D"))
    assert "kunde inte avgöras" in line and "Så avgörs det" in line, line
    data = json.loads((tmp_path / "o.json").read_text("utf-8"))
    jsonschema.validate(data, AUDIT_SCHEMA)
    row = data["customers"][0]
    assert row["error"] is None and [u["requirement"] for u in row["undecided"]] == ["account"]
    assert row["undecided"][0]["decides"] is not None
    assert all("severity" in f for f in row["findings"]) and row["findings"]
    assert "kunde inte avgöras" in (tmp_path / "o.html").read_text("utf-8")


# -- audit processes -----------------------------------------------------------------------

def test_an_audit_in_processes_says_what_one_process_says(tmp_path: Path) -> None:
    """``--processes 2``: each process reads its profiles' passwords itself (the login is
    tried, not skipped for want of one) and masks them; the history, the customers'
    reports and the overview are the parent's, and the same as one process writes."""
    folder = tmp_path / "profiles"
    folder.mkdir()
    for n in range(4):
        plain_profile(folder, f"p{n}", f"Kund {n}")
    env = {"AR_CANARY": CANARY}
    seen = {}
    for count in ("1", "2"):
        out_dir = tmp_path / f"out{count}"
        out_dir.mkdir()
        out = accessready("--debug", "audit", str(folder), "--processes", count, "--history",
                          str(out_dir / "h.db"), "--reports-dir", str(out_dir / "reports"),
                          "--json", str(out_dir / "a.json"), "--prometheus",
                          str(out_dir / "m.prom"), "-q", env=env)
        assert out.returncode == 3, out.stderr  # every login untested: unknown
        overview = json.loads((out_dir / "a.json").read_text("utf-8"))
        jsonschema.validate(overview, AUDIT_SCHEMA)
        logins = []
        for report in sorted((out_dir / "reports").glob("*.json")):
            data = json.loads(report.read_text("utf-8"))
            login = next(r for r in data["results"] if r["check"] == "account.login")
            assert login["details"].get("reason") != "no_password"
            logins.append((data["customer"], login["status"], login["summary"]["en"]))
        seen[count] = ([(c["customer"], c["verdict"]) for c in overview["customers"]], logins)
        for path in out_dir.rglob("*"):
            if path.is_file():
                assert CANARY.encode() not in path.read_bytes(), path
        assert CANARY not in out.stderr + out.stdout
        assert ("auditing 4 profiles in 2 processes" in out.stderr) == (count == "2")
    assert seen["2"] == seen["1"]
    assert len(seen["1"][1]) == 4


@pytest.mark.parametrize("value", ["0", "65", "two", ""])
def test_bad_process_counts_are_usage_errors(tmp_path: Path, value: str) -> None:
    profile = plain_profile(tmp_path, "p", "Kund")
    one_line_error(accessready("audit", str(profile), "--processes", value), "--processes")


def test_ctrl_c_stops_an_audit_in_processes_and_leaves_none_running(
        tmp_path: Path, plugin_dir: Path) -> None:
    """Ctrl-C in a terminal goes to the whole process group: the audit processes ignore it,
    the audit stops them and ends as interrupted, and no process of it is left."""
    import os
    import signal

    silent = socket.create_server(("127.0.0.1", 0))
    folder = tmp_path / "profiles"
    folder.mkdir()
    for n in range(2):  # one per process: each blocks in sample.slow for its 60 s
        vpn_profile(folder, f"slow{n}", f"Långsam kommun {n}", silent.getsockname()[1],
                    timeout=60, also=("sample.slow",))
    blocking = tmp_path / "blocking"
    audit = subprocess.Popen(
        [sys.executable, "-m", "accessready", "audit", str(folder), "--processes", "2", "-q"],
        env={**os.environ, "PYTHONPATH": str(plugin_dir), "AR_SAMPLE_SLOW": str(blocking)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    group = audit.pid  # its own session: the group a terminal's Ctrl-C would reach
    try:
        for _ in range(600):  # bounded: until a check blocks in an audit process
            if blocking.exists() or audit.poll() is not None:
                break
            time.sleep(0.05)
        assert blocking.exists(), "no audit process reached sample.slow"
        assert len(_in_group(group)) == 3  # the audit and its two processes
        os.killpg(group, signal.SIGINT)
        _stdout, stderr = audit.communicate(timeout=60)
        assert audit.returncode == 3 and "audit interrupted" in stderr, stderr
        assert "Traceback" not in stderr  # the processes ignored Ctrl-C: they were stopped
        for _ in range(200):  # bounded: the group empties
            try:
                os.killpg(group, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            raise AssertionError("a process of the interrupted audit is still running")
    finally:
        if audit.poll() is None:
            audit.kill()
            audit.communicate()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
        silent.close()


def _in_group(group: int) -> list[int]:
    """The pids of the processes in process group ``group`` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[2]) == group:  # after the state: ppid, pgrp
            found.append(int(stat.parent.name))
    return found
