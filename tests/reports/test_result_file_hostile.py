"""Result files from customers (``accessready report`` / ``merge`` inputs) are untrusted:
every hostile file is one clear ``ResultFileError`` line, whatever renders it, and the
verdict shown is the one the file's own results give."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from accessready.agent.core.model import Run, Verdict
from accessready.reports import RENDERERS, json_report
from accessready.reports.json_report import ResultFileError, load, load_file, render, to_dict

from .hostile_results import corpus, good
from .sample import full_run
from .test_cli_reports import accessready

CORPUS = corpus()


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_hostile_result_file_is_one_clear_error(name: str) -> None:
    data, words = CORPUS[name]
    with pytest.raises(ResultFileError) as info:
        load(data, f"{name}.json")
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{name}.json")
    assert words in message, message
    assert len(message) < 400


def test_the_corpus_starts_from_a_good_file_every_renderer_takes() -> None:
    run = load(good(), "good.json")
    for fmt in RENDERERS:
        assert RENDERERS[fmt](run, "sv")


def test_a_lone_surrogate_survives_every_renderer() -> None:
    """json.loads accepts "\\ud800"; UTF-8 cannot carry it. The JSON output escapes it."""
    data = json.loads(good())
    data["results"][0]["details"]["odd"] = "\ud800x"
    data["customer"] = "Kund \udfff"
    run = load(json.dumps(data).encode(), "odd.json")
    for fmt in RENDERERS:
        assert RENDERERS[fmt](run, "en")
    again = load(render(run), "again.json")  # the escaped form reads back the same
    assert again.results[0].details["odd"] == "\ud800x"


def test_size_is_capped_before_parsing(monkeypatch: pytest.MonkeyPatch,
                                       tmp_path: Path) -> None:
    monkeypatch.setattr(json_report, "MAX_RESULT_BYTES", 1000)
    path = tmp_path / "big.json"
    path.write_bytes(b" " * 5000 + good())
    with pytest.raises(ResultFileError, match="MiB at most"):
        load_file(path)
    with pytest.raises(ResultFileError, match="cannot read"):
        load_file(tmp_path / "missing.json")


def test_report_command_gives_one_line_for_hostile_files(tmp_path: Path) -> None:
    for name in ("deep_lists", "check_title_number", "vantage_number", "nan"):
        path = tmp_path / f"{name}.json"
        path.write_bytes(CORPUS[name][0])
        done = accessready("report", str(path), "--json", str(tmp_path / "out.json"),
                           cwd=tmp_path)
        assert done.returncode == 3, (name, done.stderr)
        assert done.stderr.count("\n") == 1 and "internal error" not in done.stderr, done.stderr
        assert CORPUS[name][1] in done.stderr


# -- the verdict is decided again ----------------------------------------------------------

def _with_basis(run: Run) -> Run:
    return dataclasses.replace(run, basis={"methods": ["anyconnect", "teamviewer"],
                                           "gating_servers": []})


def test_an_edited_verdict_does_not_survive_loading() -> None:
    """A customer's file saying "ready" over failing results reads as what they give."""
    honest = load(render(_with_basis(full_run("en"))))
    data = to_dict(_with_basis(full_run("en")))
    data["verdict"] = "ready"
    data["exit_code"] = 0
    for outcome in data["requirements"]:
        outcome.update(status="pass", blocking=False)
    edited = load(json.dumps(data).encode())
    assert edited.verdict is honest.verdict is not Verdict.READY
    assert edited.requirements == honest.requirements


def test_a_real_run_reads_back_with_its_own_verdict(demo_run: Run) -> None:
    assert demo_run.basis  # the runner saves what the verdict rests on
    again = load(render(demo_run))
    assert again.verdict is demo_run.verdict
    assert again.requirements == demo_run.requirements


def test_without_basis_or_when_merged_the_saved_verdict_stands() -> None:
    old = full_run("en", verdict=Verdict.READY_WITH_WARNINGS)  # no basis: written by an
    assert load(render(old)).verdict is Verdict.READY_WITH_WARNINGS  # older accessready
    merged = dataclasses.replace(_with_basis(old), sources=(
        {"vantage": "customer", "finished_at": "2026-11-25T09:00:00+01:00"},))
    assert load(render(merged)).verdict is Verdict.READY_WITH_WARNINGS
