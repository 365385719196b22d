"""What every lab daemon has in common: a folder, a config, a process, a readiness probe.

Each daemon runs in its host's network namespace and in its own private mount namespace in
which the host's folders ``run/`` and ``log/`` stand in for /run and /var/log, so pid files,
sockets and logs of two daemons never meet, and the machine's own are never written.
"""

from __future__ import annotations

import signal
import socket
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from ..proc import LabError, Proc, in_netns, spawn, wait_until

if TYPE_CHECKING:
    from ..core import Lab


def tcp_open(ns: str, address: str, port: int, timeout: float = 0.3) -> bool:
    """True if a TCP connection to ``address:port`` succeeds from namespace ``ns``."""

    def probe() -> bool:
        try:
            with socket.create_connection((address, port), timeout=timeout):
                return True
        except OSError:
            return False

    return in_netns(ns, probe)


class Daemon:
    """Base class: subclasses write their config in ``prepare`` and say how to start."""

    kind: ClassVar[str] = "daemon"

    def __init__(self, lab: Lab, host: str) -> None:
        self.lab = lab
        self.host = lab.topology.host(host)
        self.name = f"{self.kind}@{host}"
        self.dir: Path = lab.workdir / "hosts" / host
        self.proc: Proc | None = None

    @property
    def run_dir(self) -> Path:
        """Stands in for /run inside the daemon's mount namespace."""
        return self.dir / "run"

    @property
    def log_dir(self) -> Path:
        """Stands in for /var/log inside the daemon's mount namespace."""
        return self.dir / "log"

    @property
    def log_file(self) -> Path:
        """The daemon's stdout and stderr."""
        return self.log_dir / f"{self.kind}.out"

    def prepare(self) -> None:
        """Create folders and write config files."""
        for d in (self.dir, self.run_dir, self.log_dir):
            d.mkdir(parents=True, exist_ok=True)
            d.chmod(0o755)

    def command(self) -> list[str]:
        """The argv (foreground, no self-daemonising: its PID must stay ours)."""
        raise NotImplementedError

    def binds(self) -> list[tuple[Path, str]]:
        """(folder or file, path it stands in for) pairs for the private mount namespace.

        resolv.conf comes first (in case the machine's is a link into /run): any name lookup
        a daemon makes goes to the lab's own DNS, never to the machine's resolver.
        """
        return [
            (self.lab.resolv_conf_for(self.host.name), "/etc/resolv.conf"),
            (self.run_dir, "/run"),
            (self.log_dir, "/var/log"),
        ]

    def env(self) -> dict[str, str]:
        """Extra environment variables."""
        return {}

    def start(self) -> None:
        """Prepare and start the process (does not wait for readiness)."""
        self.prepare()
        self.proc = spawn(
            self.name,
            self.host.ns,
            self.command(),
            log=self.log_file,
            binds=self.binds(),
            env=self.env(),
        )

    def ready(self) -> bool:
        """One readiness probe; must be quick and side-effect free."""
        raise NotImplementedError

    def wait_ready(self, deadline: float) -> None:
        """Poll ``ready`` until the absolute monotonic ``deadline``."""
        if self.proc is None:
            raise LabError(f"{self.name} was never started")
        proc = self.proc
        wait_until(
            self.name,
            self.ready,
            deadline=deadline,
            alive=proc.alive,
            on_fail=lambda: f"log {proc.log}:\n{proc.log_tail()}",
        )

    def after_ready(self, deadline: float) -> None:
        """Work that needs the daemon up (loading configs over a control socket, ...)."""

    def stop(self, grace: float = 3.0) -> None:
        """Stop by PID: SIGTERM, then SIGKILL after ``grace``."""
        if self.proc is not None:
            self.proc.stop(grace)

    def terminate(self) -> None:
        """Send SIGTERM without waiting (a lab stops all daemons at once, then waits)."""
        if self.proc is not None:
            self.proc.signal(signal.SIGTERM)

    def pid_record(self) -> list[int | None]:
        """[pid, start time] for the lab's state file."""
        if self.proc is None:
            return [None, None]
        return [self.proc.pid, self.proc.start_time]

    def describe(self) -> dict[str, object]:
        """JSON-friendly facts for ``status`` and error messages."""
        return {
            "host": self.host.name,
            "ns": self.host.ns,
            "pid": self.proc.pid if self.proc else None,
            "alive": self.proc.alive() if self.proc else False,
            "log": str(self.log_file),
            "dir": str(self.dir),
        }
