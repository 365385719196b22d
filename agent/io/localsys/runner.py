"""Running a local program: argv only, a hard timeout, bounded output, the whole process
tree killed at the deadline; and the local PowerShell session.

:class:`LocalShell` is the local side of :class:`~accessready.agent.io.transports.base.Transport`,
so a local PowerShell script is run and its JSON read the one way every transport does
(:func:`~accessready.agent.io.transports.base.powershell_json`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from accessready.agent.core import powershell
from accessready.agent.io.localsys.facts import CommandResult
from accessready.agent.io.secrets import child_environment
from accessready.agent.io.transports import base
from accessready.agent.io.transports.winrm import clean_clixml

MAX_OUTPUT_BYTES = 4 * 1024 * 1024
"""Most bytes kept of one program's stdout (and, separately, stderr). A program that writes
more is stopped: every fact we collect is far smaller, so more means something is wrong."""

_READ_CHUNK = 64 * 1024
_GRACE_S = 1.0
"""After the program ended or was killed: how long its pipes may take to reach EOF."""


def kill_tree(root: Any) -> None:
    """Kill the :class:`psutil.Process` ``root`` and every process it started (best effort).

    Why the whole tree: ``powershell.exe``, ``cmd`` and friends start children that inherit
    our pipes. Killing only the direct child leaves them holding the pipes open, and a reader
    waiting for end-of-file then waits as long as they live (the ``subprocess.run`` timeout
    hang on Windows). psutil's methods refuse to signal a reused PID, so a program that has
    already exited cannot make us kill a stranger.
    """
    import psutil

    try:
        family = root.children(recursive=True)
    except psutil.Error:
        family = []
    for proc in [root, *family]:  # the parent first, so it starts no new ones
        with contextlib.suppress(psutil.Error):
            proc.kill()


class _Capture(threading.Thread):
    """Reads one pipe to its end on its own thread, keeping at most ``limit`` bytes.

    A thread per pipe (not ``select``) because Windows cannot wait on pipes; reading both
    at once keeps a program that fills stderr from blocking while we read stdout.
    """

    def __init__(self, stream: Any, limit: int, on_overflow: Callable[[], None]) -> None:
        super().__init__(daemon=True, name="accessready-capture")
        self.stream = stream
        self.limit = limit
        self.on_overflow = on_overflow
        self.data = bytearray()
        self.overflowed = False

    def run(self) -> None:
        """Read until EOF or the limit; then close our end, so a writer left over gets EPIPE
        instead of blocking on a full pipe."""
        try:
            while True:
                chunk = self.stream.read1(_READ_CHUNK)
                if not chunk:
                    return
                room = self.limit - len(self.data)
                self.data += chunk[:room]
                if len(chunk) > room:
                    self.overflowed = True
                    self.on_overflow()
                    return
        except (OSError, ValueError):  # the pipe broke: what was read so far stands
            return
        finally:
            with contextlib.suppress(OSError):
                self.stream.close()

    def text(self) -> str:
        """What was read, as text (bytes that are not UTF-8 replaced)."""
        return bytes(self.data).decode("utf-8", "replace")


def run_command(argv: Sequence[str], timeout: float, *,
                max_output: int = MAX_OUTPUT_BYTES) -> CommandResult:
    """Run a local program: argv list, no shell, no stdin, a hard timeout, output as text.

    At most ``max_output`` bytes of stdout and of stderr are kept; a program that writes
    more, or is still running at the deadline, is killed with every process it started
    (:func:`kill_tree`). Never waits much past the deadline: a pipe still held open by a
    process that escaped the tree is abandoned, not waited for.
    """
    import psutil

    argv = [str(a) for a in argv]
    command = " ".join(argv[:1] + [a for a in argv[1:] if len(a) < 60])  # no base64 blobs
    started = time.monotonic()
    deadline = started + max(timeout, 0.05)
    try:
        # child_environment: without the password variable (and any copy of a secret)
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, shell=False, env=child_environment())
    except OSError as exc:
        return CommandResult(command, None, "", "", time.monotonic() - started,
                             f"cannot run {argv[0]}: {exc.strerror or exc}")
    try:
        # taken now, while the PID is certainly ours (not yet reaped)
        root: Any = psutil.Process(proc.pid)
    except psutil.Error:
        root = None

    def stop() -> None:
        if root is not None:
            kill_tree(root)
        else:
            with contextlib.suppress(OSError):
                proc.kill()

    readers = [_Capture(proc.stdout, max_output, stop), _Capture(proc.stderr, max_output, stop)]
    for reader in readers:
        reader.start()
    timed_out = False
    try:
        proc.wait(timeout=max(deadline - time.monotonic(), 0.0))
    except subprocess.TimeoutExpired:
        timed_out = True
        stop()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=_GRACE_S)
    overflowed = any(r.overflowed for r in readers)
    # The program has ended; its pipes reach EOF once every process holding them has too.
    until = max(deadline, time.monotonic() + _GRACE_S) if not (timed_out or overflowed) \
        else time.monotonic() + _GRACE_S
    for reader in readers:
        reader.join(max(until - time.monotonic(), 0.0))
    held_open = any(r.is_alive() for r in readers)  # abandoned: daemon threads, EOF later
    out, err = readers[0].text(), readers[1].text()
    duration = time.monotonic() - started
    if overflowed:
        error = f"{command} wrote more than {max_output} bytes; it was stopped"
    elif timed_out:
        error = f"{command} did not finish within {timeout:.1f} s"
    elif held_open:
        error = (f"{command} exited, but a process it started kept its output open "
                 "past the deadline")
    else:
        error = ""
    # a program we killed has no exit code of its own
    returncode = None if (timed_out or overflowed) else proc.returncode
    return CommandResult(command, returncode, out, err, duration, error)


class LocalShell:
    """This machine as a :class:`~accessready.agent.io.transports.base.Transport`
    (``method`` "local"): programs through ``runner`` (:func:`run_command` unless a test
    hands in recorded answers), PowerShell scripts as ``powershell`` ``-EncodedCommand``.

    A program that could not run, timed out or wrote too much raises
    :class:`~accessready.agent.io.transports.base.TransportError` (``error``); one that ran
    returns its exit code, as a remote command does.
    """

    method = "local"

    def __init__(self, runner: Callable[[Sequence[str], float], CommandResult] = run_command,
                 powershell_exe: str = "powershell.exe") -> None:
        self._runner = runner
        self.powershell = powershell_exe

    def run(self, argv: Sequence[str], timeout: float) -> base.CommandResult:
        """Run ``argv`` (no shell) within ``timeout``."""
        done = self._runner(argv, timeout)
        if done.error:
            raise base.TransportError("error", done.error, {"command": done.command})
        return base.CommandResult(done.stdout, done.stderr,
                                  done.returncode if done.returncode is not None else -1,
                                  done.duration_s * 1000)

    def run_powershell(self, script: str, timeout: float,
                       params: Mapping[str, str] | None = None) -> base.CommandResult:
        """Run the fixed ``script`` with ``params`` as ``$name`` literals before it; its
        ``#< CLIXML`` error stream comes back as plain text, as over WinRM."""
        done = self.run(powershell.argv(powershell.script(script, params), self.powershell),
                        timeout)
        return dataclasses.replace(done, stderr=clean_clixml(done.stderr))

    def close(self) -> None:
        """Nothing to end: every program is its own process."""
