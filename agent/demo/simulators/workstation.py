"""A simulated engineer's workstation with a split-tunnel AnyConnect session, for the demo.

The demo runs on machines without a VPN. To show what ``anyconnect.split_tunnel`` proves,
this local-system service answers the *network* questions (adapters, routes, which adapter
an address leaves through) from a fixed, clearly labelled table: a Wi-Fi adapter with the
default route and a Cisco AnyConnect virtual adapter that carries only the customer's
internal network. Egress is computed from that table by longest-prefix match, the way a
kernel picks a route, and the real split-tunnel decision code runs on it. Everything else
(OS, elevation, services, installed software) comes from the real machine.

Every adapter description and the route table's name say "simulated", and the check's
evidence carries ``"simulated": true``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from accessready.agent.demo.part import DemoPart
from accessready.agent.io.localsys import (
    Adapter,
    Egress,
    InstalledApp,
    LocalSystem,
    OsInfo,
    Route,
    RouteLookup,
    RouteTable,
    ServiceInfo,
    VpnConnection,
    local_system,
)
from accessready.checks.common.tunnel import lookup_route

WIFI = "Wi-Fi"
VPN = "Ethernet 2"
LAN_ADDRESS = "198.51.100.23"
LAN_GATEWAY = "198.51.100.1"
VPN_ADDRESS = "198.51.100.130"


class SimulatedVpnWorkstation:
    """A :class:`LocalSystem` whose network facts are a simulated AnyConnect split tunnel."""

    simulated = True
    simulated_note = ("Demo: adapters and routes are a simulated AnyConnect split-tunnel "
                      "session, not this machine's; the split-tunnel decision is the real "
                      "code, run on them.")

    def __init__(self, real: LocalSystem, internal: Iterable[str] = ("192.0.2.0/24",)
                 ) -> None:
        self.real = real
        self.system = real.system
        self._adapters = [
            Adapter("Loopback Pseudo-Interface 1", "Software Loopback Interface 1 (simulated)",
                    ("127.0.0.1", "::1"), True, "loopback", 1),
            Adapter(WIFI, "Intel(R) Wi-Fi 6 AX201 160MHz (simulated)", (LAN_ADDRESS,), True,
                    "wireless", 12),
            Adapter(VPN, "Cisco AnyConnect Secure Mobility Client Virtual Miniport Adapter "
                    "for Windows x64 (simulated)", (VPN_ADDRESS,), True, "ethernet", 18),
        ]
        self._routes = [
            Route("0.0.0.0/0", WIFI, LAN_GATEWAY, 35),
            Route("198.51.100.0/25", WIFI, None, 291),
            Route(f"{VPN_ADDRESS}/32", VPN, None, 257),
            *(Route(str(ipaddress.ip_network(n, strict=False)), VPN, None, 2)
              for n in internal),
            Route("127.0.0.0/8", "Loopback Pseudo-Interface 1", None, 331),
        ]

    # -- simulated network facts ---------------------------------------------------------

    def _pick(self, destination: str) -> tuple[Route | None, str | None]:
        route = lookup_route(self._routes, destination)
        if route is None:
            return None, None
        adapter = next(a for a in self._adapters if a.name == route.interface)
        return route, adapter.addresses[0]

    def egress(self, destination: str) -> Egress:
        """Longest-prefix match over the simulated table (what the kernel would do)."""
        route, source = self._pick(destination)
        if route is None:
            return Egress(destination, error="no route", method="simulated route table")
        return Egress(destination, source, route.interface, (route.interface,),
                      method="simulated route table")

    def route_to(self, destination: str, timeout: float) -> RouteLookup:
        """The simulated table's answer."""
        route, source = self._pick(destination)
        if route is None:
            return RouteLookup(destination, "simulated route lookup", error="no route")
        return RouteLookup(destination, "simulated route lookup", route.interface, source,
                           route.gateway, route.destination)

    def adapters(self, timeout: float) -> list[Adapter]:
        """Loopback, Wi-Fi and the AnyConnect virtual adapter (all simulated)."""
        return list(self._adapters)

    def routes(self, timeout: float) -> RouteTable:
        """Default route via Wi-Fi; the internal network via AnyConnect."""
        return RouteTable("simulated route table (demo)", tuple(self._routes))

    # -- the real machine ----------------------------------------------------------------

    def os_info(self, timeout: float) -> OsInfo:
        """This machine's OS."""
        return self.real.os_info(timeout)

    def is_elevated(self) -> bool | None:
        """This machine's elevation."""
        return self.real.is_elevated()

    def vpn_connections(self, timeout: float) -> list[VpnConnection]:
        """This machine's Windows VPN connections."""
        return self.real.vpn_connections(timeout)

    def services(self, timeout: float) -> list[ServiceInfo]:
        """This machine's services."""
        return self.real.services(timeout)

    def processes(self) -> list[str]:
        """This machine's processes."""
        return self.real.processes()

    def installed_software(self, timeout: float) -> list[InstalledApp]:
        """This machine's installed software."""
        return self.real.installed_software(timeout)

    def which(self, program: str) -> str | None:
        """On this machine's PATH."""
        return self.real.which(program)

    def existing_paths(self, candidates: Iterable[str]) -> list[str]:
        """On this machine."""
        return self.real.existing_paths(candidates)


def split_tunnel_part(workdir: Path) -> DemoPart:
    """Demo part: AnyConnect is offered and the workstation is (simulated) connected, split."""
    services: dict[str, Any] = {"local": SimulatedVpnWorkstation(local_system())}
    # the AnyConnect gateway family writes [access.anyconnect] when its demo part runs; this
    # loopback stand-in is used only if no part did (the table may appear only once)
    fallback = '\n[access.anyconnect]\ngateway = "127.0.0.1"\ngroup = "Leverantorer"\n'
    return DemoPart(methods=["anyconnect"], services=services, fallback_toml=fallback)
