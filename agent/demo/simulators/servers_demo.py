"""The demo's servers: what ``remote.*``, ``account.*`` and ``service.running`` look at.

* **adfs01** (AD FS, Windows Server 2019) — RDP that requires NLA, and WinRM over HTTP
  with NTLM (sealed messages, as with Windows' default ``AllowUnencrypted=false``). The
  support account logs in and is a local administrator, but its password expires in 10
  days while the profile wants 14: ``account.status`` **warns**.
* **wap01** (Web Application Proxy, Windows Server 2022) — WinRM over HTTPS with NTLM and a
  certificate from the demo CA the profile trusts. The account is only in Remote
  Management Users: ``account.privileges`` **warns** (a WAP needs an administrator), and
  the ``adfssrv`` service there is stopped: ``service.running`` **fails**.
* **sync01** (integration server, Debian) — SSH whose host key is in the demo's
  known_hosts; password login, sudo rights for the eventful units; ``eventful-import`` has
  failed: ``service.running`` **fails**.

The support account's password is random per demo run and reaches the run through an
environment variable, exactly as a real profile's ``password = { env = … }`` does.
Other families may add recordings to the WinRM simulators through :data:`EXTRA_RECORDINGS`.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from accessready.agent.demo.part import DemoPart, q
from accessready.agent.demo.simulators import pki
from accessready.agent.demo.simulators.rdp import RdpSimulator
from accessready.agent.demo.simulators.replay import load_recordings
from accessready.agent.demo.simulators.ssh import LinuxHost, SshSimulator, SshUser
from accessready.agent.demo.simulators.wsman import SimUser, WsmanSimulator

PASSWORD_ENV = "ACCESSREADY_DEMO_PASSWORD"  # noqa: S105 - a variable name
USERNAME = "EXEMPEL\\eventful-support"

EXTRA_RECORDINGS: dict[str, list[str]] = {"adfs01": [], "wap01": []}
"""Recording files (``recordings/<name>.json``) other families add per demo server."""


def servers_part(workdir: Path) -> Any:
    """Start the servers' simulators; return the demo part."""
    password = os.environ.get(PASSWORD_ENV) or secrets.token_urlsafe(18)
    previous = os.environ.get(PASSWORD_ENV)
    os.environ[PASSWORD_ENV] = password
    stops: list[Any] = []

    def restore() -> None:
        if previous is None:
            os.environ.pop(PASSWORD_ENV, None)
        else:
            os.environ[PASSWORD_ENV] = previous

    stops.append(restore)
    try:
        rdp = RdpSimulator("nla_required").start()
        stops.append(rdp.stop)
        adfs = WsmanSimulator({USERNAME: SimUser(password)},
                              load_recordings("win2019-adfs", *EXTRA_RECORDINGS["adfs01"]),
                              computer="ADFS01").start()
        stops.append(adfs.stop)
        ca = pki.make_ca("Exempel kommun demo CA (WinRM)")
        cert, key = pki.issue(ca, ["wap01.exempel.local", "127.0.0.1"])
        files = pki.write_tls_files(workdir / "tls", "wap01-winrm", ca, cert, key)
        wap = WsmanSimulator({USERNAME: SimUser(password)},
                             load_recordings("win2022-wap", *EXTRA_RECORDINGS["wap01"]),
                             tls=(str(files.cert_file), str(files.key_file)),
                             computer="WAP01").start()
        stops.append(wap.stop)
        linux = LinuxHost(hostname="sync01", units={
            "eventful-sync": ("active", "running", "enabled", "Eventful user sync"),
            "eventful-import": ("failed", "failed", "enabled", "Eventful nightly import"),
        })
        ssh = SshSimulator({USERNAME: SshUser(password)}, commands=linux.respond).start()
        stops.append(ssh.stop)
        known_hosts = workdir / "known_hosts"
        known_hosts.write_text(ssh.known_hosts_line(), encoding="utf-8")
    except BaseException:
        for stop in reversed(stops):
            stop()
        raise
    toml = f"""
[account]
username = {q(USERNAME)}
password = {{ env = {q(PASSWORD_ENV)} }}
known_hosts = {q(str(known_hosts))}
min_password_days = 14

[[servers]]
name = "adfs01"
address = "127.0.0.1"
roles = ["adfs"]
remote = ["rdp", "winrm"]
services = ["adfssrv", "W32Time"]
rdp = {{ port = {rdp.port} }}
winrm = {{ transport = "ntlm", https = false, port = {adfs.port} }}

[[servers]]
name = "wap01"
address = "127.0.0.1"
roles = ["wap"]
remote = ["winrm"]
services = ["appproxysvc", "adfssrv"]
winrm = {{ transport = "ntlm", https = true, port = {wap.port}, ca_file = {q(str(files.ca_file))} }}

[[servers]]
name = "sync01"
address = "127.0.0.1"
roles = ["sync"]
remote = ["ssh"]
services = ["eventful-sync", "eventful-import"]
ssh = {{ port = {ssh.port} }}
"""
    return DemoPart(toml=toml, stops=stops)
