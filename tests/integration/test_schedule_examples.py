"""The scheduling examples in docs/schedule/ parse, and each runs a valid ``accessready
audit`` command (every flag exists, the arguments parse, the command really runs) with the
settings that keep a still-running audit from being doubled.

Nothing here needs a tool outside Python: the unit files are checked by ``unitfile.py``
(not ``systemd-analyze``, which CI machines lack) and the commands run as
``python -m accessready`` (not a console script that must be on PATH)."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import click
import pytest
from defusedxml import ElementTree

from accessready.agent.cli.main import audit as audit_command

from . import unitfile
from .conftest import REPO, accessready

DOCS = REPO / "docs" / "schedule"
TASK_NS = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}


def parse_audit_args(args: list[str]) -> dict:
    """The audit command's parameters for ``args``; raises on an unknown flag or bad value."""
    ctx = audit_command.make_context("audit", list(args))
    assert ctx.params["profiles"], "the example audits no profiles"
    return ctx.params


def audit_args(tokens: list[str]) -> list[str]:
    """The arguments after ``.../accessready audit`` in a tokenised command line."""
    for i, token in enumerate(tokens[:-1]):
        if re.search(r"accessready(\.exe)?$", token) and tokens[i + 1] == "audit":
            return tokens[i + 2:]
    raise AssertionError(f"no `accessready audit` in {tokens}")


def test_systemd_service_runs_a_valid_audit() -> None:
    unit = unitfile.parse(DOCS / "accessready-audit.service")
    service = unit["Service"]
    assert service["Type"] == ["oneshot"]
    (exec_start,) = service["ExecStart"]
    params = parse_audit_args(audit_args(shlex.split(exec_start)))
    assert params["history_path"] and params["keep_days"] == 400 and params["quiet"]
    assert params["prometheus"].startswith("/var/lib/node_exporter/")
    assert set(service["SuccessExitStatus"][0].split()) == {"1", "2"}  # findings, not failure
    assert "network-online.target" in unit["Unit"]["After"][0]


def test_systemd_timer_triggers_the_service() -> None:
    timer = unitfile.parse(DOCS / "accessready-audit.timer")
    assert timer["Timer"]["Unit"] == ["accessready-audit.service"]
    assert timer["Timer"]["Persistent"] == ["true"] and timer["Timer"]["OnCalendar"]
    assert timer["Install"]["WantedBy"] == ["timers.target"]


@pytest.mark.parametrize("name", ["accessready-audit.service", "accessready-audit.timer"])
def test_unit_files_are_valid_systemd(name: str) -> None:
    """What ``systemd-analyze verify`` would say, checked in Python (see unitfile.py)."""
    assert unitfile.problems(DOCS / name) == []


def _run_example(tmp_path: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    """Run an example's audit for real: ``python -m accessready`` (no PATH, no install
    location), its /etc and /var paths moved under ``tmp_path``, over one profile whose
    checks need no network."""
    moved = [str(tmp_path / a.lstrip("/")) if a.startswith(("/etc/", "/var/")) else a
             for a in args]
    for arg in moved:
        if arg.startswith(str(tmp_path)):
            Path(arg).parent.mkdir(parents=True, exist_ok=True)
    profiles = Path(moved[0])
    profiles.mkdir(parents=True, exist_ok=True)
    (profiles / "kund.toml").write_text(
        '[customer]\nname = "Schemakommun"\nagreement = "SA-9"\n'
        "agreement_valid_until = 2099-12-31\ndpa_signed = 2025-01-01\n"
        '[access]\nmethods = ["teamviewer"]\n'
        '[checks]\nonly = ["admin.agreement", "admin.dpa"]\n', encoding="utf-8")
    return accessready("audit", *moved, cwd=tmp_path, timeout=120)


def test_systemd_execstart_runs(tmp_path: Path) -> None:
    (exec_start,) = unitfile.parse(DOCS / "accessready-audit.service")["Service"]["ExecStart"]
    out = _run_example(tmp_path, audit_args(shlex.split(exec_start)))
    assert out.returncode == 0, out.stderr  # the one customer is ready
    params = parse_audit_args(audit_args(shlex.split(exec_start)))
    for option in ("history_path", "html", "json_", "prometheus"):
        assert (tmp_path / params[option].lstrip("/")).is_file(), option


def test_cron_command_runs(tmp_path: Path) -> None:
    command = next(line for line in (DOCS / "accessready.cron").read_text("utf-8").splitlines()
                   if line[:1].isdigit()).split(None, 6)[6]
    out = _run_example(tmp_path, audit_args(shlex.split(command)))
    assert out.returncode == 0, out.stderr


_CRON_RANGES = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]


def _cron_field_ok(field: str, low: int, high: int) -> bool:
    for part in field.split(","):
        base, _, step = part.partition("/")
        if step and not step.isdigit():
            return False
        if base == "*":
            continue
        bounds = base.split("-")
        if not all(b.isdigit() and low <= int(b) <= high for b in bounds) or len(bounds) > 2:
            return False
    return True


def test_cron_line_runs_a_valid_audit() -> None:
    jobs = []
    for line in (DOCS / "accessready.cron").read_text("utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if re.match(r"^[A-Z_]+=", line):  # SHELL=, PATH=, MAILTO=
            continue
        jobs.append(line)
    assert len(jobs) == 1
    fields = jobs[0].split(None, 6)
    for field, (low, high) in zip(fields[:5], _CRON_RANGES, strict=True):
        assert _cron_field_ok(field, low, high), f"bad cron field {field!r}"
    user, command = fields[5], fields[6]
    assert user == "accessready"
    assert "%" not in command  # cron would turn it into a newline
    params = parse_audit_args(audit_args(shlex.split(command)))
    assert params["history_path"] and params["keep_days"] == 400


def test_task_scheduler_xml_runs_a_valid_audit_and_never_doubles() -> None:
    root = ElementTree.parse(DOCS / "accessready-audit.xml").getroot()
    assert root.tag == f"{{{TASK_NS['t']}}}Task"
    assert root.findtext("t:Settings/t:MultipleInstancesPolicy", namespaces=TASK_NS) == \
        "IgnoreNew"
    assert root.findtext("t:Settings/t:ExecutionTimeLimit", namespaces=TASK_NS)
    assert root.find("t:Triggers/t:CalendarTrigger/t:ScheduleByDay", TASK_NS) is not None
    command = root.findtext("t:Actions/t:Exec/t:Command", namespaces=TASK_NS)
    assert command and command.endswith("accessready.exe")
    arguments = root.findtext("t:Actions/t:Exec/t:Arguments", namespaces=TASK_NS) or ""
    # Windows paths: split on spaces (posix=False keeps the backslashes)
    args = [a.strip('"') for a in shlex.split(arguments, posix=False)]
    assert args[0] == "audit"
    params = parse_audit_args(args[1:])
    assert params["history_path"] == r"C:\accessready\data\audit.db"


def test_a_broken_example_would_be_caught(tmp_path: Path) -> None:
    with pytest.raises(click.NoSuchOption):
        parse_audit_args(["profiles", "--histroy", "x.db"])
    assert not _cron_field_ok("61", 0, 59)
    good = (DOCS / "accessready-audit.service").read_text("utf-8")
    for broken, complaint in [
        (good.replace("ExecStart=", "ExecStar="), "unknown directive ExecStar="),
        (good.replace("ExecStart=/opt", "ExecStart=opt"), "ExecStart="),
        (good.replace("--quiet", "--quiet --html 100%.html"), "ExecStart="),
        (good.replace("TimeoutStartSec=3h", "TimeoutStartSec=3 hrs"), "TimeoutStartSec="),
        (good.replace("ProtectSystem=strict", "ProtectSystem=yes-please"), "ProtectSystem="),
        (good.replace("[Service]", "[Servise]"), "unknown section [Servise]"),
    ]:
        (tmp_path / "accessready-audit.service").write_text(broken, encoding="utf-8")
        found = unitfile.problems(tmp_path / "accessready-audit.service")
        assert any(complaint in p for p in found), (complaint, found)
    timer = (DOCS / "accessready-audit.timer").read_text("utf-8")
    for broken, complaint in [
        (timer.replace("*-*-* 02:30:00", "*-*-* 25:30:00"), "OnCalendar="),
        (timer.replace("Unit=accessready-audit.service", "Unit=accessready-audit.servce"),
         "Unit="),
        (timer.replace("Persistent=true", "Persistent=maybe"), "Persistent="),
    ]:
        (tmp_path / "accessready-audit.timer").write_text(broken, encoding="utf-8")
        found = unitfile.problems(tmp_path / "accessready-audit.timer")
        assert any(complaint in p for p in found), (complaint, found)


def test_readme_names_every_example() -> None:
    readme = (DOCS / "README.md").read_text("utf-8")
    for file in DOCS.iterdir():
        if file.name != "README.md":
            assert file.name in readme, file.name
    assert "another audit is running" in readme
