"""A lock file so that a scheduled audit still running when the next one starts is detected,
not doubled.

The lock is an OS lock on an open file (``fcntl.flock`` on POSIX, ``msvcrt.locking`` on
Windows), not the file's existence: the OS drops it when the holder exits, however it
exits (``kill -9``, a crash, a reboot), so there is never a stale lock to clean up. The
file's text says who holds it (pid, start time, host) for the refusal message. The file is
never deleted: deleting a lock file races with a process that has just opened it. It is
created owner-only (0600), opened without following a link, and refused, untouched, when it
holds anything but a lock line: a mistyped ``--lock`` never truncates someone's file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import os
import re
import socket
import stat
import sys
from pathlib import Path
from types import TracebackType

# Windows locks a byte range; lock one far past the text so the holder's line stays
# readable to the process that is refused.
_WIN_LOCK_OFFSET = 1 << 20

# O_NOFOLLOW and O_NONBLOCK are POSIX; Windows has neither (nor FIFOs or such links)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
# what acquire() writes; a file holding anything else is someone else's
_LOCK_TEXT = re.compile(r"^(pid \d+ since \S+ on \S*)?$")


class LockBusy(Exception):
    """Another process holds the lock; the text is the one line to show."""


class RunLock:
    """An exclusive, non-blocking lock on ``path``; a context manager."""

    def __init__(self, path: str | Path, what: str = "audit") -> None:
        self.path = Path(path)
        self.what = what
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`LockBusy` naming the holder."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # never through a link, never blocking on a FIFO planted at the path
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | _NOFOLLOW | _NONBLOCK, 0o600)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise LockBusy(f"{self.path}: is a symbolic link, and a lock file must be a "
                               "plain file — remove the link or pass --lock PATH") from None
            raise LockBusy(f"{self.path}: cannot open the lock file: {exc.strerror} — check "
                           "the folder exists and is writable, or pass --lock PATH") from None
        problem = _not_a_lock(fd)
        if problem:
            os.close(fd)
            raise LockBusy(f"{self.path}: {problem}, so it is left alone — pass --lock PATH "
                           "naming a file of its own")
        if not _try_lock(fd):
            holder = _read(fd)
            os.close(fd)
            who = f" ({holder})" if holder else ""
            raise LockBusy(f"another {self.what} is running{who} — wait for it to finish "
                           f"(lock: {self.path})")
        self._fd = fd
        stamp = dt.datetime.now().astimezone().isoformat(timespec="seconds")
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"pid {os.getpid()} since {stamp} on {socket.gethostname()}\n"
                 .encode())

    def release(self) -> None:
        """Let go of the lock (the OS also does when the process ends)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)  # the next holder writes its own line
        _unlock(fd)
        os.close(fd)

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


def _not_a_lock(fd: int) -> str:
    """Why the open file is not one this class may truncate, or "" (empty or ours)."""
    found = os.fstat(fd)
    if not stat.S_ISREG(found.st_mode):
        return "is not a regular file"
    if found.st_size > 512 or (found.st_size and not _LOCK_TEXT.match(_read(fd))):
        return "holds something other than an accessready lock"
    return ""


def _read(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 512).decode("utf-8", "replace")
    except OSError:
        return ""
    return " ".join(text.split())


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, _WIN_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, _WIN_LOCK_OFFSET, os.SEEK_SET)
        with contextlib.suppress(OSError):
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
