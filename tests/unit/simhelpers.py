"""Shared set-up for the transport and remote/account check tests: simulators and profiles."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from accessready.agent.app.run import run_checks
from accessready.agent.core.model import Result
from accessready.agent.core.profile import parse_profile
from accessready.agent.core.profile_types import Profile
from accessready.agent.io.secrets import Secret
from accessready.agent.io.transports.sessions import SessionOptions, Sessions
from accessready.agent.plugin.runner import RunOptions

PASSWORD = "Sommar-2025!åäö"
USER = "EXEMPEL\\eventful-support"
CUSTOMER = '[customer]\nname = "Testkommun"\n[access]\nmethods = ["teamviewer"]\n'


def profile_from(body: str, workdir: Path | None = None) -> Profile:
    """A profile from ``body`` (account and servers), rooted in ``workdir``."""
    path = str((workdir or Path("/tmp")) / "customer.toml")
    return parse_profile(CUSTOMER + body, path)


def run_profile(profile: Profile, checks: list[Any], *, password: str | None = PASSWORD,
                accept_new: bool = False, timeout: float = 8.0) -> list[Result]:
    """Run ``checks`` (classes) on ``profile`` with the real sessions service."""
    sessions = Sessions(profile, Secret(password) if password else None,
                        SessionOptions(accept_new_host_keys=accept_new, use_agent=False))
    run = run_checks(profile, RunOptions(timeout=timeout), checks=[c() for c in checks],
                     services={"sessions": sessions}, interactive=False)
    return list(run.results)


def by_id(results: list[Result], check_id: str, target: str | None = None) -> list[Result]:
    """The results of ``check_id`` (for ``target``)."""
    return [r for r in results if r.check_id == check_id
            and (target is None or r.target == target)]


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ReplayServer:
    """Answers each TCP connection with the next canned reply (or ``default``)."""

    def __init__(self, replies: Callable[[bytes], bytes | None]) -> None:
        self.replies = replies
        self.received: list[bytes] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        self._listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:
                continue
            with sock:
                sock.settimeout(2)
                try:
                    data = sock.recv(4096)
                except OSError:
                    continue
                self.received.append(data)
                reply = self.replies(data)
                if reply:
                    sock.sendall(reply)

    def stop(self) -> None:
        """Stop serving."""
        self._stop.set()
        self._listener.close()
