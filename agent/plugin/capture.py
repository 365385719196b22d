"""What a check prints goes into its evidence, never onto the process's stdout.

Checks run concurrently on worker threads, and ``sys.stdout``/``sys.stderr`` are process
globals, so ``contextlib.redirect_stdout`` per check would race (one check's output in
another's evidence, or the redirection undone while a third still prints). Instead
:func:`install` replaces both streams once with a proxy that looks at the writing thread:

* a thread inside :func:`capturing` (a check's planning or run) writes into that check's
  buffer, bounded in size;
* the main thread writes through to the real stream: report bytes (``--json -``,
  ``--nagios``) and the table are written there;
* any other thread (one a plugin started, a library's helper) writes stdout to stderr:
  stdout carries report bytes only, and must stay parseable.

Output written straight to file descriptor 1 (``os.write(1, …)``, a child process a
plugin starts, a handler holding the stream from before) is beyond this proxy;
:func:`protect_stdout_fd` (the CLI's ``run``, ``audit`` and ``checks``) points descriptor 1
at stderr for that, and gives the main thread the real stdout through a duplicate.
"""

from __future__ import annotations

import io
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TextIO

MAX_CHARS = 8192  # per stream and check: evidence, not a log file

_local = threading.local()
_install_lock = threading.Lock()
_installed: dict[str, _Router] = {}  # the routers install() made last
_owned = False  # set by protect_stdout_fd: the command line owns the process's streams
_real_exit = os._exit
_real_abort = os.abort


@dataclass(frozen=True)
class Printed:
    """What one check wrote to stdout and stderr (cut at :data:`MAX_CHARS` each)."""

    stdout: str = ""
    stderr: str = ""

    def __add__(self, other: Printed) -> Printed:
        if not (self and other):
            return self or other
        return Printed(_cut(self.stdout + other.stdout), _cut(self.stderr + other.stderr))

    def __bool__(self) -> bool:
        return bool(self.stdout or self.stderr)

    def evidence(self) -> dict[str, str]:
        """The non-empty streams, for a result's details."""
        return {name: text for name, text in (("stdout", self.stdout),
                                              ("stderr", self.stderr)) if text}


def _cut(text: str) -> str:
    if len(text) <= MAX_CHARS + 100:  # room for a note that it was cut already
        return text
    return text[:MAX_CHARS] + f"\n[… {len(text) - MAX_CHARS} more characters not kept]"


class _Sink:
    """One check's buffers; counts what it drops beyond the cap instead of keeping it."""

    def __init__(self) -> None:
        self.parts: dict[str, list[str]] = {"stdout": [], "stderr": []}
        self.size = {"stdout": 0, "stderr": 0}
        self.dropped = {"stdout": 0, "stderr": 0}
        self.lock = threading.Lock()

    def write(self, stream: str, text: str) -> None:
        with self.lock:
            room = MAX_CHARS - self.size[stream]
            kept = text[:max(0, room)]
            if kept:
                self.parts[stream].append(kept)
                self.size[stream] += len(kept)
            self.dropped[stream] += len(text) - len(kept)

    def printed(self) -> Printed:
        with self.lock:
            texts = {}
            for stream, parts in self.parts.items():
                text = "".join(parts)
                if self.dropped[stream]:
                    text += f"\n[… {self.dropped[stream]} more characters not kept]"
                texts[stream] = text
        return Printed(**texts)


class _BinaryInto:
    """``sys.stdout.buffer`` for a capturing thread: bytes decoded into its buffer."""

    def __init__(self, sink: _Sink, stream: str) -> None:
        self.sink, self.stream = sink, stream

    def write(self, data: bytes) -> int:
        self.sink.write(self.stream, bytes(data).decode("utf-8", "replace"))
        return len(data)

    def flush(self) -> None:
        """Nothing to flush: the buffer is in memory."""


class _Router(io.TextIOBase):
    """Stands in for ``sys.stdout`` or ``sys.stderr``; see the module docstring."""

    def __init__(self, name: str, original: TextIO, elsewhere: TextIO) -> None:
        super().__init__()
        self._name = name
        self._original = original
        self._elsewhere = elsewhere  # where threads other than main and checks write
        self.fd_protected = False

    def _real(self) -> TextIO:
        if threading.current_thread() is threading.main_thread():
            return self._original
        return self._elsewhere

    def write(self, text: str) -> int:  # type: ignore[override]
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        sink: _Sink | None = getattr(_local, "sink", None)
        if sink is not None:
            sink.write(self._name, text)
            return len(text)
        return self._real().write(text)

    def flush(self) -> None:
        if getattr(_local, "sink", None) is None:
            self._real().flush()

    @property
    def buffer(self) -> Any:  # type: ignore[override]
        sink: _Sink | None = getattr(_local, "sink", None)
        if sink is not None:
            return _BinaryInto(sink, self._name)
        return self._real().buffer

    def isatty(self) -> bool:
        return self._original.isatty()

    def fileno(self) -> int:
        return self._original.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._original.encoding

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return self._original.errors

    def writable(self) -> bool:
        return True


class ExitCalled(SystemExit):
    """Raised instead of ending the process when a check's thread calls ``os._exit`` or
    ``os.abort``: the runner makes it that check's error, like ``sys.exit``."""


_PID = os.getpid()


def _in_a_check() -> bool:
    # A child forked from a check's thread (multiprocessing ends its children with
    # os._exit) inherits the thread's state, but its exit is its own: let it end.
    return getattr(_local, "sink", None) is not None and os.getpid() == _PID


def _guarded_exit(status: int) -> None:
    if _in_a_check():
        raise ExitCalled(f"os._exit({status!r})")
    _real_exit(status)


def _guarded_abort() -> None:
    if _in_a_check():
        raise ExitCalled("os.abort()")
    _real_abort()


def install() -> None:
    """Route ``sys.stdout``/``sys.stderr`` by thread, and make ``os._exit``/``os.abort``
    from a thread inside :func:`capturing` raise :class:`ExitCalled` (idempotent; never
    undone, because a check abandoned at its deadline may still print long after).

    An exit that skipped the reports would read as "no problems" to a scheduler (exit 0,
    no output): a false "ready". Other threads, the main one included, exit as before.
    """
    with _install_lock:
        os._exit, os.abort = _guarded_exit, _guarded_abort
        if _owned:  # the command line's routers: put back, never wrap what replaced them
            sys.stdout, sys.stderr = _installed["stdout"], _installed["stderr"]
            return
        out, err = sys.stdout, sys.stderr
        if not isinstance(err, _Router) and err is not None:
            sys.stderr = err = _installed["stderr"] = _Router("stderr", err, err)
        if not isinstance(out, _Router) and out is not None:
            real_err = err._original if isinstance(err, _Router) else err
            sys.stdout = _installed["stdout"] = _Router("stdout", out, real_err)


def reinstate() -> None:
    """Put the command line's routers back where plugin code replaced ``sys.stdout`` or
    ``sys.stderr`` (e.g. with ``sys.__stdout__``): the report is written through them."""
    if _owned:
        install()


def protect_stdout_fd() -> None:
    """Point file descriptor 1 at stderr for the rest of the process; ``sys.stdout``'s
    main-thread writes (the report) go to the real stdout through a duplicate of it.

    Only for the command line: it changes the process, not one run. Where stdout is a
    terminal or has no descriptor (embedded, closed) the thread routing of :func:`install`
    still holds.
    """
    global _owned
    install()
    router = sys.stdout
    if not isinstance(router, _Router) or router.fd_protected:
        return
    original = router._original
    try:
        if original.isatty():
            # Nothing parses a terminal, and a Windows console stream cannot be reopened
            # from its descriptor without losing its Unicode output: leave it alone.
            return
        original.flush()
        fd = original.fileno()
        saved = os.dup(fd)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return
    try:
        os.dup2(router._elsewhere.fileno(), fd)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        os.close(saved)
        return
    router._original = open(saved, "w", encoding=original.encoding,  # noqa: SIM115 - for life
                            errors=original.errors)
    router.fd_protected = True
    # The process's own streams (not a test runner's): from now on ours are put back
    # wherever plugin code replaces them.
    _owned = "stderr" in _installed and _installed.get("stdout") is router


@contextmanager
def capturing() -> Iterator[_Sink]:
    """Capture what this thread prints; read it with ``sink.printed()`` afterwards."""
    install()
    sink = _Sink()
    previous = getattr(_local, "sink", None)
    _local.sink = sink
    try:
        yield sink
    finally:
        _local.sink = previous
