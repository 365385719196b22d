"""The ``sessions`` service: authenticated SSH and WinRM sessions for the run's checks.

Checks ask ``ctx.service("sessions").get(server, "ssh" | "winrm", ctx.timeout(cap))`` and
get a :class:`~accessready.agent.io.transports.base.Transport`, opened on first use with the
profile's support account and shared by every check of the run (one login per server and
method: a failure is remembered, so a wrong password is tried once, not once per check,
and cannot lock the account). ``ssh_probe(server, timeout)`` is the unauthenticated SSH
handshake ``remote.ssh`` reports on.

The agent, not the checks, reads files: the key file and the known_hosts file are opened
here, by the absolute paths the profile was built with (``servers[].ssh.known_hosts`` is
the server's known_hosts file: :mod:`accessready.agent.core.profile_build` chose it).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from accessready.agent.core.profile_types import Profile, Server
from accessready.agent.io.transports.base import SessionPool, Transport, TransportError
from accessready.agent.io.transports.ssh import KnownHosts, SshCredentials, login, probe
from accessready.agent.io.transports.winrm import INSECURE_WHY, WinrmEndpoint, open_winrm

METHODS = ("ssh", "winrm")


@dataclass(frozen=True)
class SessionOptions:
    """Run-wide choices about sessions (from the CLI)."""

    accept_new_host_keys: bool = False
    use_agent: bool | None = None  # None: use ssh-agent when SSH_AUTH_SOCK is set


def credential_warnings(profile: Profile) -> list[str]:
    """One line per server whose WinRM settings would send the password unprotected
    (``validate`` prints them): whether the run refuses it or the profile accepted it."""

    sessions = Sessions(profile)
    out = []
    for i, server in enumerate(profile.servers):
        if "winrm" not in server.remote:
            continue
        endpoint = sessions.winrm_endpoint(server)
        risk = endpoint.credential_risk
        if not risk:
            continue
        then = ("allowed by allow_insecure_credentials = true: the report says so at the top"
                if endpoint.allow_insecure else "the run will not send them (account.login "
                "and the checks over WinRM give an error) unless the winrm table says "
                "allow_insecure_credentials = true")
        out.append(f"servers[{i}].winrm ({server.name}): {INSECURE_WHY[risk]}; {then}")
    return out


class Sessions:
    """One transport per (server, method), opened with the support account on first use."""

    # Its probes and the first connection of every session (SSH's own; for WinRM the
    # connection open_winrm makes before pywinrm's) go through accessready.agent.io.net's
    # connect, so a connection the runner opened ahead for a check (Contact(via=
    # "sessions")) is the one they use.
    connects_with_net = True

    def __init__(self, profile: Profile, password: Any = None,
                 options: SessionOptions | None = None) -> None:
        self.profile = profile
        self.password = password  # accessready.agent.io.secrets.Secret or None
        self.options = options or SessionOptions()
        self._pool = SessionPool(self._open)
        self._known: dict[Path, Any] = {}
        self._known_lock = threading.Lock()

    def bind_password(self, password: Any) -> None:
        """Use ``password`` (a Secret) for logins from now on; the run calls this."""
        if self.password is None:
            self.password = password

    # -- evidence helpers -------------------------------------------------------------

    def known_hosts(self, server: Server) -> Any:
        """The server's :class:`~accessready.agent.io.transports.ssh.KnownHosts` (cached)."""

        path = Path(server.ssh.known_hosts)
        with self._known_lock:
            if path not in self._known:
                self._known[path] = KnownHosts(path, self.options.accept_new_host_keys)
            return self._known[path]

    def winrm_endpoint(self, server: Server) -> Any:
        """Where WinRM is for ``server`` and how to authenticate there."""

        cfg = server.winrm
        tls = cfg.tls
        ca_file = tls.ca_file
        return WinrmEndpoint(
            host=server.address, port=cfg.port, https=cfg.https, auth=cfg.transport,
            username=self.profile.account.username or "", verify=tls.verify, ca_file=ca_file,
            allow_insecure=cfg.allow_insecure_credentials)

    def describe(self, server: Server, method: str) -> dict[str, Any]:
        """How the session for ``server``/``method`` is (or would be) made: evidence."""
        if method == "winrm":
            return self.winrm_endpoint(server).to_json()
        account = self.profile.account
        return {"endpoint": f"{server.address}:{server.ssh.port}",
                "username": account.username,
                "key_file": account.ssh_key,
                "known_hosts": server.ssh.known_hosts}

    # -- sessions ----------------------------------------------------------------------

    def get(self, server: Server, method: str, timeout: float) -> Transport:
        """The shared session; raises the (remembered) :class:`TransportError`."""
        if method not in METHODS:
            raise TransportError("error", f"no command transport for '{method}'")
        return self._pool.get(server, method, timeout)

    def ssh_probe(self, server: Server, timeout: float) -> Any:
        """Banner, key exchange and host key verdict, without logging in."""

        return probe(server.address, server.ssh.port, self.known_hosts(server), timeout)

    def _open(self, server: Server, method: str, timeout: float) -> Transport:
        account = self.profile.account
        if not account.username:
            raise TransportError("error", "the profile names no support account "
                                 "([account] username)")
        if method == "ssh":

            use_agent = self.options.use_agent
            if use_agent is None:
                use_agent = bool(os.environ.get("SSH_AUTH_SOCK"))
            creds = SshCredentials(
                username=account.username, password=self.password,
                key_file=Path(account.ssh_key) if account.ssh_key else None,
                use_agent=use_agent)
            return login(server.address, server.ssh.port, self.known_hosts(server), creds,
                         timeout)

        endpoint = self.winrm_endpoint(server)
        if self.password is None:
            raise TransportError("error", "WinRM needs the support account's password, and "
                                 "none is available", endpoint.to_json())
        return open_winrm(endpoint, self.password, timeout)

    def close(self) -> None:
        """Close every session (the run calls this once it is over)."""
        self._pool.close()
