"""Pure parsers of macOS outputs (ifconfig, netstat -rn, route -n get, sw_vers, launchctl).

Recorded text in, typed facts out; nothing is run here (the collector is
:class:`~accessready.agent.io.localsys.collect.MacLocalSystem`).
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from typing import Any

from accessready.agent.io.localsys.facts import Adapter, Route, RouteLookup, ServiceInfo
from accessready.agent.io.localsys.values import strip_scope

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
