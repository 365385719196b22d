"""Pure parsers of Linux outputs (iproute2 JSON, systemd, dpkg, os-release).

Recorded text in, typed facts out; nothing is run here (the collector is
:class:`~accessready.agent.io.localsys.collect.LinuxLocalSystem`).
"""

from __future__ import annotations

from accessready.agent.core.powershell import as_list
from accessready.agent.io.localsys.facts import (
    Adapter,
    InstalledApp,
    Route,
    RouteLookup,
    ServiceInfo,
)
from accessready.agent.io.localsys.values import as_cidr, as_int, as_text, load_json

_LINUX_LINK_KINDS = {"loopback": "loopback", "ether": "ethernet", "ppp": "ppp",
                     "none": "tun", "ipip": "virtual", "sit": "virtual", "gre": "virtual"}
_LINUX_INFO_KINDS = {"tun": "tun", "wireguard": "wireguard", "xfrm": "ipsec", "vti": "ipsec",
                     "vti6": "ipsec", "veth": "virtual", "bridge": "virtual",
                     "dummy": "virtual", "vlan": "ethernet", "macvlan": "virtual",
                     "ifb": "virtual", "bond": "ethernet"}


def parse_ip_addr_json(text: str) -> list[Adapter]:
    """``ip -j -d addr show`` → adapters (kind from ``linkinfo.info_kind`` or link type)."""
    out = []
    for item in as_list(load_json(text)):
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
            index=as_int(item.get("ifindex"))))
    return out


def parse_ip_route_json(text: str, family: int = 4) -> list[Route]:
    """``ip -j route show`` (``-6`` for ``family=6``) → routes."""
    out = []
    for item in as_list(load_json(text)):
        if item.get("type") in ("unreachable", "prohibit", "blackhole", "broadcast", "local"):
            continue
        try:
            destination = as_cidr(item.get("dst", ""), family)
        except ValueError:
            continue
        out.append(Route(destination, as_text(item.get("dev")), item.get("gateway"),
                         as_int(item.get("metric")), item.get("prefsrc")))
    return out


def parse_ip_route_get_json(text: str, destination: str, command: str) -> RouteLookup:
    """``ip -j route get ADDRESS`` → the kernel's route lookup."""
    items = as_list(load_json(text))
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
