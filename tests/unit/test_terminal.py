"""The terminal view: plain without a terminal, colour only when allowed."""

from __future__ import annotations

import io

import pytest

from accessready.agent.core.model import Requirement, Result, Status, t
from accessready.agent.core.profile import parse_profile
from accessready.agent.core.verdict import decide
from accessready.reports.json_report import from_dict, to_dict
from accessready.reports.terminal import LiveLine, render_table, use_colour


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _run():
    from accessready.agent.core.model import Run

    profile = parse_profile('[customer]\nname = "Å kund"\n[access]\nmethods = ["teamviewer"]\n')
    results = (Result("admin.dpa", "Å kund", Status.FAIL, t("No DPA.", "Inget PUB-avtal."),
                      requirement=Requirement.ADMIN, owner="customer"),  # as checks make it
               Result("admin.agreement", "Å kund", Status.SKIP, t("-", "-")))
    verdict, outcomes = decide(results, profile)
    return Run("Å kund", "p.toml", "2026-11-25T12:00:00+00:00", "2026-11-25T12:00:01+00:00",
               1.0, results, verdict, outcomes)


def test_plain_table_has_no_escapes_and_both_languages() -> None:
    run = _run()
    en = render_table(run, "en", colour=False)
    sv = render_table(run, "sv", colour=False)
    assert "\x1b" not in en and "FAIL  admin.dpa" in en and "No DPA." in en
    assert "Inget PUB-avtal." in sv and "Bedömning" in sv and "(1 överhoppade)" in sv
    assert "\x1b[31m" in render_table(run, "en", colour=True)


def test_no_color_and_non_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_colour(FakeTty()) and not use_colour(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_colour(FakeTty())


def test_live_line_only_on_a_terminal() -> None:
    from accessready.agent.plugin.runner import Progress

    pipe, tty = io.StringIO(), FakeTty()
    for stream in (pipe, tty):
        line = LiveLine(stream, min_interval=0)
        line(Progress(total=2, done=1, running=["adfs.tls[adfs01]"]))
        line.close()
    assert pipe.getvalue() == ""
    assert "[1/2] adfs.tls[adfs01]" in tty.getvalue()


def test_json_round_trip() -> None:
    run = _run()
    again = from_dict(to_dict(run))
    assert again.results == run.results and again.requirements == run.requirements
    assert again.verdict is run.verdict


def test_terminal_escapes_from_the_network_never_reach_the_terminal() -> None:
    """A banner with OSC 52 (clipboard write) or a screen clear is shown inert."""
    import dataclasses

    run = _run()
    evil = "\x1b]52;c;ZXZpbA==\x07\x1b[2J owned\r\n"
    hostile = dataclasses.replace(run, customer=evil, results=tuple(
        dataclasses.replace(r, target=evil, summary=t(evil, evil)) for r in run.results))
    for colour in (False, True):
        table = render_table(hostile, "en", colour=colour, show_skipped=True)
        assert "\x1b]" not in table and "\x1b[2J" not in table and "\x07" not in table
        assert "\r" not in table and "owned" in table
