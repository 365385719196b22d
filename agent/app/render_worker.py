"""Customers' reports rendered and written in a process of their own, during an audit.

An audit's own process is bound to one core (the GIL) and spends it on starting and
judging checks; rendering a customer's HTML report and JSON result is the largest piece
of CPU that does not need the network or the audit's state, so it goes to a second
process (a second core): ``python -m accessready.agent.app.render_worker``.

The parent sends frames on the child's stdin — a 4-byte big-endian length, then a pickle
of ``(number, html_path, json_path, run, lang)`` — and the child answers each with a frame
of ``(number, error_or_None)``: by number, not path, since one path may be written twice
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
import logging
import pickle
import signal
import struct
import subprocess
import sys
import threading
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


def render_pair(run: Run, lang: str) -> tuple[bytes, bytes]:
    """A customer's HTML report and JSON result, as an audit writes them."""
    from accessready.reports import RENDERERS, json_report

    # thousands of files for machines: compact JSON (the indented encoder is the slow one)
    return RENDERERS["html"](run, lang), json_report.render(run, lang, compact=True)


def render_files(html_path: str, json_path: str, run: Run, lang: str) -> None:
    """Render ``run``'s HTML report and JSON result and write them (the JSON private)."""
    html, result = render_pair(run, lang)
    write_file(html_path, html)
    write_file(json_path, result, private=True)


def serve(source: IO[bytes], answers: IO[bytes]) -> int:
    """The child's loop: render and write each job, answer each, until end of input."""
    if hasattr(signal, "SIGINT"):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    while (job := receive(source)) is not None:
        number, html_path, json_path, run, lang = job
        try:
            render_files(html_path, json_path, run, lang)
            error = None
        except (OutputError, OSError) as exc:
            error = str(exc)
        send(answers, (number, error))
        answers.flush()
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
        number = self.sent
        try:
            send(self.proc.stdin, (number, html_path, json_path, run, lang))
            self.proc.stdin.flush()
        except (OSError, ValueError, pickle.PicklingError):
            return None
        self.sent += 1
        return number

    def close(self) -> dict[int, str | None]:
        """End the input, wait for the child; every answer: job number -> error or None.
        A job without an answer was not written (the child died): render it again."""
        assert self.proc.stdin is not None
        with contextlib.suppress(OSError):  # the child is gone already
            self.proc.stdin.close()
        wait_for(self._reader)
        while True:
            try:
                self.proc.wait(0.25)
                break
            except subprocess.TimeoutExpired:  # short waits: Ctrl-C is heard on Windows
                continue
        return dict(self.answers)


def wait_for(thread: threading.Thread) -> None:
    """``thread.join()`` in short waits: on Windows a join without a timeout does not
    hear Ctrl-C, and the audit could not be stopped while its reports are written."""
    while thread.is_alive():
        thread.join(0.25)


if __name__ == "__main__":
    sys.exit(serve(sys.stdin.buffer, sys.stdout.buffer))
