"""ocserv (an AnyConnect-compatible gateway), once as split tunnel and once as full tunnel.

split: ``route = 192.0.2.0/255.255.255.0`` — only the internal network goes through the VPN.
full:  ``route = default`` — everything does.

Both authenticate the support user (plain password file) in group ``Leverantorer``, serve a
certificate from the lab CA (with the gateway's IP among its names), listen on TCP 443 only
(no DTLS: fewer moving parts, same routing), and hand out addresses from a pool that the
internal hosts route back through the gateway. ``use-utmp = false`` and ``max-ban-score = 0``
keep ocserv off the machine's wtmp and stop negative login tests from banning the client.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from ..accounts import GROUP
from ..topology import FULL_POOL, NETWORKS, SPLIT_POOL
from .base import Daemon, tcp_open

if TYPE_CHECKING:
    from ..core import Lab

OTHER_GROUP = "Personal"


class OcServ(Daemon):
    """One ocserv instance; ``mode`` is ``split`` or ``full``."""

    kind = "ocserv"
    port = 443

    def __init__(self, lab: Lab, mode: str) -> None:
        if mode not in ("split", "full"):
            raise ValueError(f"ocserv mode must be split or full, not {mode!r}")
        super().__init__(lab, f"ocserv-{mode}")
        self.mode = mode
        self.pool = ipaddress.ip_network(SPLIT_POOL if mode == "split" else FULL_POOL)
        self.cert = lab.certs[f"vpn_{mode}"]

    @property
    def url(self) -> str:
        """The gateway URL by address (its certificate carries the address too)."""
        return f"https://{self.host.address}/"

    def prepare(self) -> None:
        """Password file and ocserv.conf."""
        super().prepare()
        acct = self.lab.support
        passwd = self.dir / "ocpasswd"
        passwd.write_text(f"{acct.username}:{GROUP}:{acct.password_hash}\n")
        passwd.chmod(0o600)
        inside = ipaddress.ip_network(NETWORKS["internal"]).with_netmask
        route = "route = default" if self.mode == "full" else f"route = {inside}"
        config = f"""\
# accessready lab ocserv, {self.mode} tunnel ({self.host.ns})
auth = "plain[passwd={passwd}]"
listen-host = {self.host.address}
tcp-port = {self.port}
socket-file = /run/ocserv.sock
pid-file = /run/ocserv.pid
run-as-user = nobody
run-as-group = nogroup
isolate-workers = false
server-cert = {self.cert.cert}
server-key = {self.cert.key}
max-clients = 16
max-same-clients = 0
max-ban-score = 0
ban-reset-time = 1
use-utmp = false
use-occtl = false
device = vpns
ipv4-network = {self.pool.network_address}
ipv4-netmask = {self.pool.netmask}
{route}
select-group = {GROUP}
select-group = {OTHER_GROUP}
auth-timeout = 240
cookie-timeout = 300
keepalive = 32400
dpd = 90
mobile-dpd = 1800
try-mtu-discovery = false
tls-priorities = "NORMAL:%SERVER_PRECEDENCE"
predictable-ips = true
ping-leases = false
cisco-client-compat = true
"""
        (self.dir / "ocserv.conf").write_text(config)

    def command(self) -> list[str]:
        """Foreground."""
        return ["/usr/sbin/ocserv", "-f", "-c", str(self.dir / "ocserv.conf")]

    def ready(self) -> bool:
        """The TLS port accepts connections."""
        return tcp_open(self.host.ns, self.host.address, self.port)

    def describe(self) -> dict[str, object]:
        """Adds mode, URL and pool."""
        return {**super().describe(), "mode": self.mode, "url": self.url, "pool": str(self.pool)}
