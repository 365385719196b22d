"""Prometheus text format: parsed here, and validated by the real ``promtool``."""

from __future__ import annotations

import dataclasses
import re
import subprocess

import pytest

from accessready.agent.core.model import Requirement, Result, Run, Status, t
from accessready.reports import RENDERERS
from accessready.reports.prometheus import STATUS_VALUE, escape_label, render_text

from .conftest import need_tool
from .hostile import hostile_run

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (-?[0-9.e+]+|NaN)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"')


def parse(text: str) -> tuple[dict[str, tuple[str, str]], list[tuple[str, dict, float]]]:
    """(name → (help, type), samples), enforcing the format's line grammar."""
    meta: dict[str, dict[str, str]] = {}
    samples = []
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name, help_text = line[7:].split(" ", 1)
            meta.setdefault(name, {})["help"] = help_text
        elif line.startswith("# TYPE "):
            name, kind = line[7:].split(" ")
            assert name not in {n for n, _, _ in samples}, "TYPE after samples"
            meta.setdefault(name, {})["type"] = kind
        else:
            m = SAMPLE.match(line)
            assert m, f"not a sample line: {line!r}"
            labels_text = m.group(2)
            labels = dict(LABEL.findall(labels_text))
            rebuilt = ",".join(f'{k}="{v}"' for k, v in labels.items())
            assert rebuilt == labels_text, f"bad label syntax: {labels_text!r}"
            assert m.group(1) in meta, f"{m.group(1)} has no HELP/TYPE before it"
            samples.append((m.group(1), labels, float(m.group(3))))
    assert text.endswith("\n")
    return {k: (v["help"], v["type"]) for k, v in meta.items()}, samples


def promtool_check(text: str) -> subprocess.CompletedProcess[str]:
    tool = need_tool("promtool", "prometheus")
    return subprocess.run([tool, "check", "metrics"], input=text, capture_output=True,
                          text=True, timeout=60)


def test_registered(sample_run: Run) -> None:
    assert RENDERERS["prometheus"](sample_run, "en") == render_text(sample_run).encode()


def test_families_help_and_type(sample_run: Run) -> None:
    meta, _ = parse(render_text(sample_run))
    assert set(meta) == {
        "accessready_verdict", "accessready_insecure_settings",
        "accessready_run_duration_seconds",
        "accessready_run_timestamp_seconds", "accessready_run_interrupted",
        "accessready_results", "accessready_requirement_status",
        "accessready_requirement_blocking", "accessready_check_status",
        "accessready_check_duration_seconds"}
    assert all(kind == "gauge" for _, kind in meta.values())
    assert "0=pass 1=warn 2=fail 3=error -1=skip" in meta["accessready_check_status"][0]


def test_one_status_series_per_result_with_labels(sample_run: Run) -> None:
    _, samples = parse(render_text(sample_run))
    status = [(labels, value) for name, labels, value in samples
              if name == "accessready_check_status"]
    assert len(status) == len(sample_run.results)
    assert ({"customer": "Exempel kommun", "requirement": "access",
             "check": "anyconnect.gateway", "target": "vpn.exempel.se:443",
             "method": "anyconnect"}, 2.0) in status
    values = {labels["check"] + "/" + labels["target"]: v for labels, v in status}
    assert values["teamviewer.network/router1.teamviewer.com"] == 3
    assert values["anyconnect.split_tunnel/vpn.exempel.se"] == -1
    assert values["workstation.os/this machine"] == 1
    assert values["admin.agreement/Exempel kommun"] == 0
    assert set(STATUS_VALUE.values()) == {0, 1, 2, 3, -1}


def test_run_level_metrics(sample_run: Run) -> None:
    _, samples = parse(render_text(sample_run))
    by_name = {}
    for name, labels, value in samples:
        by_name.setdefault(name, []).append((labels, value))
    assert by_name["accessready_verdict"] == [({"customer": "Exempel kommun"}, 2.0)]
    assert by_name["accessready_run_duration_seconds"][0][1] == 11.4
    # 2026-11-25T09:14:14+01:00
    assert by_name["accessready_run_timestamp_seconds"][0][1] == 1795594454
    results = {labels["status"]: v for labels, v in by_name["accessready_results"]}
    assert results == {"pass": 5, "warn": 2, "fail": 3, "error": 1, "skip": 1, "waived": 0}
    blocking = {labels["requirement"]: v for labels, v in
                by_name["accessready_requirement_blocking"]}
    assert blocking["access"] == 1 and blocking["admin"] == 0


def test_label_escaping() -> None:
    assert escape_label('a"b\\c') == 'a\\"b\\\\c'
    assert escape_label("x\ny") == "x y"  # line breaks folded before escaping
    assert escape_label("\ud800") == "\ufffd"
    assert len(escape_label("y" * 10_000)) == 256


def test_duplicate_check_and_target_get_distinct_series(sample_run: Run) -> None:
    one = Result(check_id="remote.ssh", target="sync01", status=Status.PASS,
                 summary=t("a", "b"), requirement=Requirement.REMOTE)
    run = dataclasses.replace(sample_run, results=(one, one, one))
    _, samples = parse(render_text(run))
    targets = [labels["target"] for name, labels, _ in samples
               if name == "accessready_check_status"]
    assert targets == ["sync01", "sync01 #2", "sync01 #3"]


def test_login_per_method_is_labelled_by_method_whatever_the_order(sample_run: Run) -> None:
    """account.login reports a server once per command method (method=None on the result,
    the session method in its details): each keeps its own series, in either order."""
    def login(method: str, status: Status) -> Result:
        return Result(check_id="account.login", target="adfs01", status=status,
                      summary=t("a", "b"), requirement=Requirement.ACCOUNT,
                      details={"method": method, "session": {}})

    def series(results: tuple[Result, ...]) -> dict[tuple[str, str], float]:
        _, samples = parse(render_text(dataclasses.replace(sample_run, results=results)))
        return {(labels["target"], labels["method"]): value
                for name, labels, value in samples if name == "accessready_check_status"}

    winrm, ssh = login("winrm", Status.PASS), login("ssh", Status.FAIL)
    expected = {("adfs01", "winrm"): 0, ("adfs01", "ssh"): 2}
    assert series((winrm, ssh)) == expected == series((ssh, winrm))


def test_promtool_accepts_the_sample(sample_run: Run) -> None:
    done = promtool_check(render_text(sample_run))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "" and done.stderr.strip() == "", "promtool lint findings"


def test_promtool_accepts_the_demo(demo_run: Run) -> None:
    done = promtool_check(render_text(demo_run))
    assert done.returncode == 0 and not (done.stdout + done.stderr).strip(), done.stdout


def test_promtool_accepts_hostile_labels() -> None:
    text = render_text(hostile_run("http://127.0.0.1:9"))
    parse(text)
    done = promtool_check(text)
    assert done.returncode == 0, done.stdout + done.stderr


def test_promtool_really_rejects_bad_input() -> None:
    """The validation can fail: an unescaped quote in a label breaks the file."""
    done = promtool_check('# HELP x y\n# TYPE x gauge\nx{a="b"c"} 1\n')
    assert done.returncode != 0


@pytest.mark.parametrize("status", list(Status))
def test_every_status_has_a_value(status: Status) -> None:
    assert status in STATUS_VALUE
