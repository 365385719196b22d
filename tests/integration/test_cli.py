"""The command line, end to end: exit codes, one-line errors, outputs, no secrets."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from .conftest import REPO, accessready, account_profile, one_line_error

PROFILES = REPO / "tests" / "profiles"
RESULT_SCHEMA = json.loads((REPO / "reports" / "schemas" / "result.schema.json").read_text())
CANARY = "Canary-Secret-91f2c!"


def admin_only_profile(tmp_path: Path, extra: str = "") -> Path:
    return account_profile(tmp_path / "p.toml", "CLI kund", f"""[checks]
only = ["admin.agreement", "admin.dpa", "sample.*"]
{extra}
""")


def test_help_and_version() -> None:
    out = accessready("--help")
    assert out.returncode == 0 and "Exit codes" in out.stdout and "3  unknown" in out.stdout
    assert accessready("--version").returncode == 0


@pytest.mark.parametrize("args", [["run"], ["frobnicate"], ["run", "x.toml", "--timeout", "-1"],
                                  ["run", "x.toml", "--lang", "de"]])
def test_usage_errors_are_one_line_exit_3(args: list[str]) -> None:
    one_line_error(accessready(*args))


@pytest.mark.parametrize("name", ["07_literal_password", "22_cidr_host_bits", "01_toml_syntax",
                                  "60_timeout_hundreds_of_digits",
                                  "61_concurrency_thousands_of_digits"])
def test_bad_profile_exit_3_one_line(name: str) -> None:
    for command in ("validate", "run"):
        out = accessready(command, str(PROFILES / "broken" / f"{name}.toml"))
        assert out.returncode == 3 and out.stderr.count("\n") == 1, out
        assert "Traceback" not in out.stderr and "Sommar2026" not in out.stderr


def test_validate_ok() -> None:
    out = accessready("validate", str(PROFILES / "valid" / "full.toml"))
    assert out.returncode == 0 and "valid" in out.stdout


def test_checks_catalogue() -> None:
    out = accessready("checks", "--format", "json")
    assert out.returncode == 0
    ids = [c["id"] for c in json.loads(out.stdout)]
    assert {"admin.agreement", "admin.dpa", "admin.contacts", "admin.maintenance_contact"} <= \
        set(ids)
    where = {c["id"]: c["vantages"] for c in json.loads(out.stdout)}
    assert where["workstation.os"] == ["engineer"]
    assert where["teamviewer.host"] == ["engineer", "customer", "audit"]
    table = accessready("checks", "--lang", "sv").stdout.splitlines()
    assert next(x for x in table if x.startswith("workstation.os")).endswith("bara från: engineer")


def test_run_writes_valid_json_and_rerenders(tmp_path: Path) -> None:
    profile = admin_only_profile(tmp_path)
    out = accessready("run", str(profile), "--json", str(tmp_path / "r.json"))
    # access was not run (--only): no gating decision, but admin passed → ready
    assert out.returncode == 0, out.stderr
    data = json.loads((tmp_path / "r.json").read_text("utf-8"))
    jsonschema.validate(data, RESULT_SCHEMA)
    assert data["verdict"] == "ready" and data["exit_code"] == 0
    again = accessready("report", str(tmp_path / "r.json"), "--json", str(tmp_path / "r2.json"))
    assert again.returncode == 0
    assert json.loads((tmp_path / "r2.json").read_text())["results"] == data["results"]


def test_report_rejects_a_non_result(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "something/9"}')
    out = accessready("report", str(bad), "--json", str(tmp_path / "x.json"))
    assert out.returncode == 3 and "not an accessready result" in out.stderr
    bad.write_text("{nope")
    out = accessready("report", str(bad))
    assert out.returncode == 3 and "not valid JSON" in out.stderr


def test_unwritable_output_is_one_line(tmp_path: Path) -> None:
    profile = admin_only_profile(tmp_path)
    out = accessready("run", str(profile), "--json", str(tmp_path / "no" / "dir" / "r.json"))
    errors = [line for line in out.stderr.splitlines() if "error" in line]
    assert out.returncode == 3 and len(errors) == 1 and "cannot write" in errors[0]


def test_init_writes_a_valid_profile(tmp_path: Path) -> None:
    target = tmp_path / "new.toml"
    out = accessready("init", "--out", str(target), "--customer", "Ny kund",
                      "--methods", "anyconnect,windows_vpn", "--gateway", "vpn.ny.se")
    assert out.returncode == 0, out.stderr
    assert accessready("validate", str(target)).returncode == 0
    assert "vpn.ny.se" in target.read_text("utf-8")
    again = accessready("init", "--out", str(target))
    assert again.returncode == 3 and "already exists" in again.stderr


def test_an_untouched_init_template_never_passes_the_paperwork(tmp_path: Path) -> None:
    """The template once carried a placeholder agreement and DPA date that passed
    admin.agreement and admin.dpa, so a forgotten template was "ready" on paperwork."""
    target = tmp_path / "new.toml"
    assert accessready("init", "--out", str(target), "--customer", "Ny kund", "--methods",
                       "anyconnect").returncode == 0
    result = tmp_path / "r.json"
    out = accessready("run", str(target), "--only", "admin.agreement", "--only", "admin.dpa",
                      "--json", str(result))
    assert out.returncode == 2, out.stderr  # not ready
    statuses = {r["check"]: r["status"] for r in json.loads(result.read_text())["results"]}
    assert (statuses["admin.agreement"], statuses["admin.dpa"]) == ("fail", "fail"), statuses


def test_init_asks_where_teamviewer_host_runs(tmp_path: Path) -> None:
    """teamviewer.host examines the named server; init asks for it when TeamViewer is
    offered, and the template it writes names it (a [[servers]] entry when it is new)."""
    from accessready.agent.app.init_profile import InitAnswers, ask_missing, render_profile
    from accessready.agent.core.profile import parse_profile

    asked: list[str] = []

    def prompt(text: str, default: str) -> str:
        asked.append(text)
        return "tv01" if "TeamViewer Host" in text else default

    answers = ask_missing(InitAnswers(methods="teamviewer"), prompt)
    assert answers.teamviewer_server == "tv01" and "TeamViewer Host" in asked[-1]
    profile = parse_profile(render_profile(answers))
    tv = profile.access.teamviewer
    assert tv is not None and tv.server == "tv01"
    assert "winrm" in next(s for s in profile.servers if s.name == "tv01").remote
    asked.clear()
    ask_missing(InitAnswers(methods="anyconnect"), prompt)
    assert not any("TeamViewer" in q for q in asked)  # not offered: not asked

    target = tmp_path / "tv.toml"
    out = accessready("init", "--out", str(target), "--customer", "TV kund", "--methods",
                      "teamviewer", "--teamviewer-server", "adfs01")
    assert out.returncode == 0, out.stderr
    assert 'server = "adfs01"' in target.read_text("utf-8")
    assert accessready("validate", str(target)).returncode == 0


def test_self_check_from_an_outside_vantage_is_a_usage_error(tmp_path: Path) -> None:
    out = accessready("run", str(admin_only_profile(tmp_path)), "--self-check",
                      "--vantage", "audit")
    one_line_error(out, "--self-check", "--vantage audit")


def test_plugin_runs_and_no_secret_reaches_any_output(tmp_path: Path, plugin_dir: Path) -> None:
    """A third-party plugin registers like a built-in one; a leaky one leaks nothing."""
    env = {"PYTHONPATH": str(plugin_dir), "AR_CANARY": CANARY}
    catalogue = accessready("checks", env=env)
    assert "sample.hello" in catalogue.stdout and "sample.leak" in catalogue.stdout
    profile = admin_only_profile(tmp_path, '[[servers]]\nname = "srv"\naddress = "192.0.2.9"')
    outputs = {fmt: tmp_path / f"out.{fmt}" for fmt in ("json", "html", "junit", "prometheus")}
    args = [a for fmt, path in outputs.items() for a in (f"--{fmt}", str(path))]
    out = accessready("--debug", "run", str(profile), *args, env=env)
    assert out.returncode == 1, out.stderr  # the leaky check warns and errors
    data = json.loads(outputs["json"].read_text("utf-8"))
    by_id = {(r["check"], r["target"]): r for r in data["results"]}
    assert by_id[("sample.hello", "CLI kund")]["status"] == "pass"
    assert by_id[("sample.leak", "one")]["status"] == "warn"
    assert by_id[("sample.leak", "one")]["details"]["printed"]["stdout"] == \
        "printing the password ***\n"
    assert by_id[("sample.leak", "two")]["status"] == "error"
    for fmt, path in outputs.items():
        assert CANARY not in path.read_text("utf-8", "replace"), fmt
    assert CANARY not in out.stdout and CANARY not in out.stderr
    assert "logging the password ***" in out.stderr  # the log line was written, masked
    nagios = accessready("report", str(outputs["json"]), "--nagios", env=env)
    assert CANARY not in nagios.stdout + nagios.stderr


def test_ctrl_c_writes_what_finished_with_verdict_unknown(tmp_path: Path,
                                                          plugin_dir: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    profile = admin_only_profile(tmp_path, "timeout = 60")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCESSREADY_")}
    blocking = tmp_path / "blocking"
    env.update({"PYTHONPATH": str(plugin_dir), "AR_SAMPLE_SLOW": str(blocking)})
    out = tmp_path / "r.json"
    # One check at a time, in plan order: the admin checks (ADMIN) before sample.slow
    # (SERVERS, a plugin's), so once it blocks their results are in.
    proc = subprocess.Popen([sys.executable, "-m", "accessready", "run", str(profile),
                             "--json", str(out), "--only", "admin.*", "--only", "sample.slow",
                             "--concurrency", "1"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(600):  # bounded: until sample.slow blocks (for 60 s); a loaded machine
        if blocking.exists() or proc.poll() is not None:  # may take seconds to get there
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _stdout, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 3, stderr
    assert "Traceback" not in stderr and "interrupted" in stderr
    data = json.loads(out.read_text("utf-8"))
    assert data["verdict"] == "unknown" and data["interrupted"] is True
    statuses = {r["check"]: r["status"] for r in data["results"]}
    assert statuses["admin.agreement"] == "pass" and statuses["sample.slow"] == "skip"


def test_demo_runs_and_writes_outputs(tmp_path: Path) -> None:
    out = accessready("demo", cwd=tmp_path, timeout=180)
    assert out.returncode == 0, out.stderr  # the demo ran; its customer has findings
    data = json.loads((tmp_path / "demo-result.json").read_text("utf-8"))
    jsonschema.validate(data, RESULT_SCHEMA)
    assert data["verdict"] == "ready_with_warnings" and data["exit_code"] == 1
    assert (tmp_path / "report.html").stat().st_size > 1000
    by_key = {(r["check"], r["target"]): r for r in data["results"]}
    assert by_key[("admin.contacts", "Anna Andersson")]["status"] == "pass"
    broken = by_key[("admin.contacts", "Cecilia Carlsson")]
    assert broken["status"] == "fail" and broken["remediation"]["sv"]
    assert "Verdict" in out.stdout


def test_json_to_stdout_is_valid_json_and_two_stdouts_are_refused(tmp_path: Path) -> None:
    profile = admin_only_profile(tmp_path)
    out = accessready("run", str(profile), "--json", "-")
    assert json.loads(out.stdout)["schema"] == "accessready.result/1"
    both = accessready("run", str(profile), "--json", "-", "--html", "-")
    assert both.returncode == 3 and "only one output can go to stdout" in both.stderr


def test_only_matching_nothing_warns(tmp_path: Path) -> None:
    out = accessready("run", str(admin_only_profile(tmp_path)), "--only", "adfz.*")
    assert out.returncode == 3  # nothing ran: no verdict possible
    assert "--only adfz.* matches no check" in out.stderr


def test_nan_timeout_is_refused(tmp_path: Path) -> None:
    out = accessready("run", str(admin_only_profile(tmp_path)), "--timeout", "nan")
    assert out.returncode == 3 and "finite" in out.stderr


def one_module_plugin(tmp_path: Path, module: str, source: str) -> Path:
    """A folder for PYTHONPATH holding a one-module plugin registered by its metadata."""
    site = tmp_path / "site"
    meta = site / f"{module}-1.0.dist-info"
    meta.mkdir(parents=True)
    (meta / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
    (meta / "entry_points.txt").write_text(f"[accessready.checks]\nx = {module}:CHECKS\n")
    (site / f"{module}.py").write_text(source)
    return site


def test_a_plugin_never_sees_the_password_variable_even_at_import(tmp_path: Path) -> None:
    """The password variable is withheld before plugins are imported: a child process a
    plugin starts as it is imported, or in a run that never needs the password, gets
    nothing, and evidence copied from the environment says so."""
    site = one_module_plugin(tmp_path, "ar_snoop_plugin", (
        "import os, subprocess\n"
        "from accessready.agent.plugin.checkapi import Check\n"
        "from accessready.agent.core.model import Requirement, Status, t\n\n"
        "def _child():\n"
        "    return subprocess.run(['sh', '-c', 'echo $AR_SNOOP_PW'], capture_output=True,\n"
        "                          text=True, timeout=10).stdout.strip()\n\n"
        "AT_IMPORT = _child()\n\n"
        "class SnoopCheck(Check):\n"
        "    id = 'snoop.env'\n"
        "    requirement = Requirement.SERVERS\n"
        "    title = t('Snoop', 'Snoka')\n"
        "    remediation = {'default': t('', '')}\n\n"
        "    def run(self, ctx, target):\n"
        "        return self.result(target, Status.PASS, t('s', 's'), {\n"
        "            'at_import': bool(AT_IMPORT), 'in_run': bool(_child()),\n"
        "            'environ': 'AR_SNOOP_PW' in os.environ})\n\n"
        "CHECKS = [SnoopCheck]\n"))
    profile = account_profile(tmp_path / "p.toml", "Kund AB", "")
    text = profile.read_text().replace('"AR_CANARY"', '"AR_SNOOP_PW"')
    assert "AR_SNOOP_PW" in text
    profile.write_text(text)
    out = accessready("run", str(profile), "--only", "snoop.env", "--json", "-",
                      env={"PYTHONPATH": str(site), "AR_SNOOP_PW": "Snoop-Canary-77"})
    assert "Snoop-Canary-77" not in out.stdout + out.stderr
    [result] = [r for r in json.loads(out.stdout)["results"] if r["check"] == "snoop.env"]
    assert result["details"] == {"at_import": False, "in_run": False, "environ": False}


def test_checks_neutralises_escapes_in_a_plugin_title(tmp_path: Path) -> None:
    """``accessready checks`` prints plugin titles: an OSC sequence (it retitles the
    terminal; others move the cursor or rewrite lines) must not reach the terminal."""
    site = one_module_plugin(tmp_path, "ar_escape_plugin",
        "from accessready.agent.plugin.checkapi import Check\n"
        "from accessready.agent.core.model import Requirement, t\n\n"
        "class EscapeCheck(Check):\n"
        "    id = 'escape.title'\n"
        "    requirement = Requirement.SERVERS\n"
        "    title = t('T\\x1b]0;X\\x07itle', 'T\\x1b]0;X\\x07itel')\n"
        "    remediation = {'default': t('', '')}\n\n"
        "CHECKS = [EscapeCheck]\n")
    for lang, title in (("en", "Title"), ("sv", "Titel")):
        out = accessready("checks", "--lang", lang, env={"PYTHONPATH": str(site)})
        assert out.returncode == 0, out.stderr
        line = next(x for x in out.stdout.splitlines() if x.startswith("escape.title"))
        assert "\x1b" not in out.stdout and "\x07" not in out.stdout
        assert f"T\ufffd]0;X\ufffd{title[1:]}" in line
    listed = accessready("checks", "--format", "json", env={"PYTHONPATH": str(site)})
    assert "\x1b" not in listed.stdout and "\x07" not in listed.stdout
    entry = next(c for c in json.loads(listed.stdout) if c["id"] == "escape.title")
    assert "\x1b" in entry["title"]["en"]  # JSON carries it escaped, as data
