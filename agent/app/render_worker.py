"""Customers' reports rendered and written in a process of their own, during an audit.

An audit's own process is bound to one core (the GIL) and spends it on starting and
judging checks; rendering a customer's HTML report and JSON result is the largest piece
of CPU that does not need the network or the audit's state, so it goes to a second
process (a second core): ``python -m accessready.agent.app.render_worker``.

The parent sends frames on the child's stdin — a 4-byte big-endian length, then a pickle
of a job (:class:`Framing`) — and the child answers each with a frame of
``(number, error_or_None)``: by number, not path, since one path may be written twice
(a name an early write took can go to another customer in the end). The child renders
with the same renderers and writes with the same safe writer
(:func:`~accessready.agent.core.safefile.write_file`) as the parent would, so the files are
the same bytes. It gets our environment without the password variables
(:func:`~accessready.agent.io.secrets.child_environment`) and nothing but finished runs,
whose secrets are already masked. It ignores Ctrl-C (the audit writes the reports of the
runs that finished before it stops) and ends at the end of its input, so it never
outlives the audit. Pickle is safe here: both ends are this program.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import pickle
import queue
import signal
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import IO, Any

from accessready.agent.core.model import Run
from accessready.agent.core.safefile import OutputError, write_file
from accessready.agent.io.secrets import child_environment

log = logging.getLogger("accessready.audit")

_LENGTH = struct.Struct(">I")


def send(stream: IO[bytes], item: Any) -> None:
    """Write one frame."""
    data = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(data)) + data)


def receive(stream: IO[bytes]) -> Any:
    """Read one frame; None at the end of the input (or a cut-off frame)."""
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    (size,) = _LENGTH.unpack(head)
    data = stream.read(size)
    if len(data) < size:
        return None
    return pickle.loads(data)  # noqa: S301 - both ends of the pipe are this program


class Framing:
    """One end's view of the jobs sent: ``(number, html_path, json_path, run, lang,
    catalogue)``. The run goes without its catalogue of checks, which is most of its pickle
    and the same for an audit's runs: ``catalogue`` is sent when it differs from the last
    one sent, else None ("as before"). Each end keeps its own. :meth:`strip`,
    :meth:`keep` and :meth:`restore` do that for any run sent between our processes (the
    audit processes' too)."""

    def __init__(self) -> None:
        self.catalogue: dict[str, dict[str, Any]] | None = None

    def strip(self, run: Run) -> tuple[Run, dict[str, dict[str, Any]] | None]:
        """``run`` without its catalogue, and the catalogue to send with it (None: as
        before); :meth:`keep` that once it has gone."""
        # equal is cheap: an audit's runs hold the same entry objects (run._catalogue)
        catalogue = None if run.catalogue == self.catalogue else run.catalogue
        return dataclasses.replace(run, catalogue={}), catalogue

    def keep(self, catalogue: dict[str, dict[str, Any]] | None) -> None:
        """``catalogue`` (unless None) is the one the other end holds now."""
        if catalogue is not None:
            self.catalogue = catalogue

    def restore(self, run: Run, catalogue: dict[str, dict[str, Any]] | None) -> Run:
        """A run received with ``catalogue`` (None: as before), its catalogue put back."""
        self.keep(catalogue)
        return dataclasses.replace(run, catalogue=self.catalogue or {})

    def pack(self, number: int, html_path: str, json_path: str, run: Run,
             lang: str) -> tuple[Any, ...]:
        """The parent's frame of a job; call :meth:`sent` once it has gone."""
        stripped, catalogue = self.strip(run)
        return (number, html_path, json_path, stripped, lang, catalogue)

    def sent(self, frame: tuple[Any, ...]) -> None:
        """``frame`` reached the child: its catalogue is the one it holds now."""
        self.keep(frame[5])

    def unpack(self, frame: tuple[Any, ...]) -> tuple[int, str, str, Run, str]:
        """The child's job from a frame: the run with its catalogue again."""
        number, html_path, json_path, run, lang, catalogue = frame
        return (number, html_path, json_path, self.restore(run, catalogue), lang)


def render_pair(run: Run, lang: str) -> tuple[bytes, bytes]:
    """A customer's HTML report and JSON result, as an audit writes them."""
    from accessready.reports import RENDERERS, json_report

    # thousands of files for machines: compact JSON (the indented encoder is the slow one)
    return RENDERERS["html"](run, lang), json_report.render(run, lang, compact=True)


def prepare() -> None:
    """Load and compile what :func:`render_pair` needs, ahead of its first report."""
    from accessready.reports import html, json_report  # noqa: F401 - loaded is the point

    html.prepare()


WRITERS = 4  # threads whose syncs to disk overlap (see Writes)


class Writes:
    """Reports' files written by up to :data:`WRITERS` threads while the caller renders
    the next report.

    Rendering takes about 2 ms a report; writing its two files safely (each synced to
    disk before it replaces the old one) about 8 ms, nearly all of it waiting for the
    disk. One at a time, those waits were the audit's tail; written by several threads,
    the syncs overlap (a journalling file system commits them together). A path written
    again waits for its earlier write, so the later bytes win; at most ``2 * WRITERS``
    rendered reports wait for a thread (memory). Where no thread can be started (a
    process at its limit), the caller writes. Every wait is in short steps, so Ctrl-C is
    heard on Windows; the threads are daemons, so it is not held up by a hung disk
    either (a write cut short leaves the old file: see ``safefile``). :meth:`submit`
    from one thread only; ``write`` handles its own errors.
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[threading.Event, Callable[[], None]] | None] = \
            queue.SimpleQueue()
        self._room = threading.BoundedSemaphore(2 * WRITERS)
        self._writing: dict[str, threading.Event] = {}  # path -> its last write, done
        self._threads: list[threading.Thread] = []
        for n in range(WRITERS):
            thread = threading.Thread(target=self._work, daemon=True,
                                      name=f"accessready-write-{n}")
            try:
                thread.start()
            except RuntimeError:  # "can't start new thread": fewer, or the caller writes
                break
            self._threads.append(thread)

    def submit(self, paths: tuple[str, ...], write: Callable[[], None]) -> None:
        """Have ``write`` (which writes ``paths``) run on a writer thread."""
        for path in paths:
            earlier = self._writing.get(path)
            if earlier is not None:
                _wait(earlier.wait)
        if not self._threads:
            write()
            return
        _wait(lambda seconds: self._room.acquire(timeout=seconds))
        done = threading.Event()
        self._jobs.put((done, write))
        for path in paths:
            self._writing[path] = done
        if len(self._writing) > 64 * WRITERS:  # forget the finished ones (bounded)
            self._writing = {p: d for p, d in self._writing.items() if not d.is_set()}

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            done, write = job
            try:
                write()
            except Exception:  # write says its own failures; this one was a bug
                log.exception("a report's files could not be written")
            finally:
                self._room.release()
                done.set()

    def close(self) -> None:
        """Wait until every file submitted is written."""
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            wait_for(thread)

    def __enter__(self) -> Writes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _wait(step: Callable[[float], bool]) -> None:
    """``step(0.25)`` until it returns True: every wait here is made of these, since on
    Windows a wait without a timeout does not hear Ctrl-C."""
    while not step(0.25):
        pass


def serve(source: IO[bytes], answers: IO[bytes]) -> int:
    """The child's loop: render each job, have it written (:class:`Writes`), answer each,
    until the end of its input."""
    if hasattr(signal, "SIGINT"):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    said = threading.Lock()

    def write(number: int, html_path: str, json_path: str, html: bytes,
              result: bytes) -> None:
        try:
            write_file(html_path, html)
            write_file(json_path, result, private=True)
            error = None
        except (OutputError, OSError) as exc:
            error = str(exc)
        with said:
            send(answers, (number, error))
            answers.flush()

    framing = Framing()
    with Writes() as writes:
        while (frame := receive(source)) is not None:
            number, html_path, json_path, run, lang = framing.unpack(frame)
            html, result = render_pair(run, lang)
            writes.submit((html_path, json_path),
                          functools.partial(write, number, html_path, json_path, html,
                                            result))
    return 0


class RenderProcess:
    """The parent's end: :meth:`submit` jobs, :meth:`close` to learn how each went."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", __name__], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=child_environment(),
            # no console window flashing up under pythonw or Task Scheduler
            creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0))
        self.answers: dict[int, str | None] = {}
        self.sent = 0
        self._framing = Framing()
        self._sending = threading.Lock()  # frames and the framing's state agree
        self._reader = threading.Thread(target=self._read, daemon=True,
                                        name="accessready-report-answers")
        self._reader.start()

    @classmethod
    def start(cls) -> RenderProcess | None:
        """A running child, or None where none can be started (the caller renders): no
        interpreter to run it with (an embedded or frozen build), or it would not start."""
        if not sys.executable or getattr(sys, "frozen", False):
            return None
        try:
            return cls()
        except Exception:  # whatever it was, the reports are rendered in this process
            log.debug("no report process; rendering in this one", exc_info=True)
            return None

    def _read(self) -> None:
        assert self.proc.stdout is not None
        try:
            while (answer := receive(self.proc.stdout)) is not None:
                number, error = answer
                self.answers[number] = error
        except (OSError, pickle.UnpicklingError, ValueError):
            log.debug("the report process's answers ended", exc_info=True)

    def submit(self, html_path: str, json_path: str, run: Run, lang: str) -> int | None:
        """Hand a job over: its number, or None when the child is gone (the caller renders
        it)."""
        assert self.proc.stdin is not None
        with self._sending:
            number = self.sent
            frame = self._framing.pack(number, html_path, json_path, run, lang)
            try:
                send(self.proc.stdin, frame)
                self.proc.stdin.flush()
            except (OSError, ValueError, pickle.PicklingError):
                return None
            self._framing.sent(frame)
            self.sent += 1
            return number

    def close(self) -> dict[int, str | None]:
        """End the input, wait for the child; every answer: job number -> error or None.
        A job without an answer was not written (the child died): render it again."""
        assert self.proc.stdin is not None
        with contextlib.suppress(OSError):  # the child is gone already
            self.proc.stdin.close()
        wait_for(self._reader)

        def ended(seconds: float) -> bool:
            try:
                self.proc.wait(seconds)
            except subprocess.TimeoutExpired:
                return False
            return True

        _wait(ended)
        return dict(self.answers)


def wait_for(thread: threading.Thread) -> None:
    """``thread.join()`` in short waits: on Windows a join without a timeout does not
    hear Ctrl-C, and the audit could not be stopped while its reports are written."""

    def joined(seconds: float) -> bool:
        thread.join(seconds)
        return not thread.is_alive()

    _wait(joined)


if __name__ == "__main__":
    sys.exit(serve(sys.stdin.buffer, sys.stdout.buffer))
