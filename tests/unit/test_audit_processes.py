"""An audit's profiles shared out to worker processes (``--processes``): the same entries
as one process gives, nothing lost when a process dies, nothing left running when the
audit is interrupted. Real child processes and the real checks, on loopback only."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from accessready.agent.app.audit import run_audit
from accessready.agent.app.audit_processes import Processes, RunFraming, share
from accessready.agent.app.audit_record import Finished
from accessready.agent.core import audit_types
from accessready.agent.core.audit_types import AuditOptions

from .simhelpers import closed_port


def _profiles(folder: Path, ports: list[int], timeout: float = 3,
              password_env: str | None = None) -> list[Path]:
    """One customer per port (an SSH server there), and one profile that does not load;
    ``password_env``: the support account's password is that variable's."""
    account = (f'[account]\nusername = "support"\npassword = {{ env = "{password_env}" }}\n'
               if password_env else "")
    paths = []
    for n, port in enumerate(ports):
        path = folder / f"c{n}.toml"
        path.write_text(f"""[customer]
name = "Kund {n}"
agreement = "A-{n}"
agreement_valid_until = 2099-12-31
dpa_signed = 2025-01-01
[access]
methods = ["teamviewer"]
[checks]
timeout = {timeout}
only = ["remote.ssh", "admin.agreement", "admin.dpa"]
[[servers]]
name = "s{n}"
address = "127.0.0.1"
roles = ["sync"]
remote = ["ssh"]
ssh = {{ port = {port} }}
{account}""", encoding="utf-8")
        paths.append(path)
    bad = folder / "bad.toml"
    bad.write_text("not toml [\n", encoding="utf-8")
    return [*paths[:2], bad, *paths[2:]]


def _seen(report: Any) -> list[tuple[Any, ...]]:
    return [(e.profile, e.customer, e.verdict, e.error,
             tuple((r.check_id, r.target, r.status, r.details.get("failure"))
                   for r in e.run.results) if e.run is not None else ())
            for e in report.entries]


@pytest.fixture
def spawned(monkeypatch: pytest.MonkeyPatch) -> list[Processes]:
    """The :class:`Processes` each audit started."""
    made: list[Processes] = []
    real = Processes.start.__func__  # type: ignore[attr-defined]

    def start(cls, *args, **kwargs):  # type: ignore[no-untyped-def]
        made.append(real(cls, *args, **kwargs))
        return made[-1]

    monkeypatch.setattr(Processes, "start", classmethod(start))
    return made


def test_processes_give_the_entries_one_process_gives(tmp_path: Path,
                                                      spawned: list[Processes]) -> None:
    paths = _profiles(tmp_path, [closed_port() for _ in range(5)])
    started: list[str] = []
    one = run_audit(paths, AuditOptions(processes=1))
    assert spawned == []
    three = run_audit(paths, AuditOptions(processes=3), on_started=lambda: started.append("x"))
    assert len(spawned) == 1 and len(spawned[0].children) == 3
    assert [c.returncode for c in spawned[0].children] == [0, 0, 0]
    assert _seen(three) == _seen(one)
    assert three.entries[2].error and "TOML" in three.entries[2].error  # bad.toml, in place
    assert {r.details.get("failure") for e in three.entries if e.run is not None
            for r in e.run.results if r.check_id == "remote.ssh"} == {"refused"}
    assert started == ["x"]  # once, when every process had started its share


def test_a_process_that_dies_leaves_each_of_its_profiles_an_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = _profiles(tmp_path, [closed_port() for _ in range(3)])
    monkeypatch.setattr(Processes, "command", [sys.executable, "-c", (
        "import sys; sys.stderr.write('ImportError: \\x1b[31mbroken install\\n'); "
        "raise SystemExit(7)")])
    started: list[str] = []
    got: list[Any] = []
    audit = threading.Thread(target=lambda: got.append(run_audit(
        paths, AuditOptions(processes=2), on_started=lambda: started.append("x"))),
        daemon=True)
    audit.start()
    audit.join(30)
    assert got, "the audit waited forever for profiles whose process had died"
    report = got[0]
    assert [e.verdict.value for e in report.entries] == ["unknown"] * 4
    for entry in report.entries:
        # what it wrote is not kept: only the child knew which secrets to mask in it
        assert entry.error == ("internal error: the audit process that ran it ended first "
                               "(exit 7; what it said is on the audit's stderr)")
    assert started == ["x"]  # the reports do not wait for processes that are gone


def test_an_interrupted_audit_leaves_no_process_running(
        tmp_path: Path, silent_ports: list[int], spawned: list[Processes]) -> None:
    paths = _profiles(tmp_path, silent_ports, timeout=20)

    def progress(done: int, total: int, entry: Any) -> None:
        raise KeyboardInterrupt  # at the first entry: bad.toml's, while the rest wait

    began = time.monotonic()
    report = run_audit(paths, AuditOptions(processes=2), on_progress=progress)
    assert time.monotonic() - began < 10  # not the silent servers' 20 s
    assert report.interrupted
    assert all(child.poll() is not None for child in spawned[0].children)
    assert sum(e.error == "not run: the audit was interrupted" for e in report.entries) == 3


def test_auto_is_one_process_per_400_profiles_up_to_the_cpus(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit_types, "usable_cpus", lambda: 4)
    auto = AuditOptions(processes=None)
    assert [auto.processes_for(n) for n in (1, 399, 800, 1999, 5000)] == [1, 1, 2, 4, 4]
    assert AuditOptions(processes=8).processes_for(3) == 3  # never more than profiles
    assert AuditOptions().processes_for(5000) == 1  # the library's default: one


def test_each_process_gets_its_share_of_the_bounds() -> None:
    options = share(AuditOptions(profiles_at_once=64, checks_at_once=320, processes=3), 3)
    assert (options.profiles_at_once, options.checks_at_once, options.processes) == \
        (21, 106, 1)
    small = share(AuditOptions(profiles_at_once=1, checks_at_once=2), 4)
    assert (small.profiles_at_once, small.checks_at_once) == (1, 1)


def test_a_runs_catalogue_crosses_once_and_comes_back_whole(tmp_path: Path) -> None:
    paths = _profiles(tmp_path, [closed_port(), closed_port()])
    report = run_audit(paths, AuditOptions(processes=1))
    runs = [e.run for e in report.entries if e.run is not None]
    assert runs[0].catalogue and runs[0].catalogue == runs[1].catalogue
    child, parent = RunFraming(), RunFraming()
    frames = [child.pack(Finished(n, "p", "c", run=run)) for n, run in enumerate(runs)]
    assert frames[0][1] is not None and frames[1][1] is None  # the second: "as before"
    assert all(f[0].run is not None and f[0].run.catalogue == {} for f in frames)
    back = [parent.unpack(frame) for frame in frames]
    for finished, run in zip(back, runs, strict=True):
        assert finished.run == run
    assert dataclasses.replace(back[0], run=None) == Finished(0, "p", "c")


def test_a_childs_answers_are_out_of_reach_of_what_its_checks_write_or_start() -> None:
    """What a plugin writes to descriptor 1, or a program a check starts reads from 0,
    must not corrupt the frames to the parent or take its input."""
    program = """
import os, subprocess, sys
from accessready.agent.app.audit_processes import private_pipes
source, answers = private_pipes()
os.write(1, b"stray output\\n")
print("a plugin's print")
sys.stdout.flush()
taken = subprocess.run([sys.executable, "-c", "import sys; print(len(sys.stdin.read()))"],
                       capture_output=True, text=True).stdout.strip()
answers.write(b"answer:" + source.read() + b":" + taken.encode())
answers.flush()
"""
    done = subprocess.run([sys.executable, "-c", program], input=b"input", capture_output=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"answer:input:0"  # the program it started read nothing of ours
    assert b"stray output" in done.stderr and b"a plugin's print" in done.stderr


def test_a_childs_stderr_is_utf8_whatever_its_locale_says() -> None:
    """The parent decodes a child's stderr as UTF-8; on Windows a pipe gets the ANSI code
    page unless the child says otherwise (here: a child told its streams are cp1252)."""
    program = """
import logging, sys
from accessready.agent.app.audit_processes import private_pipes
from accessready.agent.io.secrets import log_to_stderr
private_pipes()
log_to_stderr(logging.WARNING)
logging.getLogger("accessready.audit").warning("Sjöberg ✓")
print("Åsa")
"""
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, timeout=60,
                          env={**os.environ, "PYTHONIOENCODING": "cp1252"})
    assert done.returncode == 0, done.stderr
    text = done.stderr.decode("utf-8")
    assert "Sjöberg ✓" in text and "Åsa" in text


def test_when_not_every_process_starts_the_audit_runs_in_its_own_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spawned: list[Processes]) -> None:
    """A process limit reached after the first child started: the audit runs every
    profile in its own process, and the child that did start counts for nothing (no
    profile twice, none as its error)."""
    paths = _profiles(tmp_path, [closed_port() for _ in range(3)])
    real = subprocess.Popen
    calls: list[int] = []

    def popen(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 2:
            raise OSError("Resource temporarily unavailable")
        return real(*args, **kwargs)

    monkeypatch.setattr("accessready.agent.app.audit_processes.subprocess.Popen", popen)
    heard: list[str] = []
    report = run_audit(paths, AuditOptions(processes=2),
                       on_progress=lambda done, total, entry: heard.append(entry.profile))
    monkeypatch.undo()
    assert spawned == [None] and len(calls) == 2
    assert sorted(heard) == sorted(str(p) for p in paths)  # each profile once
    assert _seen(report) == _seen(run_audit(paths, AuditOptions(processes=1)))


def test_the_parent_withholds_what_its_processes_withhold_before_they_have_started(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The parent's report process must not get a password variable: each audit process
    tells the parent the variables its runs withhold, before it says it started (and the
    reports start only then)."""
    from accessready.agent.io.secrets import child_environment, hidden_env

    name = f"AR_TEST_PW_{os.getpid()}_{time.monotonic_ns()}"
    monkeypatch.setenv(name, "S3cret-canary")
    paths = _profiles(tmp_path, [closed_port() for _ in range(3)], password_env=name)
    seen: list[bool] = []
    run_audit(paths, AuditOptions(processes=2),
              on_started=lambda: seen.append(name in hidden_env()))
    assert seen == [True]
    assert name in os.environ  # the parent never took it: its processes need it
    assert name not in child_environment()


def test_an_on_run_that_raises_costs_no_entry(tmp_path: Path) -> None:
    """The parent hears a child's profiles on a reader thread: a callback that raises
    there must not stop it reading (the audit would wait for the rest forever)."""
    paths = _profiles(tmp_path, [closed_port() for _ in range(5)])

    def on_run(index: int, entry: Any) -> None:
        raise ValueError("a bug in the report writer")

    got: list[Any] = []
    audit = threading.Thread(target=lambda: got.append(run_audit(
        paths, AuditOptions(processes=2), on_run=on_run)), daemon=True)
    audit.start()
    audit.join(30)
    assert got, "the audit waited forever"
    assert [e.error is None for e in got[0].entries] == [True, True, False, True, True, True]


def test_a_childs_stderr_is_drained_even_with_nowhere_to_show_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under pythonw the parent has no stderr: a child's is read all the same, or a child
    that writes more than a pipe holds would block (here: 1 MiB, then exit 3)."""
    paths = _profiles(tmp_path, [closed_port()])
    monkeypatch.setattr(Processes, "command", [sys.executable, "-c", (
        "import sys; sys.stderr.write(('x' * 1023 + '\\\\n') * 1024); sys.stderr.flush(); "
        "raise SystemExit(3)")])
    monkeypatch.setattr(sys, "stderr", None)
    got: list[Any] = []
    audit = threading.Thread(target=lambda: got.append(run_audit(
        paths, AuditOptions(processes=2))), daemon=True)
    audit.start()
    audit.join(20)
    assert got, "the child blocked on its full stderr pipe, and the audit with it"
    assert {e.error for e in got[0].entries} == {
        "internal error: the audit process that ran it ended first (exit 3; what it said is "
        "on the audit's stderr)"}


def test_the_cpus_counted_are_those_this_process_may_use(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "process_cpu_count", lambda: 3, raising=False)
    assert audit_types.usable_cpus() == 3
    monkeypatch.delattr(os, "process_cpu_count", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert audit_types.usable_cpus() == 2
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)  # Windows before 3.13
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert audit_types.usable_cpus() == 1
