"""dnsmasq serving the customer zone twice: an internal and an external view (split-brain DNS).

``dns-int`` (192.0.2.53, reachable through the VPN) answers for internal names and gives the
AD FS farm name ``sts`` its internal address (the AD FS server); ``dns-ext`` (198.51.100.53,
the client's system resolver) answers public names only and gives ``sts`` the WAP's address.
Names outside the zone are REFUSED (no upstream, ``local=/zone/``): nothing is forwarded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..topology import ZONE
from .base import Daemon

if TYPE_CHECKING:
    from ..core import Lab


def default_views(zone: str = ZONE) -> dict[str, dict[str, object]]:
    """The records of both views: ``{"internal"|"external": {"a": {...}, "cname": {...},
    "mx": [...]}}``."""
    public = {
        f"vpn.{zone}": "198.51.100.10",
        f"vpnfull.{zone}": "198.51.100.11",
        f"ikev2.{zone}": "198.51.100.20",
        f"l2tp.{zone}": "198.51.100.21",
        f"pptp.{zone}": "198.51.100.30",
        f"wap01.{zone}": "198.51.100.40",
        f"public.{zone}": "203.0.113.80",
        f"www.{zone}": "203.0.113.80",
        f"mail.{zone}": "198.51.100.25",
    }
    external = {
        **public,
        f"sts.{zone}": "198.51.100.40",
        f"drop01.{zone}": "198.51.100.66",
        f"reject01.{zone}": "198.51.100.77",
    }
    internal = {
        **public,
        f"sts.{zone}": "192.0.2.44",
        f"adfs01.{zone}": "192.0.2.44",
        f"ssh01.{zone}": "192.0.2.22",
        f"rdp01.{zone}": "192.0.2.33",
        f"ns-int.{zone}": "192.0.2.53",
        f"drop01.{zone}": "192.0.2.66",
        f"reject01.{zone}": "192.0.2.77",
    }
    common = {"cname": {f"login.{zone}": f"sts.{zone}"}, "mx": [(zone, f"mail.{zone}", 10)]}
    return {"external": {"a": external, **common}, "internal": {"a": internal, **common}}


class Dnsmasq(Daemon):
    """One dnsmasq view in its own host."""

    kind = "dnsmasq"
    port = 53

    def __init__(self, lab: Lab, host: str, view: str) -> None:
        super().__init__(lab, host)
        self.view = view
        self.records = lab.dns_views[view]

    def prepare(self) -> None:
        """dnsmasq.conf with every record of the view."""
        super().prepare()
        lines = [
            f"# accessready lab dnsmasq, {self.view} view ({self.host.ns})",
            f"port={self.port}",
            f"listen-address={self.host.address}",
            "bind-interfaces",
            "no-resolv",
            "no-hosts",
            "no-poll",
            "no-negcache",
            f"local=/{self.lab.zone}/",
            "user=root",
            "group=root",
            "log-queries",
            f"log-facility={self.log_dir / 'dnsmasq.log'}",
            "pid-file=/run/dnsmasq.pid",
        ]
        a_records: dict[str, str] = self.records["a"]  # type: ignore[assignment]
        for name, addr in a_records.items():
            lines.append(f"host-record={name},{addr}")
        cnames: dict[str, str] = self.records["cname"]  # type: ignore[assignment]
        for alias, target in cnames.items():
            lines.append(f"cname={alias},{target}")
        for domain, exchanger, pref in self.records["mx"]:  # type: ignore[attr-defined]
            lines.append(f"mx-host={domain},{exchanger},{pref}")
        (self.dir / "dnsmasq.conf").write_text("\n".join(lines) + "\n")

    def command(self) -> list[str]:
        """Keep in foreground."""
        return ["/usr/sbin/dnsmasq", "--keep-in-foreground", "-C", str(self.dir / "dnsmasq.conf")]

    def ready(self) -> bool:
        """dnsmasq logs "started" once its socket is bound."""
        try:
            return "started, version" in (self.log_dir / "dnsmasq.log").read_text()
        except OSError:
            return False
