"""Names the outputs make from customer text stay unique and safe (issue 16 item 7):
Prometheus series of customers whose names clean alike, ``--reports-dir`` file names
(never a Windows device name such as ``con.html``), and result files whose numbers and
times are out of any range (one clear error, never "internal error")."""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from accessready.agent.app.audit_reports import Details, write_details
from accessready.agent.app.render_worker import RenderProcess
from accessready.agent.core.audit_types import AuditEntry, AuditReport
from accessready.agent.core.safefile import OutputError
from accessready.reports import overview, prometheus
from accessready.reports.json_report import ResultFileError, load, render

from ..unit.runs import make_run, result
from .test_prometheus import promtool_check

LONG = "Kommun " + "x" * 300


def _report(names_and_profiles: list[tuple[str, str]]) -> AuditReport:
    entries = tuple(
        AuditEntry(profile=profile, customer=name,
                   run=make_run([result("admin.agreement", "kund", "pass")], customer=name))
        for name, profile in names_and_profiles)
    return AuditReport(started_at="2026-05-01T02:00:00+00:00",
                       finished_at="2026-05-01T02:10:00+00:00", duration_s=600.0,
                       entries=entries)


COLLIDING = [
    ("Kund\nA", "a.toml"), ("Kund A", "b.toml"), ("Kund\tA", "c.toml"),  # breaks fold alike
    ("Kund\x00", "d.toml"), ("Kund\x01", "e.toml"),  # controls become one replacement
    (LONG + "1", "f.toml"), (LONG + "2", "g.toml"),  # differ only past the label limit
    ("Same", "one/x.toml"), ("Same", "two/x.toml"),  # same name and same file name
    ("Same (x.toml)", "three/y.toml"),  # a name spelled like the disambiguated one
]


def test_overview_prometheus_has_no_duplicate_series_when_names_clean_alike() -> None:
    text = overview.render_prometheus_text(_report(COLLIDING))
    series = [line.rsplit(" ", 1)[0] for line in text.splitlines()
              if line and not line.startswith("#")]
    assert len(series) == len(set(series))
    verdicts = re.findall(r'^accessready_verdict\{customer="((?:[^"\\]|\\.)*)"\}', text, re.M)
    assert len(set(verdicts)) == len(COLLIDING)
    assert all(len(label) <= 256 for label in verdicts)
    done = promtool_check(text)
    assert done.returncode == 0, done.stdout + done.stderr


def test_run_prometheus_has_no_duplicate_series_when_targets_number_alike() -> None:
    """Repeats get " #2": a real target "x #2", and long targets whose suffix the label
    limit once cut off, collided with them."""
    long = "t" * 300
    run = make_run([result("admin.agreement", target, "pass")
                    for target in ("x", "x", "x #2", long, long, long)])
    text = prometheus.render_text(run)
    series = [line.rsplit(" ", 1)[0] for line in text.splitlines()
              if line.startswith("accessready_check_status{")]
    assert len(series) == 6 == len(set(series)), series
    assert 'target="x #2"' in text and 'target="x #2 #2"' in text
    done = promtool_check(text)
    assert done.returncode == 0, done.stdout + done.stderr


def test_overview_json_labels_are_unique_too() -> None:
    data = json.loads(overview.render_json(_report(COLLIDING)))
    labels = [c["label"] for c in data["customers"]]
    assert len(set(labels)) == len(COLLIDING)


_DEVICE = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.I)


def test_reports_dir_never_names_a_windows_device(tmp_path: Path) -> None:
    names = [("", "con.toml"), ("con", "!.toml"), ("AUX", "-.toml"), ("Nul", "å.toml"),
             ("com1", "_.toml"), ("LPT9", "...toml"), ("prn", "prn.toml"),
             ("", "customer-con.toml"), ("ÅÄÖ", "é.toml"), ("../../etc/passwd", "x.toml"),
             ("a" * 200, "b.toml"), ("-" * 70 + "z", "x.toml")]
    written: list[str] = []

    def write(path: str, data: bytes, private: bool = False) -> None:
        written.append(path)

    write_details(_report(names), tmp_path, "en", write)
    files = [Path(p) for p in written]
    assert all(p.parent == tmp_path for p in files)
    stems = [p.name.split(".")[0] for p in files]
    assert not [s for s in stems if _DEVICE.match(s)], stems
    assert all(re.fullmatch(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?", s) for s in stems), stems
    assert len(set(files)) == len(files) == 2 * len(names)


def test_reports_written_during_the_audit_are_named_in_the_profiles_order(
        tmp_path: Path) -> None:
    """Files written as runs finish (in any order) end up as write_details names them
    after the audit: the same names, the same contents, the same links."""
    report = _report(COLLIDING)
    # each file says whose it is: the same customer name comes from two profiles here
    report = replace(report, entries=tuple(
        replace(e, run=replace(e.run, profile_path=e.profile)) for e in report.entries))
    after = write_details(report, tmp_path / "after", "en", _write)
    details = Details(tmp_path / "during", "en", _write)
    for index in reversed(range(len(report.entries))):  # the last profile finishes first
        details.early(index, report.entries[index])
    during = details.finish(report)
    assert [Path(e.report_href or "").name for e in during.entries] == \
        [Path(e.report_href or "").name for e in after.entries]
    assert len({e.report_href for e in during.entries}) == len(COLLIDING)
    for name in sorted(p.name for p in (tmp_path / "after").iterdir()):
        assert (tmp_path / "during" / name).read_bytes() == \
            (tmp_path / "after" / name).read_bytes(), name
    assert b"two/x.toml" in (tmp_path / "during" / "same-x-2.json").read_bytes()
    assert len(list((tmp_path / "during").iterdir())) == 2 * len(COLLIDING)


@pytest.mark.parametrize("child", ["works", "dies"])
def test_reports_rendered_in_a_process_of_their_own_are_the_same_files(
        tmp_path: Path, child: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """``offload``: a second process renders and writes them (a second core), named in
    the profiles' order; byte for byte what rendering here writes. A child that dies
    leaves nothing unwritten: what it did not answer is written here."""
    report = replace(_report(COLLIDING), entries=tuple(
        replace(e, run=replace(e.run, profile_path=e.profile))
        for e in _report(COLLIDING).entries))
    here = write_details(report, tmp_path / "here", "sv", _write)
    started: list[RenderProcess] = []
    original = RenderProcess.start

    def start() -> RenderProcess | None:
        process = original()
        assert process is not None
        if child == "dies":
            process.proc.kill()
            process.proc.wait()
        started.append(process)
        return process

    monkeypatch.setattr(RenderProcess, "start", start)
    details = Details(tmp_path / "there", "sv", _write, offload=True)
    details.release()  # every profile started (the audit: on_started)
    details.release()
    for index in reversed(range(len(report.entries))):
        details.early(index, report.entries[index])
    _handed_over(details)  # every one went to the child (finish would help otherwise)
    there = details.finish(report)
    assert len(started) == 1 and started[0].proc.returncode is not None
    _same_files(tmp_path, here, there)
    if child == "works":
        assert set(started[0].answers.values()) == {None}  # the child wrote every one


def _same_files(tmp_path: Path, here: AuditReport, there: AuditReport) -> None:
    """``there`` (rendered as the test has it) links and holds what ``here`` does."""
    assert [e.report_href for e in there.entries] == \
        [(e.report_href or "").replace("/here/", "/there/") for e in here.entries]
    names = sorted(p.name for p in (tmp_path / "here").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "there").iterdir())
    for name in names:
        assert (tmp_path / "there" / name).read_bytes() == \
            (tmp_path / "here" / name).read_bytes(), name


def _handed_over(details: Details) -> None:
    """Wait (bounded) until the writer thread has taken every queued report."""
    deadline = time.monotonic() + 10
    while details._todo and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not details._todo


def test_at_the_end_this_process_renders_what_the_report_process_has_not_reached(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The runs that end last are still queued when the audit's checks are done: this
    process, idle then, renders from the back of the queue while the report process works
    on the front. Same files, byte for byte, and each written once."""
    distinct = [(f"Kund {n}", f"k{n}.toml") for n in range(10)]
    report = _report(distinct)
    here = write_details(report, tmp_path / "here", "sv", _write)
    busy, taken = threading.Event(), threading.Event()
    submit = RenderProcess.submit

    def slow_submit(self: RenderProcess, *args: Any) -> int | None:
        taken.set()
        busy.wait(10)  # the report process is behind until this process has helped
        return submit(self, *args)

    monkeypatch.setattr(RenderProcess, "submit", slow_submit)
    written_here: list[str] = []

    def write(path: str, data: bytes, private: bool = False) -> None:
        written_here.append(Path(path).name)
        _write(path, data, private)
        if len(written_here) == 2 * (len(distinct) - 1):
            busy.set()

    monkeypatch.setattr("accessready.agent.app.audit_reports.HELP_FROM", 5)
    details = Details(tmp_path / "there", "sv", write, offload=True)
    details.release()  # every profile started (the audit: on_started)
    details.release()
    for index in range(len(report.entries)):
        details.early(index, report.entries[index])
    assert taken.wait(10)  # the writer took the first one
    guard = threading.Timer(10, busy.set)  # never a hang, whatever goes wrong
    guard.daemon = True
    guard.start()
    there = details.finish(report)
    guard.cancel()
    _same_files(tmp_path, here, there)
    # all but the first here, each once; the first (the report process's) not here
    assert len(written_here) == len(set(written_here)) == 2 * (len(distinct) - 1)


def test_a_short_queue_at_the_end_is_left_to_the_report_process(tmp_path: Path) -> None:
    """A few reports are written by the report process sooner than this process could
    compile its templates (a tenth of a second): it does not start on them."""
    report = _report([(f"Kund {n}", f"k{n}.toml") for n in range(3)])
    here = write_details(report, tmp_path / "here", "sv", _write)
    written_here: list[str] = []

    def write(path: str, data: bytes, private: bool = False) -> None:
        written_here.append(Path(path).name)
        _write(path, data, private)

    details = Details(tmp_path / "there", "sv", write, offload=True)
    details.release()  # every profile started (the audit: on_started)
    details.release()
    for index in range(len(report.entries)):
        details.early(index, report.entries[index])
    _same_files(tmp_path, here, details.finish(report))
    assert written_here == []


def test_without_an_interpreter_to_start_the_reports_are_rendered_here(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An embedded or frozen build has no ``python -m`` to start: no child, same files."""
    monkeypatch.setattr("sys.frozen", True, raising=False)
    assert RenderProcess.start() is None
    report = _report(COLLIDING[:3])
    details = Details(tmp_path, "en", _write, offload=True)
    details.release()  # every profile started (the audit: on_started)
    details.early(0, report.entries[0])
    done = details.finish(report)
    assert all((tmp_path / Path(e.report_href or "").name).exists() for e in done.entries)


def test_a_failed_write_in_the_report_process_is_raised_after_the_audit(
        tmp_path: Path) -> None:
    report = _report(COLLIDING[:2])
    stem = "kund-a-a"
    (tmp_path / f"{stem}.html").mkdir(parents=True)  # a folder where the file must go
    details = Details(tmp_path, "en", _write, offload=True)
    details.release()  # every profile started (the audit: on_started)
    details.early(0, report.entries[0])
    _handed_over(details)
    with pytest.raises(OutputError, match=f"{stem}.html"):
        details.finish(report)


def test_a_failed_write_during_the_audit_is_raised_after_it(tmp_path: Path) -> None:
    def failing(path: str, data: bytes, private: bool = False) -> None:
        raise OSError(f"{path}: disk full")

    report = _report(COLLIDING[:3])
    details = Details(tmp_path, "en", failing)
    details.early(0, report.entries[0])
    with pytest.raises(OSError, match="disk full"):
        details.finish(report)


def _write(path: str, data: bytes, private: bool = False) -> None:
    Path(path).write_bytes(data)


def _result_file(**changes: object) -> bytes:
    data = json.loads(render(make_run([result("admin.agreement", "kund", "pass")]), "en"))
    for key, value in changes.items():
        if key == "result_duration_s":
            data["results"][0]["duration_s"] = value
        else:
            data[key] = value
    return json.dumps(data).encode()


@pytest.mark.parametrize(("change", "where"), [
    ({"duration_s": int("9" * 400)}, "duration_s"),
    ({"result_duration_s": int("9" * 400)}, "results[0].duration_s"),
    ({"started_at": "0001-01-01T00:00:00+05:00"}, "started_at"),
    ({"finished_at": "0001-01-01T00:00:00"}, "finished_at"),
    ({"finished_at": "9999-12-31T23:59:59-05:00"}, "finished_at"),
])
def test_out_of_range_numbers_and_times_are_one_clear_error(change: dict, where: str) -> None:
    with pytest.raises(ResultFileError) as refused:
        load(_result_file(**change), "r.json")
    message = str(refused.value)
    assert message.startswith(f"r.json: broken result file: {where} should be")
    assert "\n" not in message and len(message) < 400


def test_audit_results_are_compact_json_that_reads_back_the_same(tmp_path) -> None:
    """An audit writes thousands of result files for machines: one line each (the compact
    C encoder), parsing to the same document as the indented file a single run writes."""
    from tests.reports.sample import full_run

    run = full_run()
    indented, compact = render(run), render(run, compact=True)
    assert compact.count(b"\n") == 1 and indented.count(b"\n") > 10
    assert json.loads(compact) == json.loads(indented)


def test_a_reports_folder_on_another_windows_drive_is_linked_by_file_uri(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On Windows ``os.path.relpath`` raises for paths on two drives (overview on C:,
    --reports-dir on D:): the overview links the report by its file URI, not a traceback."""
    import os

    def other_drive(path: str, start: str | None = None) -> str:
        raise ValueError("path is on mount 'D:', start on mount 'C:'")

    monkeypatch.setattr(os.path, "relpath", other_drive)
    report = write_details(_report(COLLIDING[:2]), tmp_path / "reports", "en", _write,
                           link_from=tmp_path / "overview")
    hrefs = [e.report_href or "" for e in report.entries]
    assert all(h.startswith("file://") and h.endswith(".html") for h in hrefs), hrefs


def test_waiting_for_the_report_writer_is_in_short_waits() -> None:
    # On Windows a join() without a timeout does not hear Ctrl-C: an audit writing its
    # reports could not be stopped. The wait is made of short joins instead.
    from accessready.agent.app.render_worker import wait_for

    class Writer:
        def __init__(self) -> None:
            self.timeouts: list[float | None] = []

        def is_alive(self) -> bool:
            return len(self.timeouts) < 3

        def join(self, timeout: float | None = None) -> None:
            self.timeouts.append(timeout)

    writer = Writer()
    wait_for(writer)  # type: ignore[arg-type]
    assert len(writer.timeouts) == 3 and all(t is not None and t <= 1 for t in writer.timeouts)


def test_a_report_process_that_died_never_overwrites_a_name_given_to_another_customer(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The second profile ends first and takes the name; the report process dies with its
    job unanswered; at the end the name goes to the first profile (the profiles' order),
    written here. The dead job, redone here, must not put the second customer's report
    under the first one's link."""
    submit, sent = RenderProcess.submit, []

    def dying_submit(self: RenderProcess, *args: Any) -> int | None:
        sent.append(args[0])
        if len(sent) == 1:  # taken, then the process dies before it answers
            number = self.sent
            self.sent += 1
            self.proc.kill()
            self.proc.wait()
            return number
        return submit(self, *args)

    monkeypatch.setattr(RenderProcess, "submit", dying_submit)
    entries = tuple(replace(e, run=replace(e.run, profile_path=e.profile)) for e in
                    _report([("Kund A", "one/x.toml"), ("Kund A", "two/x.toml")]).entries)
    report = replace(_report([]), entries=entries)
    details = Details(tmp_path, "en", _write, offload=True)
    details.release()  # every profile started (the audit: on_started)
    details.release()
    details.early(1, entries[1])  # the second profile ended first: it took the name
    _handed_over(details)
    deadline = time.monotonic() + 10
    while not sent and time.monotonic() < deadline:
        time.sleep(0.01)
    there = details.finish(report)
    for entry in there.entries:
        held = json.loads((tmp_path / Path(entry.report_href or "").name)
                          .with_suffix(".json").read_text(encoding="utf-8"))
        assert held["profile"] == entry.profile, entry.report_href


def test_the_report_process_starts_only_once_every_profile_has(tmp_path: Path) -> None:
    """Each run withholds its password variable from the programs we start
    (``child_environment``) when it starts: a report process started before the last
    profile started would get that profile's password in its environment."""
    report = _report(COLLIDING[:2])
    details = Details(tmp_path, "en", _write, offload=True)
    details.early(0, report.entries[0])
    time.sleep(0.3)
    assert details._process is None and not list(tmp_path.iterdir())
    details.release()
    _handed_over(details)
    details.finish(report)
    assert (tmp_path / "kund-a-a.html").exists()
