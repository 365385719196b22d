"""The real ``openconnect`` client in the client host: connect split, connect full, disconnect.

openconnect runs in the client's namespace and in a private mount namespace where the
client's own folder stands in for /run (vpnc-script writes /var/run/vpnc) and a lab file for
/etc/resolv.conf. It calls a wrapper instead of vpnc-script directly: the wrapper removes the
DNS variables (so resolv.conf is never rewritten), records the environment openconnect passed
(CISCO_SPLIT_INC..., INTERNAL_IP4_ADDRESS) and marks when the script finished.
"""

from __future__ import annotations

import json
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..accounts import GROUP
from ..proc import LabError, Proc, run, spawn, wait_until
from ..topology import ROUTER_INET

if TYPE_CHECKING:
    from ..core import Lab

VPNC_SCRIPT = "/usr/share/vpnc-scripts/vpnc-script"
_DNS_VARS = "INTERNAL_IP4_DNS INTERNAL_IP6_DNS CISCO_DEF_DOMAIN CISCO_SPLIT_DNS INTERNAL_IP4_NBNS"


@dataclass
class VpnSession:
    """A connected tunnel as the client sees it."""

    mode: str  # "split" | "full"
    gateway: str
    interface: str
    address: str | None
    split_includes: list[str]
    env: dict[str, str] = field(repr=False)
    pid: int = 0

    def to_dict(self) -> dict[str, object]:
        """JSON-friendly form."""
        return {
            "mode": self.mode,
            "gateway": self.gateway,
            "interface": self.interface,
            "address": self.address,
            "split_includes": list(self.split_includes),
            "pid": self.pid,
        }


class VpnClient:
    """Controls at most one openconnect session from the client host."""

    def __init__(self, lab: Lab, host: str = "client") -> None:
        self.lab = lab
        self.host = lab.topology.host(host)
        self.dir = lab.workdir / "hosts" / host
        self.state_dir = self.dir / "vpnc"
        self.proc: Proc | None = None
        self.session: VpnSession | None = None

    # -- files -----------------------------------------------------------------------------

    def prepare(self) -> None:
        """The wrapper script, the private /run and the client's resolv.conf."""
        for d in (self.dir, self.dir / "run", self.state_dir):
            d.mkdir(parents=True, exist_ok=True)
        wrapper = self.dir / "vpnc-wrapper.sh"
        state = shlex.quote(str(self.state_dir))
        wrapper.write_text(f"""\
#!/bin/sh
# accessready lab: vpnc-script without DNS changes; records what openconnect passed.
unset {_DNS_VARS}
env > {state}/"$reason".env
{VPNC_SCRIPT}
rc=$?
echo "$rc" > {state}/"$reason".done
exit $rc
""")
        wrapper.chmod(0o755)

    @property
    def wrapper(self) -> Path:
        """The vpnc-script wrapper."""
        return self.dir / "vpnc-wrapper.sh"

    def binds(self) -> list[tuple[Path, str]]:
        """Private resolv.conf (first, in case it links into /run) and /run."""
        return [(self.lab.resolv_conf, "/etc/resolv.conf"), (self.dir / "run", "/run")]

    # -- control ---------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True while a session is up and its openconnect still runs."""
        return self.session is not None and self.proc is not None and self.proc.alive()

    def connect(self, mode: str, *, timeout: float = 20.0, group: str = GROUP) -> VpnSession:
        """Connect to the ``split`` or ``full`` gateway (disconnecting any other session)."""
        if mode not in ("split", "full"):
            raise ValueError("mode must be split or full")
        if self.connected and self.session is not None and self.session.mode == mode:
            return self.session
        self.disconnect()
        self.prepare()
        for old in self.state_dir.iterdir():
            old.unlink()
        gateway = self.lab.topology.host(f"ocserv-{mode}").address
        interface = f"vpn-{mode}"
        acct = self.lab.support
        argv = [
            "/usr/sbin/openconnect",
            "--protocol=anyconnect",
            "--non-inter",
            "--passwd-on-stdin",
            "--user", acct.username,
            "--authgroup", group,
            "--cafile", str(self.lab.ca_file),
            "--script", str(self.wrapper),
            "--interface", interface,
            "--no-dtls",
            "--reconnect-timeout", "5",
            "--timestamp",
            f"https://{gateway}/",
        ]
        log = self.dir / "log" / f"openconnect-{mode}.log"
        self.proc = spawn(
            f"openconnect-{mode}",
            self.host.ns,
            argv,
            log=log,
            binds=self.binds(),
            stdin_data=acct.password + "\n",
        )
        proc = self.proc
        done = self.state_dir / "connect.done"
        wait_until(
            f"openconnect {mode}",
            done.exists,
            deadline=time.monotonic() + timeout,
            alive=proc.alive,
            on_fail=lambda: f"log {proc.log}:\n{proc.log_tail()}",
        )
        if done.read_text().strip() != "0":
            tail = proc.log_tail()
            self.disconnect()
            raise LabError(f"vpnc-script failed on connect:\n{tail}")
        env = _read_env(self.state_dir / "connect.env")
        includes = [
            f"{env[f'CISCO_SPLIT_INC_{i}_ADDR']}/{env[f'CISCO_SPLIT_INC_{i}_MASKLEN']}"
            for i in range(int(env.get("CISCO_SPLIT_INC", "0") or 0))
        ]
        self.session = VpnSession(
            mode=mode,
            gateway=gateway,
            interface=env.get("TUNDEV", interface),
            address=env.get("INTERNAL_IP4_ADDRESS"),
            split_includes=includes,
            env=env,
            pid=proc.pid,
        )
        return self.session

    def disconnect(self, timeout: float = 8.0) -> None:
        """Stop openconnect by PID (it runs vpnc-script "disconnect"), then make sure the
        client's routes are back to normal even if it could not."""
        proc, self.proc, self.session = self.proc, None, None
        if proc is None:
            return
        proc.stop(grace=timeout)
        self._restore_routes()

    def _restore_routes(self) -> None:
        ns = self.host.ns
        links = json.loads(run(["ip", "-n", ns, "-j", "link", "show"]).stdout or "[]")
        for link in links:
            if str(link.get("ifname", "")).startswith("vpn-"):
                run(["ip", "-n", ns, "link", "delete", link["ifname"]], check=False)
        for gw in ("198.51.100.10", "198.51.100.11"):
            run(["ip", "-n", ns, "route", "delete", f"{gw}/32"], check=False)
        run(["ip", "-n", ns, "route", "replace", "default", "via", ROUTER_INET, "dev", "eth0"])

    def routes(self) -> list[dict[str, object]]:
        """The client's IPv4 routing table (``ip -j route``)."""
        return json.loads(run(["ip", "-n", self.host.ns, "-j", "route", "show"]).stdout or "[]")

    def route_get(self, address: str) -> dict[str, object]:
        """What ``ip route get ADDRESS`` says in the client: dev, gateway, source."""
        out = run(["ip", "-n", self.host.ns, "-j", "route", "get", address]).stdout
        routes = json.loads(out or "[]")
        return routes[0] if routes else {}


def _read_env(path: Path) -> dict[str, str]:
    """Parse ``env`` output (one VAR=value per line; multi-line values keep their first line)."""
    env: dict[str, str] = {}
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return env
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.replace("_", "").isalnum():
            env[key] = value
    return env
