"""The audit's report process (:mod:`~accessready.agent.app.render_worker`) writes while
it renders: a report's two safe writes wait on the disk about four times as long as it
takes to render, so several are written at once (their syncs overlap). Pins: writes
really are concurrent; a path written twice keeps the later job's bytes; every job is
answered once, a failed write with its error; the files are the bytes the audit's own
process would write."""

from __future__ import annotations

import dataclasses
import io
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from accessready.agent.app import render_worker
from accessready.agent.app.render_worker import (
    WRITERS,
    Framing,
    receive,
    render_pair,
    send,
    serve,
)

from ..unit.runs import make_run, result


def _run(customer: str) -> Any:
    return make_run([result("admin.agreement", "kund", "pass")], customer=customer)


def _serve(jobs: list[tuple[int, str, str, Any, str]],
           monkeypatch: pytest.MonkeyPatch) -> dict[int, str | None]:
    """Run the child's loop in this process on ``jobs``; its answers by job number."""
    monkeypatch.setattr(signal, "signal", lambda *args: None)  # not pytest's SIGINT
    source, answers = io.BytesIO(), io.BytesIO()
    framing = Framing()  # as the audit's process sends them
    for job in jobs:
        frame = framing.pack(*job)
        send(source, frame)
        framing.sent(frame)
    source.seek(0)
    assert serve(source, answers) == 0
    answers.seek(0)
    said: dict[int, str | None] = {}
    while (answer := receive(answers)) is not None:
        number, error = answer
        assert number not in said  # answered once
        said[number] = error
    return said


def test_writes_overlap_while_the_next_report_renders(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # every HTML write waits until WRITERS of them are in progress at once: one at a
    # time, the barrier breaks (after its timeout) and no job is answered
    together = threading.Barrier(WRITERS, timeout=20)
    real = render_worker.write_file

    def write_file(path: str, data: bytes, private: bool = False) -> None:
        if path.endswith(".html"):
            together.wait()
        real(path, data, private=private)

    monkeypatch.setattr(render_worker, "write_file", write_file)
    jobs = [(n, str(tmp_path / f"k{n}.html"), str(tmp_path / f"k{n}.json"),
             _run(f"Kund {n}"), "sv") for n in range(WRITERS)]
    assert _serve(jobs, monkeypatch) == {n: None for n in range(WRITERS)}
    for _, html, result_path, run, lang in jobs:
        assert (Path(html).read_bytes(), Path(result_path).read_bytes()) \
            == render_pair(run, lang)


def test_a_path_written_twice_keeps_the_later_jobs_bytes(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # the first write is slow: written alongside, the second would finish first and
    # the first would overwrite it with the other customer's report
    real, calls = render_worker.write_file, []

    def write_file(path: str, data: bytes, private: bool = False) -> None:
        calls.append(path)
        if len(calls) == 1:
            time.sleep(0.3)
        real(path, data, private=private)

    monkeypatch.setattr(render_worker, "write_file", write_file)
    html, result_path = str(tmp_path / "kund.html"), str(tmp_path / "kund.json")
    first, later = _run("Kund A"), _run("Kund B")
    assert _serve([(0, html, result_path, first, "en"), (1, html, result_path, later, "en")],
                  monkeypatch) == {0: None, 1: None}
    assert (Path(html).read_bytes(), Path(result_path).read_bytes()) \
        == render_pair(later, "en")


def test_a_failed_write_is_answered_with_its_error_and_the_rest_are_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "no such folder"
    jobs = [(0, str(tmp_path / "a.html"), str(tmp_path / "a.json"), _run("A"), "en"),
            (1, str(missing / "b.html"), str(missing / "b.json"), _run("B"), "en"),
            (2, str(tmp_path / "c.html"), str(tmp_path / "c.json"), _run("C"), "en")]
    said = _serve(jobs, monkeypatch)
    assert said[0] is None and said[2] is None
    assert said[1] is not None and "b.html" in said[1]
    assert (tmp_path / "a.html").exists() and (tmp_path / "c.json").exists()
    assert not missing.exists()


def test_prepare_compiles_every_template_ahead_of_the_first_report() -> None:
    from accessready.reports import html

    html._environment.cache_clear()
    env = html._environment(None)
    compiled: list[str | None] = []
    real = env.compile

    def compile_(source: str, name: str | None = None, *args: Any, **kwargs: Any) -> Any:
        compiled.append(name)
        return real(source, name, *args, **kwargs)

    env.compile = compile_  # type: ignore[method-assign]
    try:
        render_worker.prepare()
        assert {"base.html", "_checks.html", "report.css"} <= set(compiled)
        compiled.clear()
        render_pair(_run("Kund A"), "sv")
        assert compiled == []  # the first report compiled nothing more
    finally:
        html._environment.cache_clear()


@pytest.mark.parametrize("queued, prepared", [(3, []), (20, [True])])
def test_this_process_compiles_its_templates_only_for_a_long_queue_at_the_end(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, queued: int,
        prepared: list[bool]) -> None:
    from accessready.agent.app import audit_reports

    seen: list[bool] = []
    monkeypatch.setattr(audit_reports, "prepare", lambda: seen.append(True))
    written: list[str] = []
    details = audit_reports.Details(tmp_path, "en", lambda path, *a, **k: written.append(path),
                                    offload=True)
    details.release()  # every profile started (the audit: on_started)
    details._closed = True  # as finish() has it: nothing more comes
    details._todo.extend((n, f"k{n}", _run(f"Kund {n}")) for n in range(queued))
    details._backlog()
    assert seen == prepared
    assert len(written) == (2 * queued if prepared else 0)


def test_rendered_reports_waiting_for_a_writer_are_bounded(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # the disk stalls: rendering stops once 2 * WRITERS reports wait (plus the one in
    # hand), rather than holding every customer's report in memory
    stalled, rendered = threading.Event(), []
    real_write, real_render = render_worker.write_file, render_worker.render_pair

    def write_file(path: str, data: bytes, private: bool = False) -> None:
        stalled.wait(20)
        real_write(path, data, private=private)

    def render(run: Any, lang: str) -> tuple[bytes, bytes]:
        rendered.append(run.customer)
        return real_render(run, lang)

    monkeypatch.setattr(render_worker, "write_file", write_file)
    monkeypatch.setattr(render_worker, "render_pair", render)
    jobs = [(n, str(tmp_path / f"k{n}.html"), str(tmp_path / f"k{n}.json"),
             _run(f"Kund {n}"), "en") for n in range(6 * WRITERS)]
    said: dict[int, str | None] = {}
    serving = threading.Thread(target=lambda: said.update(_serve(jobs, monkeypatch)))
    serving.start()
    try:
        until = time.monotonic() + 10
        while len(rendered) < 2 * WRITERS + 1 and time.monotonic() < until:
            time.sleep(0.01)
        time.sleep(0.3)  # room for more, if the bound did not hold
        assert len(rendered) == 2 * WRITERS + 1
    finally:
        stalled.set()
        serving.join(20)
    assert said == {n: None for n in range(6 * WRITERS)}


def test_a_path_rewritten_after_many_others_still_keeps_the_later_bytes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # past 64 * WRITERS paths the finished writes are forgotten; the slow one is not
    real, first = render_worker.write_file, []

    def write_file(path: str, data: bytes, private: bool = False) -> None:
        if path.endswith("same.html") and not first:
            first.append(path)
            time.sleep(0.5)
        real(path, data, private=private)

    monkeypatch.setattr(render_worker, "write_file", write_file)
    html, result_path = str(tmp_path / "same.html"), str(tmp_path / "same.json")
    run = _run("Kund")
    jobs = [(0, html, result_path, _run("Kund A"), "en")]
    jobs += [(n, str(tmp_path / f"o{n}.html"), str(tmp_path / f"o{n}.json"), run, "en")
             for n in range(1, 40 * WRITERS)]
    later = _run("Kund B")
    jobs.append((40 * WRITERS, html, result_path, later, "en"))
    said = _serve(jobs, monkeypatch)
    assert len(said) == len(jobs) and set(said.values()) == {None}
    assert Path(html).read_bytes() == render_pair(later, "en")[0]


def test_without_a_thread_to_start_the_caller_writes(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    written: list[str] = []
    with monkeypatch.context() as patched:
        patched.setattr(threading.Thread, "start", refuse)
        with render_worker.Writes() as writes:
            writes.submit(("a",), lambda: written.append(threading.current_thread().name))
    assert written == [threading.current_thread().name]


def _catalogued(customer: str, title: str) -> Any:
    run = _run(customer)
    return dataclasses.replace(run, results=(result("anyconnect.gateway", "kund", "fail"),),
                               catalogue={"anyconnect.gateway": {
                                   "id": "anyconnect.gateway", "requirement": "access",
                                   "title": {"en": title, "sv": title}}})


def test_each_report_gets_its_own_runs_catalogue_though_it_is_sent_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # runs A and B share a catalogue, C has another, D the first again: the child must
    # render each with the right one, though A's is sent only before A and D
    runs = [_catalogued("A", "Gateway one"), _catalogued("B", "Gateway one"),
            _catalogued("C", "Gateway two"), _catalogued("D", "Gateway one")]
    jobs = [(n, str(tmp_path / f"{n}.html"), str(tmp_path / f"{n}.json"), run, "en")
            for n, run in enumerate(runs)]
    assert _serve(jobs, monkeypatch) == {n: None for n in range(4)}
    for _, html, result_path, run, lang in jobs:
        assert (Path(html).read_bytes(), Path(result_path).read_bytes()) \
            == render_pair(run, lang)
    assert b"Gateway two" in (tmp_path / "2.html").read_bytes()
    assert b"Gateway two" not in (tmp_path / "3.html").read_bytes()


def test_the_catalogue_goes_only_when_it_changed_and_only_once_it_was_sent() -> None:
    framing = Framing()
    first = framing.pack(0, "a.html", "a.json", _catalogued("A", "One"), "en")
    assert first[5] is not None and first[3].catalogue == {}
    # not sent (the pipe broke, or pickling failed): the next frame still carries it
    again = framing.pack(1, "b.html", "b.json", _catalogued("B", "One"), "en")
    assert again[5] == first[5]
    framing.sent(again)
    assert framing.pack(2, "c.html", "c.json", _catalogued("C", "One"), "en")[5] is None
    assert framing.pack(3, "d.html", "d.json", _catalogued("D", "Two"), "en")[5] is not None
