"""An audit's profiles shared out to worker processes, one core each (issue 13).

An audit's process is bound to one core by the GIL; at a few thousand servers it is
CPU-bound (TLS handshakes, planning, judging), so its wall time is its CPU time, not its
slowest probe. :class:`Processes` deals the profiles, in the order the audit starts them,
to ``N`` processes (``python -m accessready.agent.app.audit_processes``), each of which
runs its share exactly as a one-process audit does (:class:`~.audit_local.Local`: its own check
workers, planners and connector, with ``1/N`` of the audit's bounds) and answers with each
profile's :class:`~.audit_record.Finished` as it ends. The parent keeps everything that is
one per audit: the lock, the history, the customers' reports, progress and the overview.

Frames both ways are :mod:`.render_worker`'s (a length, then a pickle: both ends are this
program). Parent to child: one frame ``(options, [(index, path)], log level)``; the end of
that input (the parent stopped, or is gone) stops the child. Child to parent:
``("started",)`` once every profile of its share started, ``("finished", frame)`` for
each profile (the run without its catalogue of checks unless that changed: as the report
process's frames), and before either ``("hidden", names)`` when its runs withheld more
password variables (the parent then withholds them from its report process). A child
inherits the environment, since it reads the profiles' passwords itself (``env``,
keyring) and masks them in its results and log before they leave it; it ignores Ctrl-C
(the parent stops it) and has no console window; its stderr is relayed to the parent's.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from accessready.agent.app.audit_local import Local, guess_customer
from accessready.agent.app.audit_record import Finished
from accessready.agent.app.render_worker import Framing, receive, send
from accessready.agent.core.audit_types import AuditOptions
from accessready.agent.core.textsafe import clean
from accessready.agent.io.secrets import hidden_env, hide_env, log_to_stderr
from accessready.agent.plugin.registry import load_registry

log = logging.getLogger("accessready.audit")

STARTED = "started"  # a child's every profile has started
HIDDEN = "hidden"  # the password variables a child's runs withhold from programs
STOP_WAIT_S = 5.0  # a child told to stop that has not ended by then is killed
RELAY_LINE_BYTES = 8192  # a longer line of a child's stderr is relayed in pieces


class RunFraming:
    """One end's view of the finished profiles sent: a run goes without its catalogue
    unless that changed (the report process's :class:`Framing`)."""

    def __init__(self) -> None:
        self.runs = Framing()

    def pack(self, finished: Finished) -> tuple[Finished, dict[str, dict[str, Any]] | None]:
        """The child's frame of ``finished``."""
        if finished.run is None:
            return finished, None
        run, catalogue = self.runs.strip(finished.run)
        self.runs.keep(catalogue)  # a frame that does not reach the parent: it is gone
        return dataclasses.replace(finished, run=run), catalogue

    def unpack(self, frame: tuple[Finished, dict[str, dict[str, Any]] | None]) -> Finished:
        """The parent's :class:`Finished` from a frame, its run's catalogue put back."""
        finished, catalogue = frame
        if finished.run is None:
            return finished
        return dataclasses.replace(finished, run=self.runs.restore(finished.run, catalogue))


def share(options: AuditOptions, count: int) -> AuditOptions:
    """A child's options: ``1/count`` of the audit's bounds (at least 1 each), in one
    process."""
    return dataclasses.replace(
        options, processes=1, profiles_at_once=max(1, options.profiles_at_once // count),
        checks_at_once=max(1, options.checks_at_once // count))


class Processes:
    """The parent's end: ``count`` children, each with every ``count``-th profile."""

    command = [sys.executable, "-m", __name__]  # tests point this at a child that fails

    def __init__(self, jobs: list[tuple[int, Path]], options: AuditOptions, count: int,
                 deliver: Callable[[Finished], None], done: queue.SimpleQueue[Finished],
                 stop: threading.Event, on_started: Callable[[], None] | None) -> None:
        self.deliver, self.done, self.stop = deliver, done, stop
        self.on_started = on_started
        self.lock = threading.Lock()
        self.children: list[subprocess.Popen[bytes]] = []
        self.readers: list[threading.Thread] = []
        # set when they could not all start: the caller audits in its own process, and
        # what the ones that did start say (or their end) must not count twice
        self.abandoned = threading.Event()
        self.settled = threading.Event()  # every child started, or they were abandoned
        shares = [jobs[n::count] for n in range(count)]
        self.not_started = len(shares)
        child_options = share(options, count)
        level = logging.getLogger("accessready").getEffectiveLevel()
        log.debug("auditing %d profiles in %d processes", len(jobs), count)
        try:
            for part in shares:
                self._spawn(part, child_options, level)
        except BaseException:
            self.abandoned.set()
            self.settled.set()
            self.close(complete=False)
            raise
        self.settled.set()

    @classmethod
    def start(cls, jobs: list[tuple[int, Path]], options: AuditOptions, count: int,
              deliver: Callable[[Finished], None], done: queue.SimpleQueue[Finished],
              stop: threading.Event, on_started: Callable[[], None] | None
              ) -> Processes | None:
        """Running children, or None where none can be started (the caller audits in its
        own process): no interpreter to run them with (an embedded or frozen build), or
        they would not start."""
        if not sys.executable or getattr(sys, "frozen", False):
            return None
        try:
            return cls(jobs, options, count, deliver, done, stop, on_started)
        except (OSError, ValueError, pickle.PicklingError):
            log.debug("no audit processes; auditing in this one", exc_info=True)
            return None

    def _spawn(self, part: list[tuple[int, Path]], options: AuditOptions, level: int) -> None:
        child = subprocess.Popen(
            self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,  # relayed by the parent: a child has no console
            # its stderr is read as UTF-8, also what it writes before serve() says so
            env={**os.environ, "PYTHONIOENCODING": "utf-8:backslashreplace"},
            # no console window flashing up under pythonw or Task Scheduler
            creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0))
        self.children.append(child)
        threading.Thread(target=self._relay, args=(child,), daemon=True,
                         name=f"accessready-audit-stderr-{len(self.children)}").start()
        assert child.stdin is not None
        try:
            send(child.stdin, (options, [(index, str(path)) for index, path in part], level))
            child.stdin.flush()
        except OSError:
            pass  # it ended at once: its reader reports its profiles
        reader = threading.Thread(target=self._read, args=(child, part), daemon=True,
                                  name=f"accessready-audit-process-{len(self.children)}")
        self.readers.append(reader)
        reader.start()

    def _read(self, child: subprocess.Popen[bytes], part: list[tuple[int, Path]]) -> None:
        left = dict(part)
        said_started = False
        self.settled.wait()  # nothing counts before it is known whether they all started
        try:
            framing = RunFraming()
            assert child.stdout is not None
            while not self.abandoned.is_set() and (frame := receive(child.stdout)) is not None:
                if frame[0] == HIDDEN:
                    for name in frame[1]:
                        hide_env(name)
                elif frame[0] == STARTED:
                    said_started = True
                    self._started()
                else:
                    finished = framing.unpack(frame[1])
                    left.pop(finished.index, None)
                    try:
                        self.deliver(finished)  # in ``done`` whatever on_run does
                    except Exception:
                        log.debug("a finished profile's callback raised", exc_info=True)
        except Exception:  # a cut or unreadable frame: what is left is said below
            log.debug("an audit process's answers ended", exc_info=True)
        finally:
            self._gone(child, left, said_started)

    def _gone(self, child: subprocess.Popen[bytes], left: dict[int, Path],
              said_started: bool) -> None:
        code = _ended(child)
        if self.abandoned.is_set():
            return
        if left and not self.stop.is_set():  # it died: its profiles are not lost silently
            # its stderr went to ours; it is not kept here, since only the child knew its
            # secrets to mask (a traceback is no log record)
            why = (f"internal error: the audit process that ran it ended first (exit "
                   f"{code}; what it said is on the audit's stderr)")
            for index, path in left.items():
                self.done.put(Finished(index, str(path), guess_customer(path), error=why))
        if not said_started:  # the reports must not wait for a child that is gone
            self._started()

    def _relay(self, child: subprocess.Popen[bytes]) -> None:
        """The child's stderr (its log, secrets masked there; what a plugin wrote) onto
        ours, line by line, terminal escapes neutralised. Always drained: a child
        blocked on a full pipe would stop auditing."""
        assert child.stderr is not None
        with contextlib.suppress(OSError, ValueError):
            while line := child.stderr.readline(RELAY_LINE_BYTES):
                stream = sys.stderr  # None under pythonw: read all the same
                if stream is None:
                    continue
                with contextlib.suppress(Exception):
                    stream.write(clean(line.decode("utf-8", "replace").rstrip("\r\n")) + "\n")
                    stream.flush()

    def _started(self) -> None:
        with self.lock:
            self.not_started -= 1
            last = self.not_started == 0
        if last and self.on_started is not None:
            self.on_started()

    def close(self, complete: bool) -> None:
        """End the children's input (they stop), wait for them; kill those that do not
        end within :data:`STOP_WAIT_S` (or at once when the audit was interrupted)."""
        for child in self.children:
            if child.stdin is not None:
                with contextlib.suppress(OSError):
                    child.stdin.close()
            if not complete:
                with contextlib.suppress(OSError):
                    child.kill()
        for child in self.children:
            _ended(child)
        for reader in self.readers:
            reader.join(STOP_WAIT_S)


def _ended(child: subprocess.Popen[bytes]) -> int | None:
    """Wait for ``child`` in short steps (Ctrl-C is heard on Windows), killing it after
    :data:`STOP_WAIT_S`; its exit code."""
    for _ in range(int(STOP_WAIT_S / 0.25)):
        try:
            return child.wait(0.25)
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(OSError):
        child.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        return child.wait(STOP_WAIT_S)
    return None


def private_pipes() -> tuple[IO[bytes], IO[bytes]]:
    """The child's pipes to its parent on descriptors of its own (not inherited by what a
    check starts), and descriptors 0 and 1 pointed at nothing and at stderr: no program a
    check starts, and nothing a plugin writes, can read the input or corrupt the answers."""
    source = os.fdopen(os.dup(0), "rb")
    answers = os.fdopen(os.dup(1), "wb")
    nothing = os.open(os.devnull, os.O_RDONLY)
    try:
        os.dup2(nothing, 0)
    finally:
        os.close(nothing)
    os.dup2(2, 1)
    # the parent reads our stderr as UTF-8; on Windows a pipe would get the ANSI code page
    # (Swedish names, servers' answers)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(encoding="utf-8", errors="backslashreplace")  # type: ignore[union-attr]
    return source, answers


def serve(source: IO[bytes], answers: IO[bytes]) -> int:
    """The child: audit the share read from ``source``, answer on ``answers``."""
    if hasattr(signal, "SIGINT"):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    header = receive(source)
    if header is None:
        return 0
    options, part, level = header
    log_to_stderr(level)
    done: queue.SimpleQueue[Any] = queue.SimpleQueue()
    stop = threading.Event()

    def watch() -> None:  # the end of our input: the parent stopped us, or is gone
        # the descriptor, not the buffered reader: a daemon thread blocked in that holds
        # its lock, and the interpreter's exit then aborts
        with contextlib.suppress(OSError, ValueError):
            while os.read(source.fileno(), 4096):
                pass
        stop.set()
        done.put(None)

    threading.Thread(target=watch, daemon=True, name="accessready-audit-input").start()
    jobs = [(index, Path(path)) for index, path in part]
    local = Local(jobs, options, load_registry().checks, None, done.put, done, stop,
                  lambda: done.put(STARTED))
    sent, framing, told = 0, RunFraming(), frozenset[str]()
    try:
        while sent < len(jobs):
            item = done.get()
            if item is None:
                break
            # first the password variables withheld so far: the parent withholds them from
            # its report process too (a run's are withheld before it starts)
            if (hidden := hidden_env()) != told:
                send(answers, (HIDDEN, sorted(hidden - told)))
                told = hidden
            send(answers, (STARTED,) if item == STARTED else ("finished", framing.pack(item)))
            answers.flush()
            sent += item != STARTED
    except (OSError, ValueError):  # the parent is gone
        pass
    finally:
        stop.set()
        local.close(complete=sent == len(jobs))
    return 0


if __name__ == "__main__":
    sys.exit(serve(*private_pipes()))
