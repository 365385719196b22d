"""The scheduling examples in docs/schedule/ parse, and each runs a valid ``accessready
audit`` command (every flag exists, the arguments parse) with the settings that keep a
still-running audit from being doubled."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import click
import pytest
from defusedxml import ElementTree

from accessready.agent.cli import audit as audit_command

from .conftest import REPO

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


def unit_file(path: Path) -> dict[str, dict[str, list[str]]]:
    """A systemd unit file: section → key → values (keys may repeat), ``\\`` continued."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    logical, pending = [], ""
    for raw in path.read_text("utf-8").splitlines():
        if not pending and raw.lstrip().startswith(("#", ";")):
            continue
        if raw.endswith("\\"):
            pending += raw[:-1] + " "
            continue
        logical.append(pending + raw)
        pending = ""
    assert not pending, f"{path.name}: a continued line never ends"
    for line in filter(str.strip, logical):
        if line.startswith("["):
            current = sections.setdefault(line.strip("[] "), {})
            continue
        assert current is not None and "=" in line, f"{path.name}: stray line {line!r}"
        key, value = line.split("=", 1)
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def test_systemd_service_runs_a_valid_audit() -> None:
    unit = unit_file(DOCS / "accessready-audit.service")
    service = unit["Service"]
    assert service["Type"] == ["oneshot"]
    (exec_start,) = service["ExecStart"]
    params = parse_audit_args(audit_args(shlex.split(exec_start)))
    assert params["history_path"] and params["keep_days"] == 400 and params["quiet"]
    assert params["prometheus"].startswith("/var/lib/node_exporter/")
    assert set(service["SuccessExitStatus"][0].split()) == {"1", "2"}  # findings, not failure
    assert "network-online.target" in unit["Unit"]["After"][0]


def test_systemd_timer_triggers_the_service() -> None:
    timer = unit_file(DOCS / "accessready-audit.timer")
    assert timer["Timer"]["Unit"] == ["accessready-audit.service"]
    assert timer["Timer"]["Persistent"] == ["true"] and timer["Timer"]["OnCalendar"]
    assert timer["Install"]["WantedBy"] == ["timers.target"]


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze not installed")
def test_systemd_analyze_verify(tmp_path: Path) -> None:
    """systemd's own check; ExecStart must name an existing binary, so point it at ours."""
    binary = shutil.which("accessready")
    if binary is None:
        pytest.skip("the accessready console script is not on PATH")
    for name in ("accessready-audit.service", "accessready-audit.timer"):
        text = (DOCS / name).read_text("utf-8")
        (tmp_path / name).write_text(text.replace("/opt/accessready/.venv/bin/accessready",
                                                  binary), encoding="utf-8")
    out = subprocess.run(["systemd-analyze", "verify", "--man=no",
                          str(tmp_path / "accessready-audit.service"),
                          str(tmp_path / "accessready-audit.timer")],
                         capture_output=True, text=True, timeout=60)
    complaints = [line for line in (out.stdout + out.stderr).splitlines()
                  if "accessready-audit" in line]
    assert out.returncode == 0 and not complaints, out.stdout + out.stderr


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


def test_a_broken_example_would_be_caught() -> None:
    with pytest.raises(click.NoSuchOption):
        parse_audit_args(["profiles", "--histroy", "x.db"])
    assert not _cron_field_ok("61", 0, 59)


def test_readme_names_every_example() -> None:
    readme = (DOCS / "README.md").read_text("utf-8")
    for file in DOCS.iterdir():
        if file.name != "README.md":
            assert file.name in readme, file.name
    assert "another audit is running" in readme
