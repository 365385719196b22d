"""The report outputs through the real command: demo, report re-rendering, --nagios."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from accessready.agent.core.model import Run
from accessready.reports.json_report import render as render_json

from .sample import full_run


def accessready(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCESSREADY_")}
    env.update({"LANG": "C.UTF-8", "NO_COLOR": "1"})
    return subprocess.run([sys.executable, "-m", "accessready", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=timeout)


def saved(tmp_path: Path, run: Run) -> Path:
    path = tmp_path / "result.json"
    path.write_bytes(render_json(run))
    return path


def test_demo_writes_report_html(tmp_path: Path) -> None:
    done = accessready("demo", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    html = (tmp_path / "report.html").read_text("utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "Content-Security-Policy" in html
    assert (tmp_path / "demo-result.json").exists()


def test_report_rerenders_a_saved_result_in_swedish(tmp_path: Path) -> None:
    result = saved(tmp_path, full_run("en"))
    done = accessready("report", str(result), "--html", "out.html", "--lang", "sv",
                       "--junit", "out.xml", "--prometheus", "out.prom", cwd=tmp_path)
    assert done.returncode == 2, done.stderr  # the sample is not ready
    html = (tmp_path / "out.html").read_text("utf-8")
    assert '<html lang="sv">' in html and "Inte redo" in html
    assert "Lås upp supportkontot" in html
    ET.parse(tmp_path / "out.xml")
    assert "accessready_verdict" in (tmp_path / "out.prom").read_text("utf-8")


def test_report_keeps_the_results_language_by_default(tmp_path: Path) -> None:
    result = saved(tmp_path, full_run("sv"))
    done = accessready("report", str(result), "--html", "out.html", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert '<html lang="sv">' in (tmp_path / "out.html").read_text("utf-8")


def test_nagios_prints_one_line_and_exits_with_the_state(tmp_path: Path) -> None:
    result = saved(tmp_path, full_run("en"))
    done = accessready("report", str(result), "--nagios", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout.startswith("ACCESSREADY CRITICAL - Not ready:")
    assert done.stdout.count("\n") == 1
