"""Local system facts: what this workstation's operating system says about itself.

One interface, :class:`LocalSystem`, with one real implementation per platform (Windows,
Linux, macOS), chosen at runtime by :func:`local_system`. Checks get it as
``ctx.service("local")``; tests hand them a fake.

One job per module, in two layers kept apart on purpose:

* :mod:`.facts`: the typed facts (``Adapter``, ``Route``, ``OsInfo`` …) and the interface;
* **pure parsers**, :mod:`.linux`, :mod:`.macos`, :mod:`.windows` (``parse_*``): recorded
  text or JSON in, typed facts out, with their shared helpers in :mod:`.values`. They never
  run anything, so the outputs recorded on real Windows machines (``Get-NetRoute``,
  ``Get-VpnConnection``, ``route print`` …) are exercised in tests through the very code
  that reads them in the field;
* **collectors**, :mod:`.collect` and :mod:`.collect_windows` (the ``*LocalSystem``
  classes): run one local program with an argv list and a timeout (never a shell), or ask
  psutil, and hand the output to a parser.

Programs run with a hard timeout and a cap on captured output (:func:`run_command`, in
:mod:`.runner`); on a timeout the whole process tree is killed, not just the program we
started. PowerShell scripts are fixed strings; the few values they need are prepended as
single-quoted PowerShell literals and the whole script travels as ``-EncodedCommand``
(:mod:`accessready.agent.core.powershell`), and its JSON is read by the transports' own
:func:`~accessready.agent.io.transports.base.powershell_json` (:class:`.runner.LocalShell`).

This module re-exports the public names, so callers import from
``accessready.agent.io.localsys``.
"""

from __future__ import annotations

import platform

from accessready.agent.io.localsys.collect import (
    BaseLocalSystem,
    LinuxLocalSystem,
    MacLocalSystem,
)
from accessready.agent.io.localsys.collect_windows import (
    WINDOWS_ADAPTERS_PS,
    WINDOWS_FIND_ROUTE_PS,
    WINDOWS_OS_PS,
    WINDOWS_ROUTES_PS,
    WINDOWS_VPN_PS,
    WindowsLocalSystem,
)
from accessready.agent.io.localsys.facts import (
    Adapter,
    CommandFailed,
    CommandResult,
    Egress,
    InstalledApp,
    LocalSystem,
    NotSupported,
    OsInfo,
    Route,
    RouteLookup,
    RouteTable,
    ServiceInfo,
    VpnConnection,
)
from accessready.agent.io.localsys.linux import (
    parse_dpkg_query,
    parse_ip_addr_json,
    parse_ip_route_get_json,
    parse_ip_route_json,
    parse_os_release,
    parse_systemctl_units,
)
from accessready.agent.io.localsys.macos import (
    parse_launchctl_list,
    parse_macos_ifconfig,
    parse_macos_route_get,
    parse_netstat_rn,
    parse_sw_vers,
)
from accessready.agent.io.localsys.runner import (
    MAX_OUTPUT_BYTES,
    LocalShell,
    kill_tree,
    run_command,
)
from accessready.agent.io.localsys.values import (
    interfaces_with_address,
    load_json,
    strip_scope,
)
from accessready.agent.io.localsys.windows import (
    latest_update,
    merge_windows_adapters,
    parse_find_netroute_json,
    parse_hotfix_json,
    parse_netadapter_json,
    parse_netipinterface_json,
    parse_netroute_json,
    parse_route_print,
    parse_vpn_connections_json,
    parse_windows_os_json,
    routes_source,
)


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


__all__ = [
    "MAX_OUTPUT_BYTES", "WINDOWS_ADAPTERS_PS", "WINDOWS_FIND_ROUTE_PS", "WINDOWS_OS_PS",
    "WINDOWS_ROUTES_PS", "WINDOWS_VPN_PS", "Adapter", "BaseLocalSystem", "CommandFailed",
    "CommandResult", "Egress", "InstalledApp", "LinuxLocalSystem", "LocalShell",
    "LocalSystem", "MacLocalSystem", "NotSupported", "OsInfo", "Route", "RouteLookup",
    "RouteTable", "ServiceInfo", "VpnConnection", "WindowsLocalSystem",
    "interfaces_with_address", "kill_tree", "latest_update", "load_json",
    "local_system", "merge_windows_adapters", "parse_dpkg_query", "parse_find_netroute_json",
    "parse_hotfix_json", "parse_ip_addr_json", "parse_ip_route_get_json",
    "parse_ip_route_json", "parse_launchctl_list", "parse_macos_ifconfig",
    "parse_macos_route_get", "parse_netadapter_json", "parse_netipinterface_json",
    "parse_netroute_json", "parse_netstat_rn", "parse_os_release",
    "parse_route_print", "parse_sw_vers", "parse_systemctl_units",
    "parse_vpn_connections_json", "parse_windows_os_json", "routes_source", "run_command",
    "strip_scope",
]
