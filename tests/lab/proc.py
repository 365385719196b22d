"""Low-level helpers: run commands, enter network namespaces, start and stop processes by PID.

Nothing here knows about the lab's topology. Every wait is bounded in time and in count.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

NETNS_DIR = Path("/run/netns")
_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)

# Bind-mounts pairs of arguments ("SRC DST ... --") in a fresh private mount namespace, then
# execs the rest: the daemon keeps the PID that Popen saw, so we can stop it by PID.
# `mount -n` keeps util-linux from touching the machine's /run/mount/utab.
_MOUNT_SCRIPT = (
    'while [ "$#" -gt 1 ] && [ "$1" != "--" ]; do '
    'mount -n --bind "$1" "$2" || exit 97; shift 2; done; '
    '[ "$1" = "--" ] && shift; exec "$@"'
)


class LabError(RuntimeError):
    """Something in the lab could not be set up, reached or torn down."""


def run(
    argv: Sequence[str],
    *,
    timeout: float = 30.0,
    input: str | None = None,
    check: bool = True,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command to completion (bounded by ``timeout``) and capture its text output."""
    try:
        proc = subprocess.run(
            list(argv),
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"{_show(argv)} did not finish within {timeout:g} s") from exc
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip()[-800:]
        raise LabError(f"{_show(argv)} exited {proc.returncode}: {detail}")
    return proc


def _show(argv: Sequence[str]) -> str:
    shown = " ".join(str(a) for a in argv)
    return shown if len(shown) < 300 else shown[:300] + " ..."


def in_netns(ns: str, fn: Callable[[], T], *, timeout: float = 60.0) -> T:
    """Call ``fn`` on a short-lived thread that has joined network namespace ``ns``.

    Sockets created inside ``fn`` belong to that namespace and keep working from any thread
    afterwards. Only the helper thread switches namespace; the caller's thread never does, so
    the caller can never send a packet from the machine's own namespace by mistake.
    """
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            fd = os.open(NETNS_DIR / ns, os.O_RDONLY | os.O_CLOEXEC)
            try:
                if _libc.setns(fd, _CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns({ns}): {os.strerror(err)}")
            finally:
                os.close(fd)
            outcome["value"] = fn()
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=target, name=f"netns:{ns}", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise LabError(f"call inside namespace {ns} did not finish within {timeout:g} s")
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


def write_sysctl(ns: str, values: Mapping[str, str]) -> None:
    """Write ``net.*`` sysctls of namespace ``ns`` (files under /proc/sys/net are per netns)."""

    def apply() -> None:
        for key, value in values.items():
            path = Path("/proc/sys") / key.replace(".", "/")
            path.write_text(value)

    in_netns(ns, apply)


def netns_exists(ns: str) -> bool:
    """True if ``ip netns`` knows namespace ``ns``."""
    return (NETNS_DIR / ns).exists()


def list_netns() -> list[str]:
    """Names of all namespaces under /run/netns."""
    try:
        return sorted(p.name for p in NETNS_DIR.iterdir())
    except FileNotFoundError:
        return []


def netns_pids(ns: str) -> list[int]:
    """PIDs of live processes whose network namespace is ``ns`` (like ``ip netns pids``)."""
    try:
        st = os.stat(NETNS_DIR / ns)
    except FileNotFoundError:
        return []
    ident = (st.st_dev, st.st_ino)
    pids: list[int] = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            nst = os.stat(f"/proc/{entry.name}/ns/net")
        except OSError:
            continue
        if (nst.st_dev, nst.st_ino) == ident:
            pids.append(int(entry.name))
    return pids


def proc_start_time(pid: int) -> int | None:
    """The start time of ``pid`` in clock ticks since boot, or None if it is gone.

    Together with the PID this identifies a process even after PIDs are reused.
    """
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 2 (comm) may contain spaces and parentheses: split after the last ')'.
    fields = raw.rsplit(")", 1)[-1].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def pid_matches(pid: int, start_time: int | None) -> bool:
    """True if ``pid`` is alive and (when known) still the process started at ``start_time``."""
    now = proc_start_time(pid)
    if now is None:
        return False
    if _is_zombie(pid):
        return False
    return start_time is None or now == start_time


def _is_zombie(pid: int) -> bool:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return raw.rsplit(")", 1)[-1].split()[:1] == ["Z"]


def kill_pid(pid: int, start_time: int | None, *, grace: float = 3.0) -> None:
    """SIGTERM a process identified by PID (and start time), then SIGKILL it after ``grace``."""
    if not pid_matches(pid, start_time):
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 2.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        if _wait_gone(pid, start_time, wait):
            return


def _wait_gone(pid: int, start_time: int | None, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    for _ in range(int(seconds / 0.02) + 2):
        if not pid_matches(pid, start_time):
            return True
        if time.monotonic() > deadline:
            break
        time.sleep(0.02)
    return not pid_matches(pid, start_time)


def kill_netns_processes(ns: str, *, seconds: float = 5.0) -> list[int]:
    """SIGKILL every process left in namespace ``ns``, by PID; return the PIDs that survived."""
    deadline = time.monotonic() + seconds
    left: list[int] = []
    for _ in range(200):
        left = [p for p in netns_pids(ns) if not _is_zombie(p)]
        if not left:
            return []
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if time.monotonic() > deadline:
            break
        time.sleep(0.03)
    return left


def ns_command(
    ns: str, argv: Sequence[str], binds: Iterable[tuple[str | Path, str | Path]] = ()
) -> list[str]:
    """The argv that runs ``argv`` inside namespace ``ns``, after bind-mounting ``binds``.

    With binds, the command gets its own private mount namespace (``unshare --mount``), so
    per-host folders can stand in for /run, /var/log or files of /etc without the machine's
    own copies ever being written. Every step execs, so the final PID is the one Popen sees.
    """
    cmd = ["ip", "netns", "exec", ns]
    pairs = list(binds)
    if pairs:
        cmd += ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c"]
        cmd += [_MOUNT_SCRIPT, "lab-mount"]
        for src, dst in pairs:
            cmd += [str(src), str(dst)]
        cmd.append("--")
    return cmd + [str(a) for a in argv]


@dataclass
class Proc:
    """A process we started, known by PID (and start time, to survive PID reuse)."""

    name: str
    ns: str
    pid: int
    start_time: int | None
    log: Path
    popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def alive(self) -> bool:
        """True while the process runs (a reaped or zombie child counts as dead)."""
        if self.popen is not None:
            return self.popen.poll() is None
        return pid_matches(self.pid, self.start_time)

    def returncode(self) -> int | None:
        """Exit status if the process ended and we are its parent."""
        return self.popen.poll() if self.popen is not None else None

    def signal(self, sig: int) -> None:
        """Send ``sig`` to this process only (never by name, never a group)."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def wait(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for the process to end; True if it did."""
        if self.popen is not None:
            try:
                self.popen.wait(timeout=seconds)
                return True
            except subprocess.TimeoutExpired:
                return False
        return _wait_gone(self.pid, self.start_time, seconds)

    def stop(self, grace: float = 3.0) -> None:
        """SIGTERM, wait up to ``grace`` seconds, then SIGKILL and reap."""
        if not self.alive():
            self.wait(0.1)
            return
        self.signal(signal.SIGTERM)
        if self.wait(grace):
            return
        self.signal(signal.SIGKILL)
        self.wait(2.0)

    def log_tail(self, chars: int = 1500) -> str:
        """The end of the process's log, for error messages."""
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def spawn(
    name: str,
    ns: str,
    argv: Sequence[str],
    *,
    log: Path,
    binds: Iterable[tuple[str | Path, str | Path]] = (),
    env: Mapping[str, str] | None = None,
    stdin_data: str | None = None,
    cwd: str | Path | None = None,
) -> Proc:
    """Start ``argv`` in namespace ``ns`` (own session, output to ``log``) and return it."""
    log.parent.mkdir(parents=True, exist_ok=True)
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    with open(log, "ab") as out:
        popen = subprocess.Popen(
            ns_command(ns, argv, binds),
            stdin=subprocess.PIPE if stdin_data is not None else subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=full_env,
            cwd=cwd,
            start_new_session=True,
            close_fds=True,
        )
    if stdin_data is not None and popen.stdin is not None:
        try:
            popen.stdin.write(stdin_data.encode())
            popen.stdin.close()
        except BrokenPipeError:
            pass
    return Proc(name, ns, popen.pid, proc_start_time(popen.pid), log, popen)


def wait_until(
    what: str,
    probe: Callable[[], bool],
    *,
    deadline: float,
    interval: float = 0.05,
    alive: Callable[[], bool] | None = None,
    on_fail: Callable[[], str] | None = None,
) -> None:
    """Poll ``probe`` until it returns True, the absolute monotonic ``deadline`` passes, or
    ``alive`` says the thing we wait for died. Bounded in count as well as time."""
    max_rounds = int(max(deadline - time.monotonic(), 0) / interval) + 3
    for _ in range(max_rounds):
        try:
            if probe():
                return
        except OSError:
            pass
        if alive is not None and not alive():
            detail = on_fail() if on_fail else ""
            raise LabError(f"{what}: the process exited before it was ready\n{detail}")
        if time.monotonic() > deadline:
            break
        time.sleep(interval)
    detail = on_fail() if on_fail else ""
    raise LabError(f"{what}: not ready before the deadline\n{detail}")
