"""Output files, the lock and the history database never harm what sits at their path.

Pins issue 16 item 2: devices, FIFOs, sockets and fd links are written in place (``--html
/dev/null`` once replaced the machine's /dev/null with a file); regular files are replaced
through an unpredictable temp name (a link planted at the old ``.NAME.tmpPID`` overwrote
its target); the lock never follows a link or truncates someone's file; results, the lock
and the history are created 0600 and a 0600 file stays 0600 when rewritten.
"""

from __future__ import annotations

import os
import select
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from accessready.agent.app.history import History
from accessready.agent.app.lock import LockBusy, RunLock
from accessready.agent.core.safefile import OutputError, write_file


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


class _FifoReader:
    """Reads the FIFO at ``path`` from now on (opened first, so a writer finds a reader)."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        self.data = bytearray()
        self.written = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        for _ in range(100_000):  # bounded: at most a few seconds of polling
            select.select([self.fd], [], [], 0.05)
            try:
                chunk = os.read(self.fd, 65536)
            except BlockingIOError:
                continue
            if chunk:
                self.data += chunk
            elif self.written.is_set():
                break
            else:  # no writer yet (a FIFO without writers reads as end of file)
                time.sleep(0.005)
        os.close(self.fd)

    def result(self) -> bytes:
        """What arrived, once the writer is done."""
        self.written.set()
        self.thread.join(10)
        return bytes(self.data)


def test_a_character_device_is_written_in_place_never_replaced(tmp_path: Path) -> None:
    """``--json /tmp/n`` where /tmp/n is /dev/null's twin (as CI runs: root)."""
    device = tmp_path / "null"
    if os.geteuid() == 0:
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        write_file(str(device), b"<html>report</html>")
        assert stat.S_ISCHR(device.stat().st_mode)
        assert device.read_bytes() == b""  # still the null device
        link = tmp_path / "to-null"
        link.symlink_to(device)
        write_file(str(link), b"again", private=True)
        assert link.is_symlink() and stat.S_ISCHR(device.stat().st_mode)
    else:  # the same promise through a FIFO, for a developer without root
        os.mkfifo(device)
        reader = _FifoReader(device)
        write_file(str(device), b"<html>report</html>")
        assert reader.result() == b"<html>report</html>"
        assert stat.S_ISFIFO(device.stat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) in (["null"], ["null", "to-null"])


def test_a_fifo_gets_the_bytes_and_stays_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = _FifoReader(fifo)
    payload = b"x" * 300_000  # more than a pipe buffer: the writes must block, not fail
    write_file(str(fifo), payload)
    assert reader.result() == payload
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_a_fifo_nobody_reads_is_an_error_not_a_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OutputError) as refused:
        write_file(str(fifo), b"data")
    assert "nothing is reading" in str(refused.value) and "\n" not in str(refused.value)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_a_unix_socket_gets_the_bytes_and_stays_a_socket(tmp_path: Path) -> None:
    path = tmp_path / "s.sock"
    got: list[bytes] = []
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        server.listen(1)

        def serve() -> None:
            conn, _ = server.accept()
            with conn:
                chunks = []
                while chunk := conn.recv(65536):
                    chunks.append(chunk)
                got.append(b"".join(chunks))
        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        write_file(str(path), b"metric 1\n")
        thread.join(10)
    assert got == [b"metric 1\n"] and stat.S_ISSOCK(path.lstat().st_mode)


_FD_WRITER = """
import sys
from accessready.agent.core.safefile import write_file
write_file(sys.argv[1], b"report\\n")
"""


@pytest.mark.parametrize("how", ["/proc/self/fd/1", "/dev/fd/1", "link"])
def test_fd_paths_write_to_our_own_stdout_keeping_append(tmp_path: Path, how: str) -> None:
    """``--json /dev/stdout >> log``: appended to the log; no link or /proc entry replaced
    (a temp file renamed over /dev/stdout replaced the machine's link)."""
    log = tmp_path / "log"
    log.write_bytes(b"before\n")
    path = how
    if how == "link":  # /dev/stdout's own shape, without touching the machine's /dev
        path = str(tmp_path / "stdout")
        os.symlink("/proc/self/fd/1", path)
    with open(log, "ab") as out:
        done = subprocess.run([sys.executable, "-c", _FD_WRITER,
                               path], stdout=out, stderr=subprocess.PIPE, timeout=60)
    assert done.returncode == 0, done.stderr
    assert log.read_bytes() == b"before\nreport\n"
    if how == "link":
        assert os.readlink(path) == "/proc/self/fd/1"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["log"] + (["stdout"] if how == "link" else []))


def test_a_link_planted_at_the_old_temp_name_is_never_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    target = tmp_path / "accessready.prom"
    # the names the old writer used (and any pid a guesser would try)
    for pid in (os.getpid(), os.getppid(), 1):
        (tmp_path / f".{target.name}.tmp{pid}").symlink_to(victim)
    write_file(str(target), b"metric 1\n")
    assert victim.read_bytes() == b"precious"
    assert target.read_bytes() == b"metric 1\n" and not target.is_symlink()
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_a_link_planted_at_the_target_is_replaced_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    target = tmp_path / "report.html"
    target.symlink_to(victim)
    write_file(str(target), b"<html>")
    assert victim.read_bytes() == b"precious"
    assert not target.is_symlink() and target.read_bytes() == b"<html>"


def test_new_files_private_or_umask_and_rewrites_keep_their_mode(tmp_path: Path,
                                                                 umask_022: None) -> None:
    result = tmp_path / "r.json"
    write_file(str(result), b"{}", private=True)
    assert stat.S_IMODE(result.stat().st_mode) == 0o600
    report = tmp_path / "r.html"
    write_file(str(report), b"<html>")
    assert stat.S_IMODE(report.stat().st_mode) == 0o644  # reports follow the umask
    os.umask(0o027)
    write_file(str(tmp_path / "other.html"), b"<html>")
    assert stat.S_IMODE((tmp_path / "other.html").stat().st_mode) == 0o640
    report.chmod(0o600)
    write_file(str(report), b"<html>2")  # a 0600 report stays 0600
    assert stat.S_IMODE(report.stat().st_mode) == 0o600 and report.read_bytes() == b"<html>2"
    result.chmod(0o640)
    write_file(str(result), b"[]", private=True)  # the owner's choice is kept
    assert stat.S_IMODE(result.stat().st_mode) == 0o640


def test_a_planted_file_lends_neither_its_mode_nor_set_id_bits(tmp_path: Path,
                                                               umask_022: None) -> None:
    result = tmp_path / "r.json"
    result.write_bytes(b"{}")
    result.chmod(0o4766)  # set-uid and world-writable
    write_file(str(result), b"[]", private=True)
    assert stat.S_IMODE(result.stat().st_mode) == 0o766  # ours: kept, without set-uid
    if os.geteuid() == 0:  # a file another user planted: the defaults, not its mode
        os.chown(result, 12345, 12345)
        result.chmod(0o666)
        write_file(str(result), b"{}", private=True)
        assert stat.S_IMODE(result.stat().st_mode) == 0o600
        assert result.stat().st_uid == 0


def test_folders_and_block_devices_are_refused(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="is a folder"):
        write_file(str(tmp_path), b"x")
    if os.geteuid() == 0:
        disk = tmp_path / "disk"
        os.mknod(disk, stat.S_IFBLK | 0o600, os.makedev(7, 200))
        with pytest.raises(OutputError, match="block device"):
            write_file(str(disk), b"x")
        assert stat.S_ISBLK(disk.lstat().st_mode)


# -- the lock -------------------------------------------------------------------------------

def test_lock_is_created_0600_and_refuses_a_planted_link(tmp_path: Path,
                                                         umask_022: None) -> None:
    lock = tmp_path / "audit.lock"
    with RunLock(lock):
        assert stat.S_IMODE(lock.stat().st_mode) == 0o600
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    planted = tmp_path / "planted.lock"
    planted.symlink_to(victim)
    with pytest.raises(LockBusy, match="symbolic link"):
        RunLock(planted).acquire()
    assert victim.read_bytes() == b"precious"


def test_lock_never_truncates_a_file_that_is_not_a_lock(tmp_path: Path) -> None:
    someones = tmp_path / "audit.db"
    someones.write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    with pytest.raises(LockBusy, match="something other than an accessready lock"):
        RunLock(someones).acquire()
    assert someones.read_bytes().startswith(b"SQLite format 3")
    fifo = tmp_path / "fifo.lock"
    os.mkfifo(fifo)
    with pytest.raises(LockBusy, match="not a regular file"):
        RunLock(fifo).acquire()
    # a lock file left by an earlier holder (a crash) is taken over
    stale = tmp_path / "stale.lock"
    stale.write_text("pid 99999 since 2026-01-01T00:00:00+00:00 on host\n")
    with RunLock(stale):
        assert stale.read_text().startswith(f"pid {os.getpid()} ")


# -- the history database -------------------------------------------------------------------

def test_history_database_and_its_wal_are_created_0600(tmp_path: Path,
                                                       umask_022: None) -> None:
    path = tmp_path / "audit.db"
    with History(path):
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    assert modes["audit.db"] == 0o600
    assert all(mode == 0o600 for mode in modes.values()), modes


# -- reading an input file that is a FIFO or a device (validate, report) --------------


def test_a_fifo_nobody_writes_to_is_refused_after_the_wait(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from accessready.agent.core import safefile

    fifo = tmp_path / "p.toml"
    os.mkfifo(fifo)
    monkeypatch.setattr(safefile, "STREAM_WAIT_S", 0.2)
    with pytest.raises(TimeoutError) as caught:
        safefile.read_capped(fifo, 100)
    assert "nothing wrote" in caught.value.strerror


def test_a_fifo_is_read_to_the_end_as_its_writer_writes(tmp_path: Path) -> None:
    from accessready.agent.core.safefile import read_capped

    fifo = tmp_path / "p.toml"
    os.mkfifo(fifo)

    def write() -> None:
        with open(fifo, "wb", buffering=0) as out:  # blocks until the reader opens
            out.write(b"first ")
            time.sleep(0.2)  # a writer that pauses: its reader waits, not gives up
            out.write(b"second")

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert read_capped(fifo, 100) == b"first second"
    finally:
        writer.join(timeout=30)


def test_a_device_is_read_no_further_than_the_cap() -> None:
    from accessready.agent.core.safefile import read_capped

    assert len(read_capped("/dev/zero", 1000)) == 1001
    assert read_capped("/dev/null", 1000) == b""
