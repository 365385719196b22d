"""The one-line Nagios/Icinga status with perfdata."""

from __future__ import annotations

import dataclasses
import re

import pytest

from accessready.agent.core.model import ExitCode, Run, Verdict
from accessready.reports import RENDERERS
from accessready.reports.nagios import render, render_line

from .hostile import hostile_run

LINE = re.compile(
    r"^ACCESSREADY (OK|WARNING|CRITICAL|UNKNOWN) - ([^|\n]+) \| "
    r"pass=(\d+);;;; warn=(\d+);;;; fail=(\d+);;;; error=(\d+);;;; skip=(\d+);;;; "
    r"waived=(\d+);;;; duration=(\d+\.\d{3})s;;;;$")


def test_line_format_and_perfdata(sample_run: Run) -> None:
    data = render(sample_run, "en")
    assert data.endswith(b"\n") and data.count(b"\n") == 1
    line = data.decode().rstrip("\n")
    assert line == (
        "ACCESSREADY CRITICAL - Not ready: 3 fail, 2 warn, 1 error, 5 pass, 1 skip; "
        "blocking: access, account | pass=5;;;; warn=2;;;; fail=3;;;; error=1;;;; "
        "skip=1;;;; waived=0;;;; duration=11.400s;;;;")
    assert LINE.match(line)
    assert RENDERERS["nagios"](sample_run, "en") == data


@pytest.mark.parametrize(("verdict", "state", "code"), [
    (Verdict.READY, "OK", 0), (Verdict.READY_WITH_WARNINGS, "WARNING", 1),
    (Verdict.NOT_READY, "CRITICAL", 2), (Verdict.UNKNOWN, "UNKNOWN", 3)])
def test_state_follows_the_exit_code(sample_run: Run, verdict: Verdict, state: str,
                                     code: int) -> None:
    run = dataclasses.replace(sample_run, verdict=verdict)
    line = render_line(run, "en")
    assert LINE.match(line).group(1) == state
    assert int(ExitCode.for_verdict(verdict)) == code


def test_swedish_words_fixed_keywords(sample_run: Run) -> None:
    line = render_line(sample_run, "sv")
    assert LINE.match(line)
    assert line.startswith("ACCESSREADY CRITICAL - Inte redo: underkända: 3, varningar: 2")


def test_hostile_text_cannot_break_the_line_or_the_perfdata() -> None:
    run = hostile_run("http://127.0.0.1:9")
    line = render_line(run, "en")
    assert "\n" not in line and line.count("|") == 1
    assert LINE.match(line)
