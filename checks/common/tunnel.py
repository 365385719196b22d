"""Pure tunnel logic: is an adapter a VPN, and is the tunnel split, full or not there?

No I/O here. The split-tunnel checks collect facts through the local-system service
(:mod:`accessready.agent.io.localsys`) and hand them to :func:`classify_adapter` and
:func:`decide`; the demo's simulated workstation uses :func:`lookup_route` to answer
egress questions from a route table the same way a kernel would.

Vendor patterns come from what the clients install:

* Cisco AnyConnect / Secure Client: "Cisco AnyConnect Secure Mobility Client Virtual
  Miniport Adapter for Windows x64" (reference F.3), newer "Cisco Secure Client Virtual
  Miniport Adapter"; ``cscotun0`` on Linux; ``utunN`` on macOS (generic);
* Check Point Endpoint Security VPN: "Check Point Virtual Network Adapter For Endpoint VPN
  Client" (reference G.3); SNX on Linux uses ``tunsnx``;
* Windows' own client: a RAS interface named after the connection, over the "WAN Miniport
  (IKEv2 | L2TP | PPTP | SSTP)" drivers (reference I);
* generic tunnels (``tun``/``utun``/``ppp``/``ipsec``/WireGuard devices) count for every
  method, because openconnect, SNX clones and macOS clients all look like that;
* known other VPN products (GlobalProtect, FortiClient, Pulse/Ivanti, OpenVPN TAP,
  WireGuard, Zscaler …) are VPNs, but not the customer's.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from accessready.agent.io.localsys import Adapter, Egress, Route, RouteLookup

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

GENERIC = "generic"
OTHER = "other"
METHOD_PRODUCTS = {"anyconnect": "Cisco AnyConnect", "checkpoint": "Check Point",
                   "windows_vpn": "Windows VPN"}


@dataclass(frozen=True)
class VpnMatch:
    """Why an adapter is a VPN: whose (a method name, ``generic`` or ``other``) and why."""

    vendor: str
    reason: str


# (vendor, compiled pattern over "name | description", human reason), most specific first
_DESCRIPTION_PATTERNS: tuple[tuple[str, re.Pattern[str], str], ...] = tuple(
    (vendor, re.compile(pattern, re.I), reason) for vendor, pattern, reason in (
        ("anyconnect", r"cisco anyconnect|anyconnect secure mobility|cisco secure client",
         "Cisco AnyConnect / Secure Client virtual adapter"),
        ("anyconnect", r"^cscotun\d*$", "Cisco AnyConnect tunnel device (Linux)"),
        ("checkpoint", r"check ?point virtual network adapter|check ?point.*endpoint",
         "Check Point Endpoint Security virtual adapter"),
        ("checkpoint", r"^tunsnx$", "Check Point SNX tunnel device"),
        ("windows_vpn", r"wan miniport \((ikev2|l2tp|pptp|sstp)\)",
         "Windows WAN Miniport (built-in VPN)"),
        (OTHER, r"pangp|globalprotect", "Palo Alto GlobalProtect adapter"),
        (OTHER, r"fortinet|forticlient", "FortiClient adapter"),
        (OTHER, r"juniper|pulse secure|ivanti", "Pulse/Ivanti Secure adapter"),
        (OTHER, r"zscaler", "Zscaler adapter"),
        (OTHER, r"tap-windows|openvpn|wintun|wireguard", "OpenVPN/WireGuard adapter"),
    ))
_GENERIC_NAME = re.compile(r"^(tun|utun|ppp|ipsec|vpn|tap|gpd|wg)\d*$", re.I)
_GENERIC_KINDS = {"tun": "tunnel device", "tap": "TAP device", "ppp": "PPP link",
                  "ipsec": "IPsec interface", "wireguard": "WireGuard interface"}


def classify_adapter(adapter: Adapter, vpn_connection_names: Iterable[str] = ()
                     ) -> VpnMatch | None:
    """Is ``adapter`` a VPN adapter, and whose? None for physical and virtual LAN adapters.

    ``vpn_connection_names`` are Windows VPN connection names (Get-VpnConnection): Windows
    names the RAS interface of a connection after it.
    """
    names = {n.casefold() for n in vpn_connection_names}
    if adapter.kind == "loopback":
        return None
    text = f"{adapter.name} | {adapter.description}"
    for vendor, pattern, reason in _DESCRIPTION_PATTERNS:
        target = adapter.name if pattern.pattern.startswith("^") else text
        if pattern.search(target):
            return VpnMatch(vendor, reason)
    if adapter.name.casefold() in names:
        return VpnMatch("windows_vpn", "named after a Windows VPN connection")
    if adapter.kind == "ras":
        return VpnMatch("windows_vpn", "Windows RAS (dial-up/VPN) interface")
    if adapter.kind in _GENERIC_KINDS:
        return VpnMatch(GENERIC, _GENERIC_KINDS[adapter.kind])
    if _GENERIC_NAME.match(adapter.name):
        return VpnMatch(GENERIC, "tunnel-style interface name")
    return None


def serves_method(match: VpnMatch | None, method: str) -> bool:
    """Whether a VPN adapter of this kind can be ``method``'s tunnel."""
    return match is not None and match.vendor in (method, GENERIC)


def sample_address(network: IPNetwork, avoid: Iterable[str] = ()) -> IPAddress:
    """A host address inside ``network`` to ask the routing table about.

    Routing is by prefix, so any host will do; we take the first one that is not one of
    this machine's own addresses (a local address would be answered by the loopback).
    """
    mine = set()
    for a in avoid:
        try:
            mine.add(ipaddress.ip_address(a))
        except ValueError:
            continue
    if network.num_addresses <= 2:
        return network.network_address
    for offset in range(1, min(network.num_addresses - 1, 64)):
        candidate = network.network_address + offset
        if candidate not in mine:
            return candidate
    return network.network_address + 1


def lookup_route(routes: Sequence[Route], destination: str) -> Route | None:
    """Longest-prefix match, lowest metric on a tie: the route a kernel would pick."""
    address = ipaddress.ip_address(destination)
    best: Route | None = None
    for route in routes:
        try:
            net = route.network
        except ValueError:
            continue
        if net.version != address.version or address not in net:
            continue
        if best is None or (net.prefixlen, -(route.metric or 0)) > (
                best.network.prefixlen, -(best.metric or 0)):
            best = route
    return best


def covering_routes(routes: Sequence[Route], destination: str, limit: int = 3) -> list[Route]:
    """The routes that contain ``destination``, most specific first (the ones that matter)."""
    try:
        address = ipaddress.ip_address(destination)
    except ValueError:
        return []
    out = []
    for route in routes:
        try:
            net = route.network
        except ValueError:
            continue
        if net.version == address.version and address in net:
            out.append(route)
    out.sort(key=lambda r: (-r.network.prefixlen, r.metric or 0))
    return out[:limit]


_CATCH_ALL = {"0.0.0.0/0", "0.0.0.0/1", "128.0.0.0/1", "::/0", "::/1", "8000::/1"}


def default_routes(routes: Sequence[Route]) -> list[Route]:
    """Default and half-default routes (``0/1`` + ``128/1`` is how VPNs override the default)."""
    return [r for r in routes if r.destination in _CATCH_ALL]


class TunnelState(enum.StrEnum):
    """What the routing says about the method's tunnel."""

    SPLIT = "split"
    FULL = "full"
    PARTIAL = "partial"  # connected, split, but some internal subnets bypass the tunnel
    NOT_CONNECTED = "not_connected"
    OTHER_VPN = "other_vpn"  # the internal subnets go through a different VPN
    UNDECIDED = "undecided"


@dataclass(frozen=True)
class Probe:
    """One destination asked about: where it leaves, and the evidence for it."""

    role: str  # "internal" | "internet"
    destination: str
    egress: Egress
    subnet: str | None = None
    interface: str | None = None  # resolved: egress, else the OS route lookup
    lookup: RouteLookup | None = None
    routes: tuple[Route, ...] = ()
    vpn: VpnMatch | None = None
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        """Evidence form."""
        out: dict[str, Any] = {"role": self.role, "destination": self.destination,
                               "source": self.egress.source, "interface": self.interface,
                               "through_vpn": self.vpn is not None,
                               "found_by": self.egress.method}
        if self.subnet:
            out["subnet"] = self.subnet
        if self.vpn:
            out["vpn"] = {"vendor": self.vpn.vendor, "why": self.vpn.reason}
        if self.routes:
            out["routes"] = [r.to_json() for r in self.routes]
        if self.lookup is not None:
            out["os_route_lookup"] = self.lookup.to_json()
        if self.error:
            out["error"] = self.error
        return out


def resolve_probe(role: str, destination: str, egress: Egress, adapters: Sequence[Adapter],
                  routes: Sequence[Route], lookup: RouteLookup | None = None,
                  subnet: str | None = None,
                  vpn_connection_names: Iterable[str] = ()) -> Probe:
    """Put one destination's facts together: which adapter, is it a VPN, which routes."""
    interface = egress.interface
    # the source address sits on several adapters (or none we saw): trust the OS lookup
    if (interface is None and lookup is not None and lookup.interface
            and (not egress.candidates or lookup.interface in egress.candidates)):
        interface = lookup.interface
    by_name = {a.name: a for a in adapters}
    vpn = None
    if interface is not None:
        adapter = by_name.get(interface, Adapter(interface))
        vpn = classify_adapter(adapter, vpn_connection_names)
    error = egress.error
    if interface is None and not error:
        error = "the source address matches no single adapter"
    return Probe(role, destination, egress, subnet, interface, lookup,
                 tuple(covering_routes(routes, destination)), vpn, error)


@dataclass(frozen=True)
class Decision:
    """The outcome for one method, with the facts behind it."""

    state: TunnelState
    method: str
    probes: tuple[Probe, ...]
    vpn_adapters: tuple[tuple[Adapter, VpnMatch], ...] = ()
    bypassing: tuple[str, ...] = ()  # internal subnets that do not use the tunnel
    tunnel_interfaces: tuple[str, ...] = ()
    other_vpn: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)


def vpn_adapters(adapters: Sequence[Adapter], vpn_connection_names: Iterable[str] = ()
                 ) -> list[tuple[Adapter, VpnMatch]]:
    """Every adapter that looks like a VPN, with the reason."""
    names = tuple(vpn_connection_names)
    out = []
    for adapter in adapters:
        match = classify_adapter(adapter, names)
        if match is not None:
            out.append((adapter, match))
    return out


def _vendor(seen: Sequence[tuple[Adapter, VpnMatch]], adapter: Adapter) -> str:
    return next((m.vendor for a, m in seen if a is adapter), "")


def _usable(adapter: Adapter) -> bool:
    """Up and carrying an address beyond IPv6 link-local (macOS keeps idle utuns so)."""
    for a in adapter.addresses:
        try:
            if not ipaddress.ip_address(a).is_link_local:
                return True
        except ValueError:
            continue
    return False


def decide(method: str, probes: Sequence[Probe], adapters: Sequence[Adapter],
           vpn_connection_names: Iterable[str] = ()) -> Decision:
    """Split, full, partial, other VPN, not connected or undecided, for ``method``.

    * internal subnets must leave through an adapter that can be ``method``'s tunnel;
    * then the internet probe must not leave through that same tunnel.
    """
    names = tuple(vpn_connection_names)
    seen = tuple(vpn_adapters(adapters, names))
    mine_up = [a for a, m in seen if serves_method(m, method) and a.is_up and _usable(a)]
    internal = [p for p in probes if p.role == "internal"]
    internet = [p for p in probes if p.role == "internet"]
    tunnelled = [p for p in internal if serves_method(p.vpn, method)]
    tunnels = tuple(sorted({p.interface for p in tunnelled if p.interface}))
    bypassing = tuple(p.subnet or p.destination for p in internal if p not in tunnelled)

    def make(state: TunnelState, other: str = "", notes: tuple[str, ...] = ()) -> Decision:
        return Decision(state, method, tuple(probes), seen, bypassing, tunnels, other, notes)

    if not internal:
        return make(TunnelState.UNDECIDED, notes=("no internal subnet to test",))
    if not tunnelled:
        others = sorted({p.interface or "" for p in internal
                         if p.vpn is not None and not serves_method(p.vpn, method)})
        if others:
            return make(TunnelState.OTHER_VPN, ", ".join(others))
        own = [a.name for a in mine_up if _vendor(seen, a) == method]
        if own:
            # the method's own adapter is connected, yet the customer's networks bypass it
            return make(TunnelState.PARTIAL, notes=(
                f"{', '.join(own)} is connected but carries none of the internal subnets",))
        # an unrelated tun/ppp device (another tool's tunnel) says nothing about this VPN
        idle = [a.name for a in mine_up]
        return make(TunnelState.NOT_CONNECTED, notes=tuple(
            f"tunnel device {n} is up but carries none of the internal subnets" for n in idle))
    full = [p for p in internet if p.interface in tunnels or serves_method(p.vpn, method)]
    if full:
        return make(TunnelState.FULL)
    notes: list[str] = []
    for p in internet:
        if p.vpn is not None:
            notes.append(f"internet traffic leaves through another VPN ({p.interface})")
        if p.interface is None:
            notes.append(f"the internet probe {p.destination} has no route: {p.error}")
    if bypassing:
        return make(TunnelState.PARTIAL, notes=tuple(notes))
    return make(TunnelState.SPLIT, notes=tuple(notes))
