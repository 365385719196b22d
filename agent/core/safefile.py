"""Writing output files without harming whatever already sits at the path (and a size
check for the trust files accessready reads: :func:`oversized`).

Every file accessready writes (reports, results, the audit's per-customer files, a new
profile) goes through :func:`write_file`:

* a path that is (or links to) a character device, FIFO or socket — ``/dev/null``,
  ``/dev/stdout``, ``/proc/self/fd/1``, a named pipe — is written in place and never
  replaced: renaming over it would turn the machine's ``/dev/null`` into a file of HTML;
* ``/dev/stdout``, ``/dev/fd/N`` and ``/proc/self/fd/N`` write to this process's own
  descriptor N, so a shell's ``>>`` (append) or a pipe keeps working;
* a regular file is replaced atomically: a temp file from :func:`tempfile.mkstemp` (a
  random name, created exclusively, so a link planted in a shared folder is never
  followed) in the target's folder, then ``os.replace``. A file of ours that exists keeps
  its permissions (a 0600 file stays 0600); a new one — or one someone else left there —
  gets 0600 when ``private`` (results, which name internal hosts and accounts), otherwise
  what the umask allows.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import select
import socket
import stat
import sys
import tempfile
import threading
import time

# /dev/fd/N, /proc/self/fd/N or /proc/PID/fd/N: one of a process's open descriptors
_FD_PATH = re.compile(r"^/(?:dev|proc/(self|\d+))/fd/(\d+)$")
_MAX_LINKS = 40  # as the kernel's own limit on a chain of symbolic links


MAX_TRUST_FILE_BYTES = 8 * 1024 * 1024
"""Largest CA bundle or known_hosts file read. A system's whole CA bundle is about 200 KB
and 8 MiB of known_hosts is tens of thousands of hosts; the libraries that parse these
files hold ten times their size in memory (a 300 MB known_hosts took 3 GB)."""


def oversized(path: str | os.PathLike[str], cap: int = MAX_TRUST_FILE_BYTES) -> str:
    """Why the file at ``path`` is too large to read ("" when it is not, or is missing:
    the reader reports that in its own words)."""
    try:
        size = os.stat(path).st_size
    except OSError:
        return ""
    if size <= cap:
        return ""
    return (f"is {size / (1024 * 1024):.0f} MiB, more than such a file ever is "
            f"({cap // (1024 * 1024)} MiB at most), so it is not read — point the profile "
            "at the right file")


STREAM_WAIT_S = 10.0
"""Longest wait for a FIFO or device read as an input file (``validate <(cat p.toml)``)
to deliver everything: one that nobody writes to must not hang the command."""


def read_capped(path: str | os.PathLike[str], cap: int) -> bytes:
    """At most ``cap + 1`` bytes of the file at ``path`` (more than ``cap``: too large).

    A FIFO or character device is read without blocking for at most
    :data:`STREAM_WAIT_S`; past that, :class:`TimeoutError` says nothing wrote to it.
    Raises :class:`OSError` as :func:`open` does.
    """
    nonblock = getattr(os, "O_NONBLOCK", 0)  # a FIFO with no writer: opens, not hangs
    fd = os.open(path, os.O_RDONLY | nonblock | getattr(os, "O_NOCTTY", 0))
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode) or not hasattr(select, "poll"):
            if nonblock:
                os.set_blocking(fd, True)
            with os.fdopen(os.dup(fd), "rb") as handle:
                return handle.read(cap + 1)
        return _read_stream(fd, cap)
    finally:
        os.close(fd)


def _read_stream(fd: int, cap: int) -> bytes:
    # Linux reports no hang-up on a FIFO that never had a writer, so poll waits for one
    deadline = time.monotonic() + STREAM_WAIT_S
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    parts: list[bytes] = []
    size = 0
    while size <= cap:
        left = deadline - time.monotonic()
        if left <= 0 or not poller.poll(left * 1000):
            raise TimeoutError(errno.ETIMEDOUT, f"it is a pipe or device and nothing wrote "
                               f"all of it within {STREAM_WAIT_S:g} s")
        try:
            chunk = os.read(fd, min(65536, cap + 1 - size))
        except BlockingIOError:
            continue
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts)


class OutputError(Exception):
    """An output that cannot or must not be written; the text is the one line to show."""


def write_file(path: str, data: bytes, *, private: bool = False) -> None:
    """Write ``data`` to ``path`` as the module docstring describes; raise OutputError."""
    try:
        fd = own_descriptor(path)
        if fd is not None:
            _write_descriptor(fd, data)
            return
        try:
            found: os.stat_result | None = os.stat(path)
        except FileNotFoundError:
            found = None
        if found is None or stat.S_ISREG(found.st_mode):
            _replace(path, data, private, found)
        elif stat.S_ISDIR(found.st_mode):
            raise OutputError(f"{path}: is a folder — name a file in it")
        elif stat.S_ISBLK(found.st_mode):
            raise OutputError(f"{path}: is a block device (a disk); accessready does not "
                              "write reports onto disks — name a file")
        elif stat.S_ISSOCK(found.st_mode):
            _send_to_socket(path, data)
        else:
            _write_in_place(path, data, private)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write the output: {_reason(exc)} — check the "
                          "folder exists and is writable") from None


def create_private(path: str | os.PathLike[str]) -> None:
    """Create an empty file readable by its owner only (0600) unless something is there.

    For files that other code then opens by name (the history database): created here
    first, they never exist with looser permissions, not even for a moment.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        # O_EXCL fails on a link, dangling or not: whoever opens the name next would follow it
        if stat.S_ISLNK(os.lstat(path).st_mode):
            raise OSError(errno.ELOOP, "is a symbolic link", str(path)) from None
        return
    os.close(fd)


def _reason(exc: OSError) -> str:
    if isinstance(exc, BlockingIOError) or getattr(exc, "errno", None) == 6:  # ENXIO
        return "nothing is reading from it (a FIFO needs a reader)"
    return exc.strerror or str(exc)


def own_descriptor(path: str) -> int | None:
    """N when ``path`` is, or links through, one of this process's ``fd/N`` paths
    (``/dev/stdout`` gives 1)."""
    current = os.path.abspath(path)
    for _ in range(_MAX_LINKS):
        match = _FD_PATH.match(current.replace(os.sep, "/"))
        if match and match.group(1) in (None, "self", str(os.getpid())):
            return int(match.group(2))
        if not os.path.islink(current):
            return None
        current = os.path.normpath(os.path.join(os.path.dirname(current),
                                                os.readlink(current)))
    return None


def _write_descriptor(fd: int, data: bytes) -> None:
    for stream in (sys.stdout, sys.stderr):  # keep what Python buffered in order
        with contextlib.suppress(Exception):
            stream.flush()
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _write_in_place(path: str, data: bytes, private: bool) -> None:
    """A character device or FIFO: open without creating or truncating, then write."""
    nonblock = getattr(os, "O_NONBLOCK", 0)  # a FIFO without a reader: ENXIO, not a hang
    fd = os.open(path, os.O_WRONLY | nonblock | getattr(os, "O_NOCTTY", 0))
    try:
        found = os.fstat(fd)
        if stat.S_ISREG(found.st_mode):
            # swapped for a regular file since we looked: never write one in place
            os.close(fd)
            fd = -1
            _replace(path, data, private, found)
            return
        if nonblock:
            os.set_blocking(fd, True)
        _write_descriptor(fd, data)
    finally:
        if fd >= 0:
            os.close(fd)


def _send_to_socket(path: str, data: bytes) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:  # type: ignore[attr-defined,unused-ignore]
        sock.settimeout(30)
        sock.connect(path)
        sock.sendall(data)


def _replace(path: str, data: bytes, private: bool, found: os.stat_result | None) -> None:
    target = os.path.abspath(path)
    ours = found is not None and (not hasattr(os, "geteuid") or found.st_uid == os.geteuid())
    if found is not None and stat.S_ISREG(found.st_mode) and ours:
        # the owner's choice stays; never a set-id or sticky bit (a file someone else
        # planted gets the defaults below, not the planter's mode)
        mode = stat.S_IMODE(found.st_mode) & 0o777
    else:
        mode = 0o600 if private else 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target),
                               prefix=f".{os.path.basename(target)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), mode)
            else:  # pragma: no cover - Windows: only the read-only bit exists
                os.chmod(tmp, mode)
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    """The process's umask, read without changing it where the OS allows."""
    with contextlib.suppress(OSError, ValueError), \
            open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    # elsewhere: set and restore; a file another thread creates meanwhile gets the
    # stricter 077, never a looser mask. One thread at a time: two interleaved would
    # leave 077 behind for good (the second "restores" the first one's 077)
    with _UMASK_LOCK:
        current = os.umask(0o077)
        os.umask(current)
    return current
