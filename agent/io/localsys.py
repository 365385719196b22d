"""Local system facts: what this workstation's operating system says about itself.

One interface, :class:`LocalSystem`, with one real implementation per platform (Windows,
Linux, macOS), chosen at runtime by :func:`local_system`. Checks get it as
``ctx.service("local")``; tests hand them a fake.

Two layers, kept apart on purpose:

* **pure parsers** (``parse_*``): recorded text or JSON in, typed facts out. They never run
  anything, so the outputs recorded on real Windows machines (``Get-NetRoute``,
  ``Get-VpnConnection``, ``route print`` …) are exercised in tests through the very code
  that reads them in the field;
* **collectors** (the ``*LocalSystem`` classes): run one local program with an argv list
  and a timeout (never a shell), or ask psutil, and hand the output to a parser.

PowerShell scripts are fixed strings; the few values they need are prepended as
single-quoted PowerShell literals and the whole script travels as ``-EncodedCommand``
(UTF-16LE, base64), so no value ever meets a command-line parser — built by
:mod:`accessready.agent.core.powershell`, the one implementation the transports share.

Programs run with a hard timeout and a cap on captured output (:func:`run_command`); on a
timeout the whole process tree is killed, not just the program we started.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import json
import ntpath
import os
import platform
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, runtime_checkable

from accessready.agent.core import powershell
from accessready.agent.io.secrets import child_environment

# ---------------------------------------------------------------------------------------
# Typed facts
# ---------------------------------------------------------------------------------------


class CommandFailed(Exception):
    """A local program could not be run, timed out, or said it failed."""


class NotSupported(Exception):
    """The fact does not exist on this operating system (e.g. Windows VPN connections)."""


@dataclass(frozen=True)
class CommandResult:
    """What one local program did. ``command`` is for evidence: no secrets ever go in argv."""

    command: str
    returncode: int | None
    stdout: str
    stderr: str
    duration_s: float
    error: str = ""

    @property
    def ok(self) -> bool:
        """True when the program ran and exited 0."""
        return not self.error and self.returncode == 0

    def problem(self) -> str:
        """One line saying what went wrong (empty when ``ok``)."""
        if self.error:
            return self.error
        if self.returncode != 0:
            first = (self.stderr.strip() or self.stdout.strip()).splitlines()[:1]
            return f"{self.command} exited {self.returncode}" + (f": {first[0][:200]}"
                                                                 if first else "")
        return ""


@dataclass(frozen=True)
class Adapter:
    """A network interface as the operating system describes it.

    ``kind`` is the OS's own link type, normalised: ``loopback``, ``ethernet``, ``wireless``,
    ``tun``, ``tap``, ``ppp``, ``ras`` (a Windows dial-up/VPN connection), ``wireguard``,
    ``ipsec``, ``virtual`` or ``unknown``. Whether it is a VPN is decided elsewhere
    (:mod:`accessready.checks.common.tunnel`).
    """

    name: str
    description: str = ""
    addresses: tuple[str, ...] = ()
    is_up: bool = False
    kind: str = "unknown"
    index: int | None = None

    def to_json(self) -> dict[str, Any]:
        """Evidence form."""
        return {"name": self.name, "description": self.description,
                "addresses": list(self.addresses), "up": self.is_up, "kind": self.kind}


@dataclass(frozen=True)
class Route:
    """One routing-table entry. ``gateway`` None means on-link (no next hop)."""

    destination: str  # a CIDR prefix, "0.0.0.0/0" for default
    interface: str
    gateway: str | None = None
    metric: int | None = None
    source: str | None = None

    @property
    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        """``destination`` as a network object."""
        return ipaddress.ip_network(self.destination, strict=False)

    def to_json(self) -> dict[str, Any]:
        """Evidence form."""
        out: dict[str, Any] = {"destination": self.destination, "interface": self.interface,
                               "gateway": self.gateway or "on-link"}
        if self.metric is not None:
            out["metric"] = self.metric
        if self.source:
            out["source"] = self.source
        return out


@dataclass(frozen=True)
class RouteTable:
    """The routing table and where it came from (the command, for the evidence)."""

    command: str
    routes: tuple[Route, ...] = ()
    error: str = ""


@dataclass(frozen=True)
class RouteLookup:
    """The OS's own answer to "how would you reach X?" (``ip route get``, ``Find-NetRoute``)."""

    destination: str
    command: str
    interface: str | None = None
    source: str | None = None
    gateway: str | None = None
    prefix: str | None = None
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        """Evidence form."""
        out = {"command": self.command, "interface": self.interface, "source": self.source,
               "gateway": self.gateway or ("on-link" if self.interface else None)}
        if self.prefix:
            out["route"] = self.prefix
        if self.error:
            out["error"] = self.error
        return out


@dataclass(frozen=True)
class Egress:
    """Which source address and interface the kernel picks for ``destination``."""

    destination: str
    source: str | None = None
    interface: str | None = None
    candidates: tuple[str, ...] = ()
    error: str = ""
    method: str = "udp-connect"

    def to_json(self) -> dict[str, Any]:
        """Evidence form."""
        out: dict[str, Any] = {"destination": self.destination, "source": self.source,
                               "interface": self.interface, "method": self.method}
        if len(self.candidates) > 1:
            out["candidates"] = list(self.candidates)
        if self.error:
            out["error"] = self.error
        return out


@dataclass(frozen=True)
class OsInfo:
    """The operating system: name, version, build and (Windows) the newest update."""

    system: str  # "windows" | "linux" | "macos" | other platform.system() lower-cased
    name: str
    version: str = ""
    build: str = ""
    release: str = ""  # Windows DisplayVersion (23H2), Linux VERSION_ID, macOS ProductVersion
    workstation: bool = True
    last_update: dt.date | None = None
    last_update_id: str = ""
    updates_seen: int = 0
    source: str = ""
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        """Evidence form."""
        out: dict[str, Any] = {"system": self.system, "name": self.name,
                               "version": self.version, "build": self.build,
                               "release": self.release, "workstation": self.workstation,
                               "source": self.source}
        if self.system == "windows":
            out["last_update"] = self.last_update.isoformat() if self.last_update else None
            out["last_update_id"] = self.last_update_id or None
            out["updates_seen"] = self.updates_seen
        if self.error:
            out["error"] = self.error
        return out


@dataclass(frozen=True)
class VpnConnection:
    """A Windows VPN connection (``Get-VpnConnection``, projected as in reference I.1)."""

    name: str
    server_address: str = ""
    all_user: bool = False
    tunnel_type: str = ""
    split_tunneling: bool | None = None
    connection_status: str = ""
    authentication_method: tuple[str, ...] = ()
    routes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Evidence form."""
        return {"name": self.name, "server_address": self.server_address,
                "phone_book": "all users" if self.all_user else "current user",
                "tunnel_type": self.tunnel_type, "split_tunneling": self.split_tunneling,
                "connection_status": self.connection_status,
                "authentication_method": list(self.authentication_method),
                "routes": list(self.routes)}


@dataclass(frozen=True)
class ServiceInfo:
    """A system service (Windows service, systemd unit, launchd job)."""

    name: str
    display_name: str = ""
    state: str = ""  # "running", "stopped", "failed", ... (lower case)

    @property
    def running(self) -> bool:
        """True when the service is running."""
        return self.state == "running"


@dataclass(frozen=True)
class InstalledApp:
    """An installed product (Windows Uninstall entry, Debian package, macOS app bundle)."""

    name: str
    version: str = ""
    source: str = ""


@runtime_checkable
class LocalSystem(Protocol):
    """Facts about this machine. Every method that runs a program takes a ``timeout``."""

    system: str

    def egress(self, destination: str) -> Egress:
        """Source address and interface the kernel picks for ``destination`` (no packet)."""
        ...

    def route_to(self, destination: str, timeout: float) -> RouteLookup:
        """The OS's own route lookup for ``destination`` (evidence beside :meth:`egress`)."""
        ...

    def adapters(self, timeout: float) -> list[Adapter]:
        """Every network interface."""
        ...

    def routes(self, timeout: float) -> RouteTable:
        """The routing table (IPv4 and IPv6)."""
        ...

    def os_info(self, timeout: float) -> OsInfo:
        """Operating system name, version, build; on Windows the newest installed update."""
        ...

    def is_elevated(self) -> bool | None:
        """True when running as Administrator (elevated) or root; None when unknown."""
        ...

    def vpn_connections(self, timeout: float) -> list[VpnConnection]:
        """Windows VPN connections of both phone books; :class:`NotSupported` elsewhere."""
        ...

    def services(self, timeout: float) -> list[ServiceInfo]:
        """System services and their state."""
        ...

    def processes(self) -> list[str]:
        """Names of running processes."""
        ...

    def installed_software(self, timeout: float) -> list[InstalledApp]:
        """Installed products the OS knows of."""
        ...

    def which(self, program: str) -> str | None:
        """The path of ``program`` on PATH, or None."""
        ...

    def existing_paths(self, candidates: Iterable[str]) -> list[str]:
        """Those of ``candidates`` that exist (install folders, app bundles)."""
        ...


# ---------------------------------------------------------------------------------------
# Small pure helpers
# ---------------------------------------------------------------------------------------


def json_list(value: Any) -> list[Any]:
    """Normalise ``ConvertTo-Json`` output to a list.

    Windows PowerShell 5.1 writes a bare ``{…}`` for a single object and nothing at all for
    none; PowerShell 7 and ``-InputObject @(...)`` write ``[…]``.
    """
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return value
    return [value]


def load_json(text: str) -> Any:
    """Parse PowerShell/iproute2 JSON output; empty output is ``None``. Raises ValueError."""
    text = text.strip().lstrip("\ufeff")
    if not text:
        return None
    return json.loads(text)


def strip_scope(address: str) -> str:
    """``fe80::1%eth0`` → ``fe80::1``."""
    return address.split("%", 1)[0]


def interfaces_with_address(if_addrs: Mapping[str, Iterable[str]], source: str) -> list[str]:
    """The interfaces that carry ``source`` (normally exactly one)."""
    try:
        wanted = ipaddress.ip_address(strip_scope(source))
    except ValueError:
        return []
    out = []
    for name, addresses in if_addrs.items():
        for addr in addresses:
            with contextlib.suppress(ValueError):
                if ipaddress.ip_address(strip_scope(addr)) == wanted:
                    out.append(name)
                    break
    return sorted(out)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _prefix(destination: str, family: int = 4) -> str:
    """Normalise a route destination to CIDR; ``default`` becomes 0.0.0.0/0 or ::/0."""
    if destination == "default":
        return "0.0.0.0/0" if family == 4 else "::/0"
    return str(ipaddress.ip_network(destination, strict=False))


# ---------------------------------------------------------------------------------------
# Pure parsers: Linux (iproute2 JSON)
# ---------------------------------------------------------------------------------------

_LINUX_LINK_KINDS = {"loopback": "loopback", "ether": "ethernet", "ppp": "ppp",
                     "none": "tun", "ipip": "virtual", "sit": "virtual", "gre": "virtual"}
_LINUX_INFO_KINDS = {"tun": "tun", "wireguard": "wireguard", "xfrm": "ipsec", "vti": "ipsec",
                     "vti6": "ipsec", "veth": "virtual", "bridge": "virtual",
                     "dummy": "virtual", "vlan": "ethernet", "macvlan": "virtual",
                     "ifb": "virtual", "bond": "ethernet"}


def parse_ip_addr_json(text: str) -> list[Adapter]:
    """``ip -j -d addr show`` → adapters (kind from ``linkinfo.info_kind`` or link type)."""
    out = []
    for item in json_list(load_json(text)):
        flags = set(item.get("flags") or [])
        info = item.get("linkinfo") or {}
        info_kind = info.get("info_kind", "")
        if info_kind == "tun":
            kind = (info.get("info_data") or {}).get("type", "tun") or "tun"
        elif info_kind in _LINUX_INFO_KINDS:
            kind = _LINUX_INFO_KINDS[info_kind]
        else:
            kind = _LINUX_LINK_KINDS.get(item.get("link_type", ""), "unknown")
        if kind == "ethernet" and item.get("ifname", "").startswith("wl"):
            kind = "wireless"
        addresses = tuple(a["local"] for a in item.get("addr_info") or [] if "local" in a)
        out.append(Adapter(
            name=item.get("ifname", ""), description=info_kind, addresses=addresses,
            # UP is the admin state, LOWER_UP the carrier; tun devices report operstate
            # UNKNOWN while working, so the flags are the reliable signal
            is_up="UP" in flags and "LOWER_UP" in flags, kind=kind,
            index=_int(item.get("ifindex"))))
    return out


def parse_ip_route_json(text: str, family: int = 4) -> list[Route]:
    """``ip -j route show`` (``-6`` for ``family=6``) → routes."""
    out = []
    for item in json_list(load_json(text)):
        if item.get("type") in ("unreachable", "prohibit", "blackhole", "broadcast", "local"):
            continue
        try:
            destination = _prefix(item.get("dst", ""), family)
        except ValueError:
            continue
        out.append(Route(destination, _text(item.get("dev")), item.get("gateway"),
                         _int(item.get("metric")), item.get("prefsrc")))
    return out


def parse_ip_route_get_json(text: str, destination: str, command: str) -> RouteLookup:
    """``ip -j route get ADDRESS`` → the kernel's route lookup."""
    items = json_list(load_json(text))
    if not items:
        return RouteLookup(destination, command, error="no answer")
    item = items[0]
    return RouteLookup(destination, command, interface=item.get("dev"),
                       source=item.get("prefsrc"), gateway=item.get("gateway"))


def parse_systemctl_units(text: str) -> list[ServiceInfo]:
    """``systemctl list-units --type=service --all --plain --no-legend`` → services."""
    out = []
    for line in text.splitlines():
        parts = line.split(None, 4)
        if len(parts) < 4 or not parts[0].endswith(".service"):
            continue
        unit, _load, active, sub = parts[:4]
        state = "running" if sub == "running" else ("failed" if active == "failed" else sub)
        out.append(ServiceInfo(unit.removesuffix(".service"),
                               parts[4].strip() if len(parts) > 4 else "", state))
    return out


def parse_dpkg_query(text: str) -> list[InstalledApp]:
    """``dpkg-query -W -f='${Package}\\t${Version}\\t${db:Status-Abbrev}\\n'`` → installed."""
    out = []
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and parts[2].startswith("ii"):
            out.append(InstalledApp(parts[0], parts[1], "dpkg"))
    return out


def parse_os_release(text: str) -> dict[str, str]:
    """``/etc/os-release`` (freedesktop format) → a dict."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip().strip('"').strip("'")
    return out


# ---------------------------------------------------------------------------------------
# Pure parsers: macOS
# ---------------------------------------------------------------------------------------

_MAC_KINDS = (("lo", "loopback"), ("utun", "tun"), ("tun", "tun"), ("tap", "tap"),
              ("ppp", "ppp"), ("ipsec", "ipsec"), ("en", "ethernet"), ("bridge", "virtual"),
              ("awdl", "wireless"), ("llw", "wireless"), ("gif", "virtual"),
              ("stf", "virtual"), ("anpi", "virtual"), ("ap", "wireless"))
_IFCONFIG_HEAD = re.compile(r"^(?P<name>[A-Za-z0-9._-]+): flags=\d+<(?P<flags>[^>]*)>")


def parse_macos_ifconfig(text: str) -> list[Adapter]:
    """``ifconfig`` (macOS/BSD) → adapters."""
    out: list[Adapter] = []
    current: dict[str, Any] | None = None

    def flush() -> None:
        if current is not None:
            name = current["name"]
            kind = next((k for prefix, k in _MAC_KINDS if name.startswith(prefix)), "unknown")
            flags = current["flags"]
            is_up = "UP" in flags and ("RUNNING" in flags or current["active"])
            if current["status"] == "inactive":
                is_up = False
            out.append(Adapter(name, "", tuple(current["addresses"]), is_up, kind))

    for line in text.splitlines():
        head = _IFCONFIG_HEAD.match(line)
        if head:
            flush()
            current = {"name": head["name"], "flags": set(head["flags"].split(",")),
                       "addresses": [], "status": "", "active": False}
            continue
        if current is None:
            continue
        words = line.split()
        if len(words) >= 2 and words[0] in ("inet", "inet6"):
            current["addresses"].append(strip_scope(words[1]))
        elif len(words) >= 2 and words[0] == "status:":
            current["status"] = words[1]
            current["active"] = words[1] == "active"
    flush()
    return out


def _bsd_destination(dest: str, flags: str, family: int) -> str | None:
    """netstat's shorthand (``10.20/16``, ``127``, ``192.168.1``, ``default``) → CIDR."""
    if dest == "default":
        return "0.0.0.0/0" if family == 4 else "::/0"
    dest = strip_scope(dest)
    if family == 6:
        try:
            return str(ipaddress.ip_network(dest if "/" in dest else dest + "/128",
                                            strict=False))
        except ValueError:
            return None
    addr, _, bits = dest.partition("/")
    octets = addr.split(".")
    if not 1 <= len(octets) <= 4 or not all(o.isdigit() for o in octets):
        return None
    padded = ".".join((octets + ["0"] * 4)[:4])
    if bits:
        prefix = int(bits)
    elif "H" in flags or len(octets) == 4:
        prefix = 32
    else:
        prefix = 8 * len(octets)  # netstat drops trailing zero octets: "10.20" is 10.20/16
    try:
        return str(ipaddress.ip_network(f"{padded}/{prefix}", strict=False))
    except ValueError:
        return None


_MAC_ADDR = re.compile(r"^([0-9a-f]{1,2}:){5}[0-9a-f]{1,2}$", re.I)


def parse_netstat_rn(text: str) -> list[Route]:
    """``netstat -rn`` (macOS) → routes. ARP/NDP cache rows (a MAC as gateway) are left out."""
    out = []
    family = 0
    for line in text.splitlines():
        stripped = line.strip()
        if stripped == "Internet:":
            family = 4
            continue
        if stripped == "Internet6:":
            family = 6
            continue
        words = stripped.split()
        if not family or len(words) < 4 or words[0] == "Destination":
            continue
        dest, gateway, flags, netif = words[:4]
        if _MAC_ADDR.match(gateway):
            continue
        cidr = _bsd_destination(dest, flags, family)
        if cidr is None:
            continue
        on_link = gateway.startswith("link#") or "G" not in flags
        out.append(Route(cidr, netif, None if on_link else strip_scope(gateway)))
    return out


def parse_macos_route_get(text: str, destination: str, command: str) -> RouteLookup:
    """``route -n get ADDRESS`` (macOS) → the kernel's route lookup."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    if "interface" not in fields:
        return RouteLookup(destination, command, error="no route")
    dest, mask = fields.get("destination", ""), fields.get("mask", "")
    prefix = None
    with contextlib.suppress(ValueError):
        if dest == "default":
            prefix = "0.0.0.0/0"
        elif dest and mask:
            prefix = str(ipaddress.ip_network(f"{dest}/{mask}", strict=False))
    return RouteLookup(destination, command, interface=fields["interface"],
                       gateway=fields.get("gateway"), prefix=prefix)


def parse_sw_vers(text: str) -> dict[str, str]:
    """``sw_vers`` → ``{"ProductName": "macOS", "ProductVersion": "14.5", ...}``."""
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            out[key.strip()] = value.strip()
    return out


def parse_launchctl_list(text: str) -> list[ServiceInfo]:
    """``launchctl list`` (``PID<TAB>Status<TAB>Label``) → launchd jobs."""
    out = []
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) != 3 or parts[2] == "Label":
            continue
        pid, _status, label = parts
        out.append(ServiceInfo(label, label, "running" if pid.strip().isdigit() else "stopped"))
    return out


# ---------------------------------------------------------------------------------------
# Pure parsers: Windows
# ---------------------------------------------------------------------------------------

_WIN_LOOPBACK = re.compile(r"loopback", re.I)
_WIN_WIRELESS = re.compile(r"wi-?fi|wireless|802\.11|wlan", re.I)


def _win_kind(description: str, media: str) -> str:
    if _WIN_LOOPBACK.search(description):
        return "loopback"
    if _WIN_WIRELESS.search(description) or "802.11" in media or "Native 802.11" in media:
        return "wireless"
    if re.search(r"WAN Miniport", description, re.I):
        return "ras"
    if re.search(r"\bTAP\b|Wintun|WireGuard", description, re.I):
        return "tun"
    return "ethernet"


def parse_netadapter_json(text: str) -> list[Adapter]:
    """``Get-NetAdapter | Select Name,InterfaceDescription,Status,ifIndex | ConvertTo-Json``.

    ``Status`` arrives as a string ("Up", "Disconnected") when projected with
    ``"$($_.Status)"``; the raw CIM property is the same text. Addresses are not part of
    this output; :func:`merge_windows_adapters` adds them.
    """
    out = []
    for item in json_list(load_json(text)):
        description = _text(item.get("InterfaceDescription"))
        out.append(Adapter(
            name=_text(item.get("Name")), description=description,
            is_up=_text(item.get("Status")).lower() == "up",
            kind=_win_kind(description, _text(item.get("MediaType"))),
            index=_int(item.get("ifIndex") or item.get("InterfaceIndex"))))
    return out


def parse_netipinterface_json(text: str) -> list[dict[str, Any]]:
    """``Get-NetIPInterface | Select InterfaceAlias,ifIndex,ConnectionState`` → plain rows."""
    out = []
    for item in json_list(load_json(text)):
        state = item.get("ConnectionState")
        # raw CIM JSON carries the enum as a number: 1 = Connected, 0 = Disconnected
        connected = state == 1 or _text(state).lower() == "connected"
        out.append({"name": _text(item.get("InterfaceAlias")),
                    "index": _int(item.get("ifIndex") or item.get("InterfaceIndex")),
                    "connected": connected})
    return out


def merge_windows_adapters(netadapters: Sequence[Adapter],
                           ip_interfaces: Sequence[Mapping[str, Any]],
                           addresses: Mapping[str, Sequence[str]],
                           up: Mapping[str, bool] | None = None) -> list[Adapter]:
    """One adapter list from ``Get-NetAdapter``, ``Get-NetIPInterface`` and psutil addresses.

    Windows' own VPN connections (IKEv2, L2TP, PPTP, SSTP) are RAS interfaces: they have an
    IP interface named after the connection but no NDIS adapter in ``Get-NetAdapter``, so
    an IP interface without an adapter (and not the loopback) is marked ``ras``.
    """
    up = up or {}
    by_name: dict[str, Adapter] = {a.name: a for a in netadapters}
    merged: dict[str, Adapter] = {}
    for a in netadapters:
        merged[a.name] = Adapter(a.name, a.description, tuple(addresses.get(a.name, ())),
                                 a.is_up or up.get(a.name, False), a.kind, a.index)
    for row in ip_interfaces:
        name = row["name"]
        if name in merged or not name:
            continue
        kind = "loopback" if _WIN_LOOPBACK.search(name) else "ras"
        merged[name] = Adapter(name, "", tuple(addresses.get(name, ())),
                               bool(row.get("connected")) or up.get(name, False), kind,
                               row.get("index"))
    for name, addrs in addresses.items():
        if name not in merged and name not in by_name:
            merged[name] = Adapter(name, "", tuple(addrs), up.get(name, False),
                                   "loopback" if _WIN_LOOPBACK.search(name) else "unknown")
    return sorted(merged.values(), key=lambda a: (a.index is None, a.index or 0, a.name))


# Windows writes "no next hop" as the unspecified address; it is not a bind address here
_ON_LINK = ("", "0.0.0.0", "::")  # noqa: S104


def parse_netroute_json(text: str) -> list[Route]:
    """``Get-NetRoute | Select DestinationPrefix,NextHop,InterfaceAlias,... | ConvertTo-Json``.

    ``NextHop`` 0.0.0.0 or :: means on-link. ``AddressFamily`` is 2/23 in raw CIM JSON.
    """
    out = []
    for item in json_list(load_json(text)):
        if "Mask" in item:
            with contextlib.suppress(ValueError):
                out.append(_ip4_route_table_row(item))
            continue
        try:
            destination = _prefix(_text(item.get("DestinationPrefix")))
        except ValueError:
            continue
        hop = _text(item.get("NextHop"))
        gateway = None if hop in _ON_LINK else hop
        metric = _int(item.get("RouteMetric"))
        if metric is not None and _int(item.get("InterfaceMetric")) is not None:
            metric += _int(item.get("InterfaceMetric")) or 0
        out.append(Route(destination, _text(item.get("InterfaceAlias")), gateway, metric))
    return out


def _ip4_route_table_row(item: dict[str, Any]) -> Route:
    """One ``Win32_IP4RouteTable`` row (Destination + Mask, Metric1; no IPv6 in that class).
    Raises ValueError for an unreadable prefix."""
    network = ipaddress.IPv4Network(f"{_text(item.get('Destination'))}/"
                                    f"{_text(item.get('Mask'))}", strict=False)
    hop = _text(item.get("NextHop"))
    index = item.get("InterfaceIndex")
    return Route(str(network), _text(item.get("InterfaceAlias")) or _text(index),
                 None if hop in _ON_LINK else hop, _int(item.get("Metric1")))


def routes_source(items: list[Any]) -> str:
    """Which query a routes script answered from (its rows' shape says)."""
    return "Win32_IP4RouteTable" if any(isinstance(i, dict) and "Mask" in i
                                        for i in items) else \
        "Get-NetRoute -PolicyStore ActiveStore"


def parse_find_netroute_json(text: str, destination: str, command: str) -> RouteLookup:
    """Our ``Find-NetRoute`` projection: SourceAddress, InterfaceAlias, route fields."""
    items = json_list(load_json(text))
    if not items:
        return RouteLookup(destination, command, error="no route")
    item = items[0]
    hop = _text(item.get("NextHop"))
    return RouteLookup(destination, command, interface=item.get("InterfaceAlias"),
                       source=item.get("SourceAddress"),
                       gateway=None if hop in _ON_LINK else hop,
                       prefix=item.get("DestinationPrefix"))


_ROUTE_PRINT_IF = re.compile(r"^\s*(\d+)\.\.\.(?:[0-9a-f]{2} )*[ .]*(.*?)\s*$", re.I)
_ROUTE_PRINT_FAMILY = re.compile(r"\bIPv([46])\b")


def _address(text: str) -> bool:
    try:
        ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _next_hop(words: list[str]) -> str | None:
    """A gateway column: an address, or the localised on-link word(s) ("On-link", "Auf
    Verbindung" ...), which are None."""
    text = " ".join(words)
    return text if _address(text) else None


def parse_route_print(text: str) -> tuple[list[Route], dict[int, str]]:
    """``route print`` → (routes, interface index → description), in any display language.

    Section titles, column headers and the on-link word are translated, so nothing here
    reads them: a table starts at the line naming ``IPv4``/``IPv6`` (never translated), its
    active routes lie between its first and second ``=====`` rule (persistent routes
    follow), and a row is recognised by its shape — addresses, masks and numbers. In the
    IPv4 table the *Interface* column is the local address, not a name; in the IPv6 table it
    is the interface index. Callers map either to an adapter.
    """
    routes: list[Route] = []
    interfaces: dict[int, str] = {}
    family = 0  # 0 = the interface list, then 4 or 6
    rules = 0  # "=====" lines since the table's title: 1 = active routes
    pending: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and set(stripped) == {"="}:
            rules, pending = rules + 1, []
            continue
        words = stripped.split()
        if not words:
            continue
        if family == 0 and (match := _ROUTE_PRINT_IF.match(line)):
            interfaces[int(match[1])] = match[2].lstrip(".").strip()
            continue
        titled = _ROUTE_PRINT_FAMILY.search(stripped)
        if titled and not _address(words[0]) and not words[0].isdigit():
            family, rules, pending = int(titled[1]), 0, []
            continue
        if rules != 1:
            continue
        if family == 4 and len(words) >= 5 and words[-1].isdigit() and \
                _address(words[0]) and _address(words[1]) and _address(words[-2]):
            with contextlib.suppress(ValueError):
                routes.append(Route(
                    str(ipaddress.ip_network(f"{words[0]}/{words[1]}", strict=False)),
                    words[-2], _next_hop(words[2:-2]), int(words[-1])))
        elif family == 6:
            if len(words) >= 3 and words[0].isdigit() and words[1].isdigit() and ":" in words[2]:
                if len(words) == 3:
                    pending = words  # a long destination wraps: the gateway follows alone
                    continue
                row, hop = words[:3], words[3:]
            elif pending:
                row, hop, pending = pending, words, []
            else:
                continue
            with contextlib.suppress(ValueError):
                routes.append(Route(str(ipaddress.ip_network(row[2], strict=False)),
                                    interfaces.get(int(row[0]), row[0]), _next_hop(hop),
                                    int(row[1])))
    return routes, interfaces


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if _text(value).lower() in ("true", "1"):
        return True
    if _text(value).lower() in ("false", "0"):
        return False
    return None


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(_text(v) for v in json_list(value) if _text(v))


def parse_vpn_connections_json(text: str, all_user: bool | None = None) -> list[VpnConnection]:
    """``Get-VpnConnection`` projected as in reference I.1 → connections.

    Also reads the unprojected CIM JSON, where enums are numbers and routes are objects.
    ``all_user`` overrides ``AllUserConnection`` when the caller knows the phone book.
    """
    tunnel_types = {0: "Pptp", 1: "L2tp", 2: "Sstp", 3: "Ikev2", 4: "Automatic"}
    out = []
    for item in json_list(load_json(text)):
        tunnel = item.get("TunnelType")
        routes = []
        for r in json_list(item.get("Routes")):
            routes.append(_text(r.get("DestinationPrefix")) if isinstance(r, dict) else _text(r))
        methods = []
        for m in json_list(item.get("AuthenticationMethod")):
            methods.append(_text(m))
        out.append(VpnConnection(
            name=_text(item.get("Name")), server_address=_text(item.get("ServerAddress")),
            all_user=all_user if all_user is not None
            else bool(_bool(item.get("AllUserConnection"))),
            tunnel_type=tunnel_types.get(tunnel, _text(tunnel)) if isinstance(tunnel, int)
            else _text(tunnel),
            split_tunneling=_bool(item.get("SplitTunneling")),
            connection_status=_text(item.get("ConnectionStatus")),
            authentication_method=tuple(m for m in methods if m),
            routes=tuple(r for r in routes if r)))
    return out


_MS_DATE = re.compile(r"/Date\((-?\d+)(?:[+-]\d{4})?\)/")


def parse_ps_date(value: Any) -> dt.date | None:
    """A date as Windows PowerShell writes it to JSON, in any of its shapes.

    * PowerShell 5.1 ``ConvertTo-Json`` of a ``[datetime]``: ``"\\/Date(1715644800000)\\/"``
      (JSON's ``\\/`` decodes to ``/``), or, for an object that carries extended
      properties, ``{"value": "\\/Date(…)\\/", "DateTime": "…"}``;
    * PowerShell 7: ISO 8601 ``"2024-05-14T00:00:00+02:00"``;
    * ``Win32_QuickFixEngineering.InstalledOn`` raw text: ``"5/14/2024"`` (US order).
    """
    if isinstance(value, dict):
        value = value.get("value", value.get("DateTime"))
    text = _text(value).strip()
    if not text:
        return None
    match = _MS_DATE.search(text)
    if match:
        return dt.datetime.fromtimestamp(int(match[1]) / 1000, dt.UTC).date()
    with contextlib.suppress(ValueError):
        return dt.date.fromisoformat(text[:10])
    with contextlib.suppress(ValueError):
        return dt.datetime.strptime(text.split()[0], "%m/%d/%Y").date()
    return None


def parse_hotfix_json(text: str) -> list[tuple[str, dt.date | None]]:
    """``Get-HotFix | Select HotFixID,Description,InstalledOn | ConvertTo-Json`` → (id, date)."""
    out = []
    for item in json_list(load_json(text)):
        out.append((_text(item.get("HotFixID")), parse_ps_date(item.get("InstalledOn"))))
    return out


def latest_update(hotfixes: Sequence[tuple[str, dt.date | None]]) -> tuple[str, dt.date | None]:
    """The newest dated update: (id, date); ("", None) when none carries a date."""
    dated = [(d, i) for i, d in hotfixes if d is not None]
    if not dated:
        return "", None
    date, hotfix = max(dated)
    return hotfix, date


def parse_windows_os_json(text: str, source: str = "") -> OsInfo:
    """Our OS script's JSON (Win32_OperatingSystem + CurrentVersion + Get-HotFix) → OsInfo."""
    data = load_json(text) or {}
    hotfixes = parse_hotfix_json(json.dumps(data.get("HotFixes") or []))
    update_id, update_date = latest_update(hotfixes)
    build = _text(data.get("BuildNumber"))
    ubr = _text(data.get("UBR"))
    return OsInfo(
        system="windows", name=_text(data.get("Caption")).replace("Microsoft ", "", 1),
        version=_text(data.get("Version")), build=f"{build}.{ubr}" if build and ubr else build,
        release=_text(data.get("DisplayVersion")),
        workstation=_int(data.get("ProductType")) in (None, 1),
        last_update=update_date, last_update_id=update_id, updates_seen=len(hotfixes),
        source=source)


# ---------------------------------------------------------------------------------------
# Collectors
# ---------------------------------------------------------------------------------------

T = TypeVar("T")


MAX_OUTPUT_BYTES = 4 * 1024 * 1024
"""Most bytes kept of one program's stdout (and, separately, stderr). A program that writes
more is stopped: every fact we collect is far smaller, so more means something is wrong."""

_READ_CHUNK = 64 * 1024
_GRACE_S = 1.0
"""After the program ended or was killed: how long its pipes may take to reach EOF."""


def kill_tree(root: Any) -> None:
    """Kill the :class:`psutil.Process` ``root`` and every process it started (best effort).

    Why the whole tree: ``powershell.exe``, ``cmd`` and friends start children that inherit
    our pipes. Killing only the direct child leaves them holding the pipes open, and a reader
    waiting for end-of-file then waits as long as they live (the ``subprocess.run`` timeout
    hang on Windows). psutil's methods refuse to signal a reused PID, so a program that has
    already exited cannot make us kill a stranger.
    """
    import psutil

    try:
        family = root.children(recursive=True)
    except psutil.Error:
        family = []
    for proc in [root, *family]:  # the parent first, so it starts no new ones
        with contextlib.suppress(psutil.Error):
            proc.kill()


class _Capture(threading.Thread):
    """Reads one pipe to its end on its own thread, keeping at most ``limit`` bytes.

    A thread per pipe (not ``select``) because Windows cannot wait on pipes; reading both
    at once keeps a program that fills stderr from blocking while we read stdout.
    """

    def __init__(self, stream: Any, limit: int, on_overflow: Callable[[], None]) -> None:
        super().__init__(daemon=True, name="accessready-capture")
        self.stream = stream
        self.limit = limit
        self.on_overflow = on_overflow
        self.data = bytearray()
        self.overflowed = False

    def run(self) -> None:
        """Read until EOF or the limit; then close our end, so a writer left over gets EPIPE
        instead of blocking on a full pipe."""
        try:
            while True:
                chunk = self.stream.read1(_READ_CHUNK)
                if not chunk:
                    return
                room = self.limit - len(self.data)
                self.data += chunk[:room]
                if len(chunk) > room:
                    self.overflowed = True
                    self.on_overflow()
                    return
        except (OSError, ValueError):  # the pipe broke: what was read so far stands
            return
        finally:
            with contextlib.suppress(OSError):
                self.stream.close()

    def text(self) -> str:
        """What was read, as text (bytes that are not UTF-8 replaced)."""
        return bytes(self.data).decode("utf-8", "replace")


def run_command(argv: Sequence[str], timeout: float, *,
                max_output: int = MAX_OUTPUT_BYTES) -> CommandResult:
    """Run a local program: argv list, no shell, no stdin, a hard timeout, output as text.

    At most ``max_output`` bytes of stdout and of stderr are kept; a program that writes
    more, or is still running at the deadline, is killed with every process it started
    (:func:`kill_tree`). Never waits much past the deadline: a pipe still held open by a
    process that escaped the tree is abandoned, not waited for.
    """
    import psutil

    argv = [str(a) for a in argv]
    command = " ".join(argv[:1] + [a for a in argv[1:] if len(a) < 60])  # no base64 blobs
    started = time.monotonic()
    deadline = started + max(timeout, 0.05)
    try:
        # child_environment: without the password variable (and any copy of a secret)
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, shell=False, env=child_environment())
    except OSError as exc:
        return CommandResult(command, None, "", "", time.monotonic() - started,
                             f"cannot run {argv[0]}: {exc.strerror or exc}")
    try:
        # taken now, while the PID is certainly ours (not yet reaped)
        root: Any = psutil.Process(proc.pid)
    except psutil.Error:
        root = None

    def stop() -> None:
        if root is not None:
            kill_tree(root)
        else:
            with contextlib.suppress(OSError):
                proc.kill()

    readers = [_Capture(proc.stdout, max_output, stop), _Capture(proc.stderr, max_output, stop)]
    for reader in readers:
        reader.start()
    timed_out = False
    try:
        proc.wait(timeout=max(deadline - time.monotonic(), 0.0))
    except subprocess.TimeoutExpired:
        timed_out = True
        stop()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=_GRACE_S)
    overflowed = any(r.overflowed for r in readers)
    # The program has ended; its pipes reach EOF once every process holding them has too.
    until = max(deadline, time.monotonic() + _GRACE_S) if not (timed_out or overflowed) \
        else time.monotonic() + _GRACE_S
    for reader in readers:
        reader.join(max(until - time.monotonic(), 0.0))
    held_open = any(r.is_alive() for r in readers)  # abandoned: daemon threads, EOF later
    out, err = readers[0].text(), readers[1].text()
    duration = time.monotonic() - started
    if overflowed:
        error = f"{command} wrote more than {max_output} bytes; it was stopped"
    elif timed_out:
        error = f"{command} did not finish within {timeout:.1f} s"
    elif held_open:
        error = (f"{command} exited, but a process it started kept its output open "
                 "past the deadline")
    else:
        error = ""
    # a program we killed has no exit code of its own
    returncode = None if (timed_out or overflowed) else proc.returncode
    return CommandResult(command, returncode, out, err, duration, error)


class BaseLocalSystem:
    """What every platform shares: egress via a UDP socket, psutil facts, a small cache.

    One instance serves one run; facts that do not change within seconds (adapters,
    routes, the OS) are fetched once even when several checks ask at the same time.
    """

    system = "unknown"

    def __init__(self, runner: Callable[[Sequence[str], float], CommandResult] = run_command
                 ) -> None:
        self._run = runner
        self._cache: dict[str, Any] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _memo(self, key: str, timeout: float, compute: Callable[[], T]) -> T:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        if not lock.acquire(timeout=max(timeout, 0.01)):
            raise CommandFailed(f"{key}: still being collected by another check")
        try:
            if key not in self._cache:
                self._cache[key] = compute()
            return self._cache[key]
        finally:
            lock.release()

    def run_command(self, argv: Sequence[str], timeout: float) -> CommandResult:
        """Run a local program (argv list, timeout); see :func:`run_command`."""
        return self._run(argv, timeout)

    def _checked(self, argv: Sequence[str], timeout: float) -> CommandResult:
        done = self._run(argv, timeout)
        if not done.ok:
            raise CommandFailed(done.problem())
        return done

    # -- egress ---------------------------------------------------------------------------

    @staticmethod
    def _if_addrs() -> dict[str, list[str]]:
        import psutil

        return {name: [strip_scope(a.address) for a in addrs
                       if a.family in (socket.AF_INET, socket.AF_INET6)]
                for name, addrs in psutil.net_if_addrs().items()}

    def egress(self, destination: str) -> Egress:
        """Source address and interface for ``destination``: a UDP ``connect()``.

        ``connect()`` on a datagram socket sends nothing: it only asks the kernel to pick
        the route and the source address, which ``getsockname()`` then reveals.
        """
        address = ipaddress.ip_address(destination)
        family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            try:
                sock.connect((str(address), 9))  # the discard port; no packet leaves
                source = strip_scope(sock.getsockname()[0])
            except OSError as exc:
                return Egress(destination, error=f"no route: {exc.strerror or exc}")
        candidates = interfaces_with_address(self._if_addrs(), source)
        return Egress(destination, source, candidates[0] if len(candidates) == 1 else None,
                      tuple(candidates))

    def route_to(self, destination: str, timeout: float) -> RouteLookup:
        """Not available here; the platform classes override it."""
        return RouteLookup(destination, "", error="no route lookup on this system")

    # -- adapters -------------------------------------------------------------------------

    def _psutil_adapters(self) -> list[Adapter]:
        import psutil

        stats = psutil.net_if_stats()
        out = []
        for name, addrs in self._if_addrs().items():
            st = stats.get(name)
            flags = getattr(st, "flags", "") or ""
            kind = ("loopback" if "loopback" in flags or name.startswith("lo")
                    else "tun" if "pointopoint" in flags else "unknown")
            out.append(Adapter(name, "", tuple(addrs), bool(st and st.isup), kind))
        return out

    def adapters(self, timeout: float) -> list[Adapter]:
        """psutil's view: names, addresses, up/down."""
        return self._memo("adapters", timeout, self._psutil_adapters)

    def routes(self, timeout: float) -> RouteTable:
        """Not available here; the platform classes override it."""
        return RouteTable("", error="no routing table on this system")

    # -- system ---------------------------------------------------------------------------

    def os_info(self, timeout: float) -> OsInfo:
        """``platform``'s view of the OS."""
        return OsInfo(platform.system().lower(), platform.system(), platform.release(),
                      platform.version(), source="python platform")

    def is_elevated(self) -> bool | None:
        """POSIX: effective uid 0."""
        geteuid = getattr(os, "geteuid", None)
        return None if geteuid is None else geteuid() == 0

    def vpn_connections(self, timeout: float) -> list[VpnConnection]:
        """Windows only."""
        raise NotSupported("Windows VPN connections exist only on Windows")

    def services(self, timeout: float) -> list[ServiceInfo]:
        """No service manager known here."""
        return []

    def processes(self) -> list[str]:
        """Running process names (psutil); processes we may not inspect are left out."""
        import psutil

        names = []
        for proc in psutil.process_iter(["name"]):
            name = proc.info.get("name")
            if name:
                names.append(name)
        return sorted(set(names))

    def installed_software(self, timeout: float) -> list[InstalledApp]:
        """Nothing known here."""
        return []

    def which(self, program: str) -> str | None:
        """``shutil.which``."""
        return shutil.which(program)

    def existing_paths(self, candidates: Iterable[str]) -> list[str]:
        """Those candidates that exist (``~`` and environment variables expanded)."""
        out = []
        for path in candidates:
            expanded = os.path.expandvars(os.path.expanduser(path))
            if "%" not in expanded and "$" not in expanded and os.path.exists(expanded):
                out.append(path)
        return out


class LinuxLocalSystem(BaseLocalSystem):
    """Linux: iproute2 JSON, systemd, dpkg/rpm."""

    system = "linux"

    def __init__(self, runner: Callable[[Sequence[str], float], CommandResult] = run_command
                 ) -> None:
        super().__init__(runner)
        self.ip = shutil.which("ip") or next(
            (p for p in ("/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip") if os.path.exists(p)), "ip")

    def adapters(self, timeout: float) -> list[Adapter]:
        """``ip -j -d addr show``; psutil when iproute2 is missing."""
        def compute() -> list[Adapter]:
            done = self._run([self.ip, "-j", "-d", "addr", "show"], timeout)
            if done.ok:
                with contextlib.suppress(ValueError):
                    return parse_ip_addr_json(done.stdout)
            return self._psutil_adapters()
        return self._memo("adapters", timeout, compute)

    def routes(self, timeout: float) -> RouteTable:
        """``ip -j route show`` and ``ip -j -6 route show`` (main table)."""
        def compute() -> RouteTable:
            routes: list[Route] = []
            errors = []
            for family, argv in ((4, [self.ip, "-j", "-4", "route", "show"]),
                                 (6, [self.ip, "-j", "-6", "route", "show"])):
                done = self._run(argv, timeout)
                if not done.ok:
                    errors.append(done.problem())
                    continue
                try:
                    routes += parse_ip_route_json(done.stdout, family)
                except ValueError as exc:
                    errors.append(f"unreadable output: {exc}")
            return RouteTable("ip -j route show; ip -j -6 route show", tuple(routes),
                              "; ".join(errors) if not routes else "")
        return self._memo("routes", timeout, compute)

    def route_to(self, destination: str, timeout: float) -> RouteLookup:
        """``ip -j route get ADDRESS``: the kernel's answer, policy routing included."""
        address = str(ipaddress.ip_address(destination))
        command = f"ip -j route get {address}"
        done = self._run([self.ip, "-j", "route", "get", address], timeout)
        if not done.ok:
            return RouteLookup(address, command, error=done.problem())
        try:
            return parse_ip_route_get_json(done.stdout, address, command)
        except ValueError as exc:
            return RouteLookup(address, command, error=f"unreadable output: {exc}")

    def os_info(self, timeout: float) -> OsInfo:
        """``/etc/os-release`` (through ``platform``) and the kernel release."""
        try:
            release = platform.freedesktop_os_release()
        except OSError:
            release = {}
        return OsInfo("linux", release.get("PRETTY_NAME") or "Linux",
                      release.get("VERSION", ""), platform.release(),
                      release.get("VERSION_ID", ""), source="/etc/os-release")

    def services(self, timeout: float) -> list[ServiceInfo]:
        """``systemctl list-units --type=service --all``; CommandFailed without systemd."""
        def compute() -> list[ServiceInfo]:
            done = self._checked(["systemctl", "list-units", "--type=service", "--all",
                                  "--plain", "--no-legend", "--no-pager"], timeout)
            return parse_systemctl_units(done.stdout)
        return self._memo("services", timeout, compute)

    def installed_software(self, timeout: float) -> list[InstalledApp]:
        """Debian packages (``dpkg-query``), else RPMs (``rpm -qa``)."""
        def compute() -> list[InstalledApp]:
            if shutil.which("dpkg-query"):
                done = self._checked(["dpkg-query", "-W", "-f",
                                      "${Package}\t${Version}\t${db:Status-Abbrev}\n"],
                                     timeout)
                return parse_dpkg_query(done.stdout)
            if shutil.which("rpm"):
                done = self._checked(["rpm", "-qa", "--qf", "%{NAME}\t%{VERSION}\tii\n"],
                                     timeout)
                return parse_dpkg_query(done.stdout)
            return []
        return self._memo("installed", timeout, compute)


class MacLocalSystem(BaseLocalSystem):
    """macOS: ifconfig, netstat -rn, route -n get, sw_vers, launchctl."""

    system = "macos"

    def adapters(self, timeout: float) -> list[Adapter]:
        """``ifconfig``; psutil when it fails."""
        def compute() -> list[Adapter]:
            done = self._run(["/sbin/ifconfig"], timeout)
            return parse_macos_ifconfig(done.stdout) if done.ok else self._psutil_adapters()
        return self._memo("adapters", timeout, compute)

    def routes(self, timeout: float) -> RouteTable:
        """``netstat -rn``."""
        def compute() -> RouteTable:
            done = self._run(["/usr/sbin/netstat", "-rn"], timeout)
            if not done.ok:
                return RouteTable("netstat -rn", error=done.problem())
            return RouteTable("netstat -rn", tuple(parse_netstat_rn(done.stdout)))
        return self._memo("routes", timeout, compute)

    def route_to(self, destination: str, timeout: float) -> RouteLookup:
        """``route -n get ADDRESS``."""
        address = str(ipaddress.ip_address(destination))
        argv = ["/sbin/route", "-n", "get"] + (["-inet6"] if ":" in address else []) + [address]
        command = " ".join(["route", *argv[1:]])
        done = self._run(argv, timeout)
        if not done.ok:
            return RouteLookup(address, command, error=done.problem())
        return parse_macos_route_get(done.stdout, address, command)

    def os_info(self, timeout: float) -> OsInfo:
        """``sw_vers``."""
        def compute() -> OsInfo:
            done = self._run(["/usr/bin/sw_vers"], timeout)
            if not done.ok:
                return OsInfo("macos", "macOS", platform.mac_ver()[0], error=done.problem())
            v = parse_sw_vers(done.stdout)
            return OsInfo("macos", f"{v.get('ProductName', 'macOS')} "
                          f"{v.get('ProductVersion', '')}".strip(),
                          v.get("ProductVersion", ""), v.get("BuildVersion", ""),
                          v.get("ProductVersion", ""), source="sw_vers")
        return self._memo("os", timeout, compute)

    def services(self, timeout: float) -> list[ServiceInfo]:
        """``launchctl list`` (this user's and, when readable, the system's jobs)."""
        def compute() -> list[ServiceInfo]:
            return parse_launchctl_list(self._checked(["/bin/launchctl", "list"],
                                                      timeout).stdout)
        return self._memo("services", timeout, compute)

    def installed_software(self, timeout: float) -> list[InstalledApp]:
        """App bundles in /Applications (one level of vendor folders too)."""
        out = []
        for folder in ("/Applications", "/Applications/Cisco", "/Applications/Check Point"):
            with contextlib.suppress(OSError):
                for entry in sorted(os.listdir(folder)):
                    if entry.endswith(".app"):
                        out.append(InstalledApp(entry.removesuffix(".app"), "", folder))
        return out


WINDOWS_ADAPTERS_PS = powershell.register("localsys.adapters", r"""
$a = @(Get-NetAdapter -ErrorAction SilentlyContinue |
  Select-Object 'Name','InterfaceDescription',@{n='Status';e={"$($_.Status)"}},'ifIndex',
    @{n='MediaType';e={"$($_.MediaType)"}})
$i = @(Get-NetIPInterface -ErrorAction SilentlyContinue |
  Select-Object 'InterfaceAlias','ifIndex',@{n='ConnectionState';e={"$($_.ConnectionState)"}})
$o = [pscustomobject]@{ adapters = $a; ipinterfaces = $i }
ConvertTo-Json -Depth 4 -Compress -InputObject $o
""")

WINDOWS_ROUTES_PS = powershell.register("localsys.routes", r"""
$m = @{}
if (Get-Command -Name 'Get-NetRoute' -ErrorAction SilentlyContinue) {
  Get-NetIPInterface -ErrorAction SilentlyContinue |
    ForEach-Object { $m["$($_.ifIndex)/$($_.AddressFamily)"] = $_.InterfaceMetric }
  $r = @(Get-NetRoute -PolicyStore ActiveStore |
    Select-Object 'DestinationPrefix','NextHop','InterfaceAlias','ifIndex','RouteMetric',
      @{n='InterfaceMetric';e={ $m["$($_.ifIndex)/$($_.AddressFamily)"] }},
      @{n='AddressFamily';e={"$($_.AddressFamily)"}})
} else {
  # No NetTCPIP module (Windows 7 / 2008 R2 with WMF 3+): WMI's IPv4 table, numbers only
  Get-CimInstance -ClassName Win32_NetworkAdapter |
    ForEach-Object { $m["$($_.InterfaceIndex)"] = $_.NetConnectionID }
  $r = @(Get-CimInstance -ClassName Win32_IP4RouteTable |
    Select-Object 'Destination','Mask','NextHop','InterfaceIndex','Metric1',
      @{n='InterfaceAlias';e={ $m["$($_.InterfaceIndex)"] }})
}
ConvertTo-Json -Depth 3 -Compress -InputObject $r
""")

WINDOWS_FIND_ROUTE_PS = powershell.register("localsys.find_route", r"""
$r = @(Find-NetRoute -RemoteIPAddress $Destination)
$a = $r | Where-Object { $_.PSObject.Properties['IPAddress'] } | Select-Object -First 1
$n = $r | Where-Object { $_.PSObject.Properties['DestinationPrefix'] } | Select-Object -First 1
ConvertTo-Json -Compress -InputObject ([pscustomobject]@{
  SourceAddress = $a.IPAddress; InterfaceAlias = $n.InterfaceAlias
  DestinationPrefix = $n.DestinationPrefix; NextHop = $n.NextHop; RouteMetric = $n.RouteMetric })
""")

WINDOWS_VPN_PS = powershell.register("localsys.vpn", r"""
$c = @(Get-VpnConnection -ErrorAction SilentlyContinue) +
     @(Get-VpnConnection -AllUserConnection -ErrorAction SilentlyContinue)
$p = @($c | Select-Object 'Name','ServerAddress','AllUserConnection',
    @{n='TunnelType';e={"$($_.TunnelType)"}},
    @{n='AuthenticationMethod';e={@($_.AuthenticationMethod | ForEach-Object { "$_" })}},
    @{n='EncryptionLevel';e={"$($_.EncryptionLevel)"}},
    @{n='L2tpIPsecAuth';e={"$($_.L2tpIPsecAuth)"}},'SplitTunneling',
    @{n='ConnectionStatus';e={"$($_.ConnectionStatus)"}},
    @{n='Routes';e={@($_.Routes | ForEach-Object { "$($_.DestinationPrefix)" })}})
ConvertTo-Json -Depth 4 -Compress -InputObject $p
""")

WINDOWS_OS_PS = powershell.register("localsys.os", r"""
$os = Get-CimInstance -ClassName Win32_OperatingSystem
$cv = Get-ItemProperty -Path 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion'
$inv = [System.Globalization.CultureInfo]::InvariantCulture
$hf = @(Get-HotFix -ErrorAction SilentlyContinue | Select-Object 'HotFixID','Description',
  @{n='InstalledOn';e={ if ($_.InstalledOn) { $_.InstalledOn.ToString('yyyy-MM-dd', $inv) } }})
ConvertTo-Json -Depth 4 -Compress -InputObject ([pscustomobject]@{
  Caption = $os.Caption; Version = $os.Version; BuildNumber = $os.BuildNumber
  ProductType = $os.ProductType; DisplayVersion = $cv.DisplayVersion; UBR = $cv.UBR
  HotFixes = $hf })
""")


class WindowsLocalSystem(BaseLocalSystem):
    """Windows: PowerShell (NetTCPIP, VpnClient cmdlets), the registry, psutil services."""

    system = "windows"

    def __init__(self, runner: Callable[[Sequence[str], float], CommandResult] = run_command
                 ) -> None:
        super().__init__(runner)
        root = os.environ.get("SYSTEMROOT", r"C:\Windows")
        # an absolute path, so a powershell.exe planted on PATH is never picked up
        self.powershell = ntpath.join(root, "System32", "WindowsPowerShell", "v1.0",
                                      "powershell.exe")

    def run_powershell_json(self, body: str, timeout: float,
                            params: Mapping[str, str] | None = None) -> Any:
        """Run a fixed script (values only as ``params``) and parse its JSON output."""
        done = self._run(powershell.argv(powershell.script(body, params), self.powershell),
                         timeout)
        if not done.ok:
            raise CommandFailed(done.problem())
        try:
            return load_json(done.stdout)
        except ValueError as exc:
            raise CommandFailed(f"PowerShell wrote no JSON: {exc}") from None

    def adapters(self, timeout: float) -> list[Adapter]:
        """Get-NetAdapter + Get-NetIPInterface, with psutil's addresses and link state."""
        def compute() -> list[Adapter]:
            import psutil

            stats = {n: s.isup for n, s in psutil.net_if_stats().items()}
            try:
                data = self.run_powershell_json(WINDOWS_ADAPTERS_PS, timeout) or {}
            except CommandFailed:
                return self._psutil_adapters()
            return merge_windows_adapters(
                parse_netadapter_json(json.dumps(data.get("adapters") or [])),
                parse_netipinterface_json(json.dumps(data.get("ipinterfaces") or [])),
                self._if_addrs(), stats)
        return self._memo("adapters", timeout, compute)

    def routes(self, timeout: float) -> RouteTable:
        """``Get-NetRoute -PolicyStore ActiveStore`` (``Win32_IP4RouteTable`` where that
        cmdlet is missing); ``route print`` when PowerShell fails."""
        def compute() -> RouteTable:
            try:
                items = json_list(self.run_powershell_json(WINDOWS_ROUTES_PS, timeout))
                return RouteTable(routes_source(items),
                                  tuple(parse_netroute_json(json.dumps(items))))
            except CommandFailed as first:
                done = self._run(["route", "print"], timeout)
                if not done.ok:
                    return RouteTable("Get-NetRoute; route print",
                                      error=f"{first}; {done.problem()}")
                routes, _ = parse_route_print(done.stdout)
                return RouteTable("route print", tuple(routes))
        return self._memo("routes", timeout, compute)

    def route_to(self, destination: str, timeout: float) -> RouteLookup:
        """``Find-NetRoute -RemoteIPAddress``: the route and the source address Windows picks."""
        address = str(ipaddress.ip_address(destination))
        command = f"Find-NetRoute -RemoteIPAddress {address}"
        try:
            data = self.run_powershell_json(WINDOWS_FIND_ROUTE_PS, timeout,
                                            {"Destination": address})
        except CommandFailed as exc:
            return RouteLookup(address, command, error=str(exc))
        return parse_find_netroute_json(json.dumps(json_list(data)), address, command)

    def os_info(self, timeout: float) -> OsInfo:
        """Win32_OperatingSystem, CurrentVersion (DisplayVersion, UBR) and Get-HotFix."""
        def compute() -> OsInfo:
            source = "Win32_OperatingSystem; CurrentVersion; Get-HotFix"
            try:
                data = self.run_powershell_json(WINDOWS_OS_PS, timeout)
            except CommandFailed as exc:
                return OsInfo("windows", f"Windows {platform.release()}",
                              platform.version(), platform.version().rsplit(".", 1)[-1],
                              source="python platform", error=str(exc))
            return parse_windows_os_json(json.dumps(data or {}), source)
        return self._memo("os", timeout, compute)

    def is_elevated(self) -> bool | None:
        """``IsUserAnAdmin``: true only in an elevated (UAC) process."""
        try:
            import ctypes

            return bool(ctypes.windll.shell32.IsUserAnAdmin())  # type: ignore[attr-defined]
        except (AttributeError, OSError):
            return None

    def vpn_connections(self, timeout: float) -> list[VpnConnection]:
        """Get-VpnConnection, current user's and all users' phone books."""
        def compute() -> list[VpnConnection]:
            data = self.run_powershell_json(WINDOWS_VPN_PS, timeout)
            return parse_vpn_connections_json(json.dumps(json_list(data)))
        return self._memo("vpn", timeout, compute)

    def services(self, timeout: float) -> list[ServiceInfo]:
        """psutil's Windows service list."""
        def compute() -> list[ServiceInfo]:
            import psutil

            out = []
            for svc in psutil.win_service_iter():  # type: ignore[attr-defined]
                with contextlib.suppress(Exception):  # a service may vanish while we look
                    out.append(ServiceInfo(svc.name(), svc.display_name(),
                                           str(svc.status()).lower()))
            return out
        return self._memo("services", timeout, compute)

    def installed_software(self, timeout: float) -> list[InstalledApp]:
        """Uninstall entries of HKLM (64- and 32-bit views) and HKCU."""
        def compute() -> list[InstalledApp]:
            import winreg  # type: ignore[import-not-found]

            path = r"SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall"
            views = [(winreg.HKEY_LOCAL_MACHINE, winreg.KEY_WOW64_64KEY, "HKLM"),
                     (winreg.HKEY_LOCAL_MACHINE, winreg.KEY_WOW64_32KEY, "HKLM (32-bit)"),
                     (winreg.HKEY_CURRENT_USER, 0, "HKCU")]
            out: dict[str, InstalledApp] = {}
            for hive, view, label in views:
                with contextlib.suppress(OSError), \
                        winreg.OpenKey(hive, path, 0, winreg.KEY_READ | view) as root:
                    for i in range(winreg.QueryInfoKey(root)[0]):
                        with contextlib.suppress(OSError), \
                                winreg.OpenKey(root, winreg.EnumKey(root, i)) as key:
                            name = winreg.QueryValueEx(key, "DisplayName")[0]
                            try:
                                version = winreg.QueryValueEx(key, "DisplayVersion")[0]
                            except OSError:
                                version = ""
                            out.setdefault(str(name), InstalledApp(str(name), str(version),
                                                                   label))
            return sorted(out.values(), key=lambda a: a.name)
        return self._memo("installed", timeout, compute)


def local_system() -> LocalSystem:
    """The implementation for the platform we run on."""
    name = platform.system()
    if name == "Windows":
        return WindowsLocalSystem()
    if name == "Darwin":
        return MacLocalSystem()
    if name == "Linux":
        return LinuxLocalSystem()
    return BaseLocalSystem()

