"""The lab's network: namespaces, veth pairs, bridges, routes, and firewall rules.

Layout (every host is a network namespace named ``<prefix>-<host>``)::

    client 203.0.113.100 ──┐
                           br-inet ── inet (router, 203.0.113.1; "public site" 203.0.113.80 on lo)
                                         │ 198.51.100.1
    DMZ 198.51.100.0/25 ─── br-dmz ──────┘
      ocserv-split .10  ocserv-full .11  ikev2 .20  ikev1 .21  pptp .30  wap .40
      dns-ext .53  drop .66  reject .77
    internal 192.0.2.0/24 ── br-int
      ocserv-split .10  ocserv-full .11  (second leg: VPN gateways route into the inside)
      ssh .22  rdp .33  adfs .44  dns-int .53  drop .66  reject .77

The three bridges live in a ``<prefix>-sw`` ("switch") namespace, so the machine's own
network namespace is never changed, and no interface of the lab connects to it: no packet
from the lab can leave the machine. The internal network is reachable from the client only
through a VPN tunnel (ocserv pools 198.51.100.128/28 split and 198.51.100.144/28 full, routed,
not NATed, so servers see the VPN client's own address).

On the internet side every address is a /32 with a route to each neighbour, so the client has
no connected route to 203.0.113.0/24: with a full tunnel up, the public site goes through the
tunnel like the rest of the internet; with a split tunnel it does not.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

from .proc import LabError, netns_exists, run, write_sysctl

ZONE = "kund.example"

NETWORKS: dict[str, str] = {
    "inet": "203.0.113.0/24",
    "dmz": "198.51.100.0/25",
    "internal": "192.0.2.0/24",
}
# Networks whose hosts get /32 addresses and per-neighbour routes instead of a shared subnet.
POINT_TO_POINT = frozenset({"inet"})
BRIDGES = {"inet": "br-inet", "dmz": "br-dmz", "internal": "br-int"}
ROUTER_INET = "203.0.113.1"
ROUTER_DMZ = "198.51.100.1"
PUBLIC_SITE = "203.0.113.80"
SPLIT_POOL = "198.51.100.128/28"
FULL_POOL = "198.51.100.144/28"
SPLIT_GW_INSIDE = "192.0.2.10"
FULL_GW_INSIDE = "192.0.2.11"
_POOL_ROUTES_INSIDE = ((SPLIT_POOL, SPLIT_GW_INSIDE), (FULL_POOL, FULL_GW_INSIDE))


@dataclass(frozen=True)
class HostSpec:
    """One host of the plan: its links (network -> address), routes, extras."""

    name: str
    links: tuple[tuple[str, str], ...]
    routes: tuple[tuple[str, str], ...] = ()
    forward: bool = False
    lo_addrs: tuple[str, ...] = ()
    firewall: str | None = None  # "drop" | "reject"
    dns_name: str | None = None


def _dmz(name: str, addr: str, dns: str | None = None, **kw: object) -> HostSpec:
    return HostSpec(
        name,
        (("dmz", addr),),
        routes=(("default", ROUTER_DMZ),),
        dns_name=dns,
        **kw,  # type: ignore[arg-type]
    )


def _inside(name: str, addr: str, dns: str | None = None) -> HostSpec:
    return HostSpec(name, (("internal", addr),), routes=_POOL_ROUTES_INSIDE, dns_name=dns)


def _both(name: str, last: int, dns: str, firewall: str) -> HostSpec:
    return HostSpec(
        name,
        (("dmz", f"198.51.100.{last}"), ("internal", f"192.0.2.{last}")),
        routes=(("default", ROUTER_DMZ), *_POOL_ROUTES_INSIDE),
        firewall=firewall,
        dns_name=dns,
    )


HOSTS: tuple[HostSpec, ...] = (
    HostSpec("client", (("inet", "203.0.113.100"),), routes=(("default", ROUTER_INET),)),
    HostSpec(
        "inet",
        (("inet", ROUTER_INET), ("dmz", ROUTER_DMZ)),
        routes=((SPLIT_POOL, "198.51.100.10"), (FULL_POOL, "198.51.100.11")),
        forward=True,
        lo_addrs=(PUBLIC_SITE,),
        dns_name=f"public.{ZONE}",
    ),
    HostSpec(
        "ocserv-split",
        (("dmz", "198.51.100.10"), ("internal", SPLIT_GW_INSIDE)),
        routes=(("default", ROUTER_DMZ),),
        forward=True,
        dns_name=f"vpn.{ZONE}",
    ),
    HostSpec(
        "ocserv-full",
        (("dmz", "198.51.100.11"), ("internal", FULL_GW_INSIDE)),
        routes=(("default", ROUTER_DMZ),),
        forward=True,
        dns_name=f"vpnfull.{ZONE}",
    ),
    _dmz("ikev2", "198.51.100.20", f"ikev2.{ZONE}"),
    _dmz("ikev1", "198.51.100.21", f"l2tp.{ZONE}"),
    _dmz("pptp", "198.51.100.30", f"pptp.{ZONE}"),
    _dmz("wap", "198.51.100.40", f"wap01.{ZONE}"),
    _dmz("dns-ext", "198.51.100.53", f"ns-ext.{ZONE}"),
    _both("drop", 66, f"drop01.{ZONE}", "drop"),
    _both("reject", 77, f"reject01.{ZONE}", "reject"),
    _inside("ssh", "192.0.2.22", f"ssh01.{ZONE}"),
    _inside("rdp", "192.0.2.33", f"rdp01.{ZONE}"),
    _inside("adfs", "192.0.2.44", f"adfs01.{ZONE}"),
    _inside("dns-int", "192.0.2.53", f"ns-int.{ZONE}"),
)
HOST_SPECS: dict[str, HostSpec] = {h.name: h for h in HOSTS}

_FIREWALLS = {
    # Silently drop everything that arrives (ARP still answers, so connects time out).
    "drop": """
table inet lab_fw {
  chain input {
    type filter hook input priority filter; policy drop;
    iif "lo" accept
  }
}
""",
    # Refuse actively: RST for TCP, ICMP port unreachable for everything else (ping works).
    "reject": """
table inet lab_fw {
  chain input {
    type filter hook input priority filter; policy accept;
    iif "lo" accept
    icmp type echo-request accept
    meta l4proto tcp reject with tcp reset
    reject with icmpx port-unreachable
  }
}
""",
}


@dataclass
class Host:
    """A host of a running lab."""

    name: str
    ns: str
    addresses: dict[str, str]  # network -> address
    dns_name: str | None = None
    extra_addresses: list[str] = field(default_factory=list)

    @property
    def address(self) -> str:
        """The main address: the DMZ or internet one for dual-homed hosts."""
        for net in ("inet", "dmz", "internal"):
            if net in self.addresses:
                return self.addresses[net]
        raise LabError(f"host {self.name} has no address")

    def to_dict(self) -> dict[str, object]:
        """JSON-friendly form."""
        return {
            "ns": self.ns,
            "address": self.address,
            "addresses": dict(self.addresses),
            "extra_addresses": list(self.extra_addresses),
            "dns_name": self.dns_name,
        }


class Topology:
    """Creates and destroys the namespaces, links and routes of one lab."""

    def __init__(self, prefix: str, host_names: Iterable[str] | None = None) -> None:
        self.prefix = prefix
        names = list(host_names) if host_names is not None else [h.name for h in HOSTS]
        unknown = [n for n in names if n not in HOST_SPECS]
        if unknown:
            raise LabError(f"unknown lab hosts: {unknown}")
        self.specs = [HOST_SPECS[n] for n in names]
        self.switch_ns = f"{prefix}-sw"
        self.hosts: dict[str, Host] = {
            s.name: Host(
                name=s.name,
                ns=self.ns(s.name),
                addresses=dict(s.links),
                dns_name=s.dns_name,
                extra_addresses=list(s.lo_addrs),
            )
            for s in self.specs
        }

    def ns(self, host: str) -> str:
        """The namespace name of a host."""
        return f"{self.prefix}-{host}"

    @property
    def namespaces(self) -> list[str]:
        """Every namespace this topology owns (switch first)."""
        return [self.switch_ns] + [h.ns for h in self.hosts.values()]

    def create(self) -> None:
        """Create namespaces, bridges, veth pairs, addresses, routes and firewalls."""
        existing = [ns for ns in self.namespaces if netns_exists(ns)]
        if existing:
            raise LabError(f"namespaces already exist: {existing}")
        run(["ip", "-batch", "-"], input="".join(f"netns add {ns}\n" for ns in self.namespaces))
        for ns in self.namespaces:
            forward = ns != self.switch_ns and any(
                s.forward for s in self.specs if self.ns(s.name) == ns
            )
            sysctls = {
                # No IPv6 on the lab links (no DAD or router solicitations); lo keeps ::1.
                "net.ipv6.conf.default.disable_ipv6": "1",
                "net.ipv4.ip_forward": "1" if forward else "0",
                "net.ipv4.conf.all.rp_filter": "0",
                "net.ipv4.conf.default.rp_filter": "0",
            }
            write_sysctl(ns, sysctls)
        self._wire_switch()
        for spec in self.specs:
            self._configure_host(spec)
            if spec.firewall:
                run(
                    ["ip", "netns", "exec", self.ns(spec.name), "nft", "-f", "-"],
                    input=_FIREWALLS[spec.firewall],
                )

    def _wire_switch(self) -> None:
        used = {net for s in self.specs for net, _ in s.links}
        lines = ["link set lo up"]
        for net in sorted(used):
            lines.append(f"link add {BRIDGES[net]} type bridge")
            lines.append(f"link set {BRIDGES[net]} up")
        for spec in self.specs:
            for index, (net, _addr) in enumerate(spec.links):
                port = self._port_name(spec.name, index)
                lines.append(
                    f"link add {port} type veth peer name eth{index} netns {self.ns(spec.name)}"
                )
                lines.append(f"link set {port} master {BRIDGES[net]} up")
        run(["ip", "-n", self.switch_ns, "-batch", "-"], input="\n".join(lines) + "\n")

    @staticmethod
    def _port_name(host: str, index: int) -> str:
        name = f"{host}-{index}"
        if len(name) > 15:  # IFNAMSIZ
            raise LabError(f"interface name too long: {name}")
        return name

    def _configure_host(self, spec: HostSpec) -> None:
        lines = ["link set lo up"]
        for addr in spec.lo_addrs:
            lines.append(f"address add {addr}/32 dev lo")
        for index, (net, addr) in enumerate(spec.links):
            lines.append(f"link set eth{index} up")
            if net in POINT_TO_POINT:
                # /32 plus a device route per neighbour: no connected /24 on the client, so
                # a full tunnel really takes 203.0.113.80 ("the internet") into the tunnel.
                lines.append(f"address add {addr}/32 dev eth{index}")
                for other in self.specs:
                    for onet, oaddr in other.links:
                        if onet == net and oaddr != addr:
                            lines.append(f"route add {oaddr}/32 dev eth{index}")
            else:
                plen = ipaddress.ip_network(NETWORKS[net]).prefixlen
                lines.append(f"address add {addr}/{plen} dev eth{index}")
        for dst, via in spec.routes:
            lines.append(f"route add {dst} via {via}")
        run(["ip", "-n", self.ns(spec.name), "-batch", "-"], input="\n".join(lines) + "\n")

    def host(self, name: str) -> Host:
        """A host by its name (``client``, ``ssh``, ...)."""
        try:
            return self.hosts[name]
        except KeyError:
            raise LabError(f"this lab has no host {name!r}") from None

    def destroy(self) -> list[str]:
        """Kill what runs in our namespaces (by PID) and delete them; return problems."""
        from .state import destroy_namespaces

        return destroy_namespaces(list(reversed(self.namespaces)))
