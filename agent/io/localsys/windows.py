"""Pure parsers of Windows outputs: our PowerShell projections (``Get-NetAdapter``,
``Get-NetRoute``, ``Find-NetRoute``, ``Get-VpnConnection``, ``Get-HotFix``, the OS) and
``route print`` in any display language.

Recorded text in, typed facts out; nothing is run here (the collector is
:class:`~accessready.agent.io.localsys.collect_windows.WindowsLocalSystem`), so the outputs
recorded on real Windows machines are exercised through the very code that reads them in
the field.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from accessready.agent.core.powershell import as_list, ps_date
from accessready.agent.io.localsys.facts import Adapter, OsInfo, Route, RouteLookup, VpnConnection
from accessready.agent.io.localsys.values import (
    as_bool,
    as_cidr,
    as_int,
    as_text,
    load_json,
)

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
    for item in as_list(load_json(text)):
        description = as_text(item.get("InterfaceDescription"))
        out.append(Adapter(
            name=as_text(item.get("Name")), description=description,
            is_up=as_text(item.get("Status")).lower() == "up",
            kind=_win_kind(description, as_text(item.get("MediaType"))),
            index=as_int(item.get("ifIndex") or item.get("InterfaceIndex"))))
    return out


def parse_netipinterface_json(text: str) -> list[dict[str, Any]]:
    """``Get-NetIPInterface | Select InterfaceAlias,ifIndex,ConnectionState`` → plain rows."""
    out = []
    for item in as_list(load_json(text)):
        state = item.get("ConnectionState")
        # raw CIM JSON carries the enum as a number: 1 = Connected, 0 = Disconnected
        connected = state == 1 or as_text(state).lower() == "connected"
        out.append({"name": as_text(item.get("InterfaceAlias")),
                    "index": as_int(item.get("ifIndex") or item.get("InterfaceIndex")),
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
    for item in as_list(load_json(text)):
        if "Mask" in item:
            with contextlib.suppress(ValueError):
                out.append(_ip4_route_table_row(item))
            continue
        try:
            destination = as_cidr(as_text(item.get("DestinationPrefix")))
        except ValueError:
            continue
        hop = as_text(item.get("NextHop"))
        gateway = None if hop in _ON_LINK else hop
        metric = as_int(item.get("RouteMetric"))
        if metric is not None and as_int(item.get("InterfaceMetric")) is not None:
            metric += as_int(item.get("InterfaceMetric")) or 0
        out.append(Route(destination, as_text(item.get("InterfaceAlias")), gateway, metric))
    return out


def _ip4_route_table_row(item: dict[str, Any]) -> Route:
    """One ``Win32_IP4RouteTable`` row (Destination + Mask, Metric1; no IPv6 in that class).
    Raises ValueError for an unreadable prefix."""
    network = ipaddress.IPv4Network(f"{as_text(item.get('Destination'))}/"
                                    f"{as_text(item.get('Mask'))}", strict=False)
    hop = as_text(item.get("NextHop"))
    index = item.get("InterfaceIndex")
    return Route(str(network), as_text(item.get("InterfaceAlias")) or as_text(index),
                 None if hop in _ON_LINK else hop, as_int(item.get("Metric1")))


def routes_source(items: list[Any]) -> str:
    """Which query a routes script answered from (its rows' shape says)."""
    return "Win32_IP4RouteTable" if any(isinstance(i, dict) and "Mask" in i
                                        for i in items) else \
        "Get-NetRoute -PolicyStore ActiveStore"


def parse_find_netroute_json(text: str, destination: str, command: str) -> RouteLookup:
    """Our ``Find-NetRoute`` projection: SourceAddress, InterfaceAlias, route fields."""
    items = as_list(load_json(text))
    if not items:
        return RouteLookup(destination, command, error="no route")
    item = items[0]
    hop = as_text(item.get("NextHop"))
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


def parse_vpn_connections_json(text: str, all_user: bool | None = None) -> list[VpnConnection]:
    """``Get-VpnConnection`` projected as in reference I.1 → connections.

    Also reads the unprojected CIM JSON, where enums are numbers and routes are objects.
    ``all_user`` overrides ``AllUserConnection`` when the caller knows the phone book.
    """
    tunnel_types = {0: "Pptp", 1: "L2tp", 2: "Sstp", 3: "Ikev2", 4: "Automatic"}
    out = []
    for item in as_list(load_json(text)):
        tunnel = item.get("TunnelType")
        routes = []
        for r in as_list(item.get("Routes")):
            routes.append(as_text(r.get("DestinationPrefix") if isinstance(r, dict) else r))
        methods = []
        for m in as_list(item.get("AuthenticationMethod")):
            methods.append(as_text(m))
        out.append(VpnConnection(
            name=as_text(item.get("Name")), server_address=as_text(item.get("ServerAddress")),
            all_user=all_user if all_user is not None
            else bool(as_bool(item.get("AllUserConnection"))),
            tunnel_type=tunnel_types.get(tunnel, as_text(tunnel)) if isinstance(tunnel, int)
            else as_text(tunnel),
            split_tunneling=as_bool(item.get("SplitTunneling")),
            connection_status=as_text(item.get("ConnectionStatus")),
            authentication_method=tuple(m for m in methods if m),
            routes=tuple(r for r in routes if r)))
    return out


def parse_hotfix_json(text: str) -> list[tuple[str, dt.date | None]]:
    """``Get-HotFix | Select HotFixID,Description,InstalledOn | ConvertTo-Json`` → (id, date)."""
    out = []
    for item in as_list(load_json(text)):
        out.append((as_text(item.get("HotFixID")), ps_date(item.get("InstalledOn"))))
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
    build = as_text(data.get("BuildNumber"))
    ubr = as_text(data.get("UBR"))
    return OsInfo(
        system="windows", name=as_text(data.get("Caption")).replace("Microsoft ", "", 1),
        version=as_text(data.get("Version")), build=f"{build}.{ubr}" if build and ubr else build,
        release=as_text(data.get("DisplayVersion")),
        workstation=as_int(data.get("ProductType")) in (None, 1),
        last_update=update_date, last_update_id=update_id, updates_seen=len(hotfixes),
        source=source)
