"""A misbehaving third-party plugin is contained, through the real CLI (issue 16, item 4).

The plugin (``tests/fixtures/hostile_plugin_dist``) prints, returns evidence JSON cannot
hold, raises ``SystemExit``/``KeyboardInterrupt``, hangs while planning and impersonates a
built-in check. Each becomes that check's ``error`` (or its evidence); stdout stays the
report's, the run and the audit always finish and write their outputs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest

from .conftest import REPO, accessready, account_profile

RESULT_SCHEMA = json.loads((REPO / "reports" / "schemas" / "result.schema.json").read_text())
AUDIT_SCHEMA = json.loads((REPO / "reports" / "schemas" / "audit.schema.json").read_text())
STOPPERS = [f"hostile.{kind}_{stage}" for kind in ("exit", "kbint")
            for stage in ("applies", "targets", "run")]


def profile(folder: Path, customer: str = "Värd kommun", name: str = "p") -> Path:
    return account_profile(folder / f"{name}.toml", customer, "[checks]\ntimeout = 5\n")


def only(*ids: str) -> list[str]:
    return [a for check_id in ids for a in ("--only", check_id)]


def results(data: dict) -> dict[tuple[str, str], dict]:
    return {(r["check"], r["target"]): r for r in data["results"]}


@pytest.mark.parametrize("output", [["--json", "-"], ["--nagios"], []],
                         ids=["json-stdout", "nagios", "table"])
def test_what_a_plugin_prints_is_its_evidence_not_stdout(tmp_path: Path,
                                                         hostile_plugin_dir: Path,
                                                         output: list[str]) -> None:
    env = {"PYTHONPATH": str(hostile_plugin_dir)}
    saved = tmp_path / "r.json"
    extra = [] if output[:1] == ["--json"] else ["--json", str(saved)]
    out = accessready("--debug", "run", str(profile(tmp_path)),
                      *only("hostile.chatty", "hostile.fd", "hostile.swap"), *output, *extra,
                      env=env)
    assert out.returncode == 0, out.stderr
    if extra:  # stdout carries the report only
        assert "CHATTY" not in out.stdout
    else:  # the evidence is in the JSON, and stdout is nothing but that JSON
        assert out.stdout.startswith("{") and out.stdout.count("CHATTY") == 5
    # written past sys.stdout, to the descriptor: not evidence, but never on stdout either
    assert "FD-WRITE" not in out.stdout and "CHILD-OUT" not in out.stdout
    assert "FD-WRITE" in out.stderr and "CHILD-OUT" in out.stderr
    # sys.stdout swapped back to the interpreter's: the report still reaches stdout, and
    # accessready's own log lines do not follow the plugin's root handler onto it
    assert "SWAPPED-OUT" not in out.stdout and "accessready.registry" not in out.stdout
    if output == ["--nagios"]:
        assert out.stdout.count("\n") == 1 and out.stdout.startswith("ACCESSREADY OK")
    data = json.loads(out.stdout if not extra else saved.read_text("utf-8"))
    printed = results(data)[("hostile.chatty", "chatty")]["details"]["printed"]
    assert printed["stdout"].split() == ["CHATTY-APPLIES-OUT", "CHATTY-TARGETS-OUT",
                                         "CHATTY-RUN-OUT"]
    assert printed["stderr"].split() == ["CHATTY-APPLIES-ERR", "CHATTY-RUN-ERR"]
    # a thread the plugin started is not the check's: its stdout goes to stderr
    assert "CHATTY-THREAD-OUT" in out.stderr


def test_evidence_json_cannot_hold_is_an_error_of_that_check(tmp_path: Path,
                                                            hostile_plugin_dir: Path) -> None:
    env = {"PYTHONPATH": str(hostile_plugin_dir)}
    saved = tmp_path / "r.json"
    out = accessready("run", str(profile(tmp_path)), *only("hostile.not_json", "hostile.nan",
                                                          "hostile.bigint", "hostile.chatty"),
                      "--json", str(saved), env=env)
    assert out.returncode == 1, out.stderr  # errors: ready with warnings, not a crash
    data = json.loads(saved.read_text("utf-8"))
    jsonschema.validate(data, RESULT_SCHEMA)
    found = results(data)
    expected = {("hostile.not_json", "set"): "'nested.value' is a set",
                ("hostile.not_json", "bytes"): "'nested.value' is a bytes",
                ("hostile.not_json", "object"): "'nested.value' is a object",
                ("hostile.nan", "nan"): "'latency_ms[1]' is nan",
                ("hostile.nan", "inf"): "'latency_ms[1]' is inf",
                ("hostile.nan", "duration"): "duration nan",
                ("hostile.bigint", "value"): "'n' is a whole number beyond ±2**63",
                ("hostile.bigint", "key"): "'by_n.<key>' is a whole number beyond ±2**63",
                ("hostile.bigint", "duration"): "duration <int of 16610 bits> is not",
                ("hostile.bigint", "owner"): "owner <int of 16610 bits> is none of"}
    for key, words in expected.items():
        result = found[key]
        assert result["status"] == "error" and result["details"]["reason"] == "bad_result", (
            key, result)
        assert words in result["summary"]["en"], result["summary"]
        assert "inte kan sparas" in result["summary"]["sv"]
        assert "fault in the check itself" in result["remediation"]["en"]
    assert found[("hostile.chatty", "chatty")]["status"] == "pass"  # the others still ran
    fits = found[("hostile.bigint", "fits")]  # the 64-bit extremes are kept as they are
    assert fits["status"] == "pass" and fits["details"]["n"] == [2 ** 63 - 1, -2 ** 63]
    again = accessready("report", str(saved), "--json", str(tmp_path / "again.json"))
    assert again.returncode == 1, again.stderr  # the saved result is a valid one


def test_exit_and_interrupt_raised_by_a_plugin_are_its_errors(tmp_path: Path,
                                                               hostile_plugin_dir: Path) -> None:
    env = {"PYTHONPATH": str(hostile_plugin_dir)}
    saved = tmp_path / "r.json"
    out = accessready("run", str(profile(tmp_path)), *only(*STOPPERS, "hostile.chatty"),
                      "--json", str(saved), env=env)
    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stderr and "interrupted" not in out.stderr
    data = json.loads(saved.read_text("utf-8"))
    assert data["interrupted"] is False
    by_check = {r["check"]: r for r in data["results"]}
    for check_id in STOPPERS:
        result = by_check[check_id]
        assert result["status"] == "error", result
        assert "tried to stop the program" in result["summary"]["en"]
        assert "försökte avsluta programmet" in result["summary"]["sv"]
    assert by_check["hostile.chatty"]["status"] == "pass"
    assert "hostile.exit_run" in out.stdout  # the table was printed


PROCESS_ENDERS = {**{f"hostile.osexit_{stage}": "os._exit(0)"
                     for stage in ("applies", "targets", "run")},
                  "hostile.abort_run": "os.abort()"}


def test_os_exit_and_abort_in_a_check_are_its_errors_not_a_silent_exit(
        tmp_path: Path, hostile_plugin_dir: Path) -> None:
    """An exit past Python (exit 0, no report) would read as "ready" to a scheduler."""
    env = {"PYTHONPATH": str(hostile_plugin_dir)}
    saved = tmp_path / "r.json"
    out = accessready("run", str(profile(tmp_path)), *only(*PROCESS_ENDERS, "hostile.chatty",
                                                          "hostile.forks"),
                      "--json", str(saved), "--nagios", env=env)
    assert out.returncode == 1, out.stderr
    assert out.stdout.startswith("ACCESSREADY WARNING") and out.stdout.count("\n") == 1
    by_check = {r["check"]: r for r in json.loads(saved.read_text("utf-8"))["results"]}
    for check_id, call in PROCESS_ENDERS.items():
        result = by_check[check_id]
        assert result["status"] == "error", result
        assert "tried to stop the program" in result["summary"]["en"]
        assert call in result["summary"]["en"], result["summary"]
    assert by_check["hostile.chatty"]["status"] == "pass"
    # a forked child's own os._exit still ends that child (not a second accessready)
    forks = by_check["hostile.forks"]
    assert forks["status"] == "pass" and forks["details"]["child_exit"] == 0, forks
    assert "FORKED-CHILD-ESCAPED" not in out.stderr
    folder = tmp_path / "profiles"
    folder.mkdir()
    profile(folder, "Första kommun", "a")
    overview = tmp_path / "o.json"
    audit = accessready("audit", str(folder), "--history", str(tmp_path / "h.db"),
                        "--json", str(overview), "--reports-dir", str(tmp_path / "reports"),
                        "--nagios", *only(*PROCESS_ENDERS), env=env)
    assert audit.returncode == 1, audit.stderr
    assert audit.stdout.startswith("ACCESSREADY WARNING - 1 customer")
    data = json.loads(overview.read_text("utf-8"))
    jsonschema.validate(data, AUDIT_SCHEMA)
    assert [c["verdict"] for c in data["customers"]] == ["ready_with_warnings"]


def test_a_hang_in_applies_or_targets_ends_at_the_deadline(tmp_path: Path,
                                                          hostile_plugin_dir: Path) -> None:
    env = {"PYTHONPATH": str(hostile_plugin_dir)}
    saved = tmp_path / "r.json"
    # the plugin sleeps 600 s; the subprocess bound only turns a hang into a failure
    out = accessready("run", str(profile(tmp_path)), *only("hostile.hang_*", "hostile.chatty"),
                      "--timeout", "1", "--json", str(saved), env=env, timeout=120)
    assert out.returncode == 1, out.stderr
    by_check = {r["check"]: r for r in json.loads(saved.read_text("utf-8"))["results"]}
    for check_id in ("hostile.hang_applies", "hostile.hang_targets"):
        assert by_check[check_id]["status"] == "error"
        assert by_check[check_id]["details"]["reason"] == "deadline"
    assert by_check["hostile.chatty"]["status"] == "pass"


def test_a_plugin_cannot_report_in_another_checks_name(tmp_path: Path,
                                                       hostile_plugin_dir: Path) -> None:
    env = {"PYTHONPATH": str(hostile_plugin_dir)}
    out = accessready("run", str(profile(tmp_path)), *only("hostile.impostor"),
                      "--json", "-", env=env)
    data = json.loads(out.stdout)
    ran = [r for r in data["results"] if r["status"] != "skip"]
    assert [(r["check"], r["requirement"], r["status"]) for r in ran] == [
        ("hostile.impostor", "servers", "error")]
    assert "another check" in ran[0]["summary"]["en"]
    assert not [r for r in data["results"] if r["check"] == "account.login"
                and r["status"] != "skip"]


def test_real_ctrl_c_still_interrupts_while_a_plugin_hangs_in_planning(
        tmp_path: Path, hostile_plugin_dir: Path) -> None:
    """A KeyboardInterrupt from a plugin is its error; the user's Ctrl-C still stops."""
    hanging = tmp_path / "hanging"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCESSREADY_")}
    env.update({"PYTHONPATH": str(hostile_plugin_dir), "AR_HOSTILE_HANGING": str(hanging)})
    proc = subprocess.Popen([sys.executable, "-m", "accessready", "run",
                             str(profile(tmp_path)), *only("hostile.hang_applies",
                                                           "hostile.kbint_run"),
                             "--timeout", "60", "--json", str(tmp_path / "r.json")],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(600):  # bounded: until the plugin's applies hangs (for up to 60 s)
        if hanging.exists() or proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _stdout, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 3, stderr
    assert "Traceback" not in stderr and "interrupted" in stderr
    data = json.loads((tmp_path / "r.json").read_text("utf-8"))
    assert data["interrupted"] is True and data["verdict"] == "unknown"
    statuses = {r["check"]: r["status"] for r in data["results"]}
    assert statuses["hostile.hang_applies"] == statuses["hostile.kbint_run"] == "skip"


def test_an_audit_writes_its_overview_whatever_a_plugin_does(tmp_path: Path,
                                                             hostile_plugin_dir: Path) -> None:
    env = {"PYTHONPATH": str(hostile_plugin_dir)}
    folder = tmp_path / "profiles"
    folder.mkdir()
    profile(folder, "Första kommun", "a")
    profile(folder, "Andra kommun", "b")
    outputs = {"html": tmp_path / "o.html", "json": tmp_path / "o.json",
               "prometheus": tmp_path / "o.prom"}
    args = [a for fmt, path in outputs.items() for a in (f"--{fmt}", str(path))]
    out = accessready("audit", str(folder), "--history", str(tmp_path / "h.db"), *args,
                      "--reports-dir", str(tmp_path / "reports"), "--nagios", "--timeout", "1",
                      "--only", "hostile.*", env=env, timeout=120)
    assert out.returncode == 1, out.stderr
    assert out.stdout.startswith("ACCESSREADY WARNING - 2 customers")
    assert "CHATTY" not in out.stdout
    data = json.loads(outputs["json"].read_text("utf-8"))
    jsonschema.validate(data, AUDIT_SCHEMA)
    assert [c["verdict"] for c in data["customers"]] == ["ready_with_warnings"] * 2
    assert all(c["error"] is None for c in data["customers"])
    assert "Första kommun" in outputs["html"].read_text("utf-8")
    for detail in (tmp_path / "reports").glob("*.json"):
        jsonschema.validate(json.loads(detail.read_text("utf-8")), RESULT_SCHEMA)
    assert len(list((tmp_path / "reports").glob("*.json"))) == 2


def test_a_plugin_that_exits_or_prints_while_loading_is_named_and_left_out(
        tmp_path: Path, hostile_plugin_dir: Path) -> None:
    env = {"PYTHONPATH": str(hostile_plugin_dir)}
    out = accessready("checks", "--format", "json", env=env)
    assert out.returncode == 0, out.stderr
    ids = [c["id"] for c in json.loads(out.stdout)]  # stdout is only the catalogue
    assert {"admin.agreement", "hostile.chatty", "hostile.loud"} <= set(ids)
    assert "plugin 'hostile_exits'" in out.stderr and "SystemExit" in out.stderr
    assert "LOUD-IMPORT-OUT" in out.stderr and "LOUD-IMPORT-ERR" in out.stderr
    run = accessready("run", str(profile(tmp_path)), *only("hostile.loud"), "--json", "-",
                      env=env)
    assert run.returncode == 0, run.stderr
    assert results(json.loads(run.stdout))[("hostile.loud", "Värd kommun")]["status"] == "pass"


def test_an_audit_writes_its_overview_when_the_reports_folder_cannot_be_made(
        tmp_path: Path) -> None:
    from .conftest import one_line_error

    blocker = tmp_path / "reports"
    blocker.write_text("a file where the folder should be")
    overview = tmp_path / "o.json"
    out = accessready("audit", str(profile(tmp_path)), "--only", "admin.agreement",
                      "--json", str(overview), "--reports-dir", str(blocker))
    one_line_error(out, str(blocker), "cannot write the customers' reports")
    data = json.loads(overview.read_text("utf-8"))
    jsonschema.validate(data, AUDIT_SCHEMA)
    assert [c["customer"] for c in data["customers"]] == ["Värd kommun"]
