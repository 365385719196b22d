"""The Windows collector: fixed PowerShell scripts (NetTCPIP and VpnClient cmdlets, CIM,
Get-HotFix), the registry and psutil; the outputs go to :mod:`.windows`'s pure parsers.

PowerShell runs through :class:`~.runner.LocalShell` and
:func:`~accessready.agent.io.transports.base.powershell_json`, the one way accessready runs a
script and reads its JSON, here or on a server.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import ntpath
import os
import platform
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from accessready.agent.core import powershell
from accessready.agent.core.powershell import as_list
from accessready.agent.io.localsys.collect import BaseLocalSystem
from accessready.agent.io.localsys.facts import (
    Adapter,
    CommandFailed,
    CommandResult,
    InstalledApp,
    OsInfo,
    RouteLookup,
    RouteTable,
    ServiceInfo,
    VpnConnection,
)
from accessready.agent.io.localsys.runner import LocalShell, run_command
from accessready.agent.io.localsys.windows import (
    merge_windows_adapters,
    parse_find_netroute_json,
    parse_netadapter_json,
    parse_netipinterface_json,
    parse_netroute_json,
    parse_route_print,
    parse_vpn_connections_json,
    parse_windows_os_json,
    routes_source,
)
from accessready.agent.io.transports.base import TransportError, powershell_json

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
        self.shell = LocalShell(runner, self.powershell)

    def run_powershell_json(self, body: str, timeout: float,
                            params: Mapping[str, str] | None = None) -> Any:
        """Run a fixed script (values only as ``params``) and parse its JSON output, the
        way every transport does (:func:`powershell_json`); any failure is
        :class:`CommandFailed`."""
        try:
            return powershell_json(self.shell, body, timeout, params)
        except TransportError as exc:
            raise CommandFailed(str(exc)) from None

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
                items = as_list(self.run_powershell_json(WINDOWS_ROUTES_PS, timeout))
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
        return parse_find_netroute_json(json.dumps(as_list(data)), address, command)

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
            return parse_vpn_connections_json(json.dumps(as_list(data)))
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
