"""A fake ``local`` service for workstation and split-tunnel tests, fed by recorded fixtures.

Network facts (adapters, routes) come from parsed fixture files; egress is answered from
those routes by longest-prefix match (:func:`accessready.checks.common.tunnel.lookup_route`), the
same way a kernel picks a route, unless a test pins an answer.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from accessready.agent.io import localsys
from accessready.agent.io.localsys import (
    Adapter,
    CommandFailed,
    CommandResult,
    Egress,
    InstalledApp,
    NotSupported,
    OsInfo,
    Route,
    RouteLookup,
    RouteTable,
    ServiceInfo,
    VpnConnection,
)
from accessready.checks.common.tunnel import lookup_route

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def fixture(*parts: str) -> str:
    """A fixture file's text (CRLF kept, as Windows wrote it)."""
    return (FIXTURES.joinpath(*parts)).read_bytes().decode("utf-8")


@dataclass
class FakeLocal:
    """Every :class:`LocalSystem` method, answered from fields."""

    system: str = "linux"
    adapter_list: list[Adapter] = field(default_factory=list)
    route_list: list[Route] = field(default_factory=list)
    route_command: str = "fixture"
    egress_override: dict[str, Egress] = field(default_factory=dict)
    os: OsInfo | None = None
    elevated: bool | None = False
    connections: list[VpnConnection] | Exception = field(default_factory=list)
    service_list: list[ServiceInfo] | Exception = field(default_factory=list)
    process_list: list[str] = field(default_factory=list)
    installed: list[InstalledApp] = field(default_factory=list)
    on_path: dict[str, str] = field(default_factory=dict)
    paths: set[str] = field(default_factory=set)
    calls: list[str] = field(default_factory=list)

    def _source(self, interface: str) -> str | None:
        for a in self.adapter_list:
            if a.name == interface:
                return next((x for x in a.addresses if ":" not in x), None)
        return None

    def egress(self, destination: str) -> Egress:
        self.calls.append(f"egress {destination}")
        if destination in self.egress_override:
            return self.egress_override[destination]
        route = lookup_route(self.route_list, destination)
        if route is None:
            return Egress(destination, error="no route: Network is unreachable")
        return Egress(destination, self._source(route.interface), route.interface,
                      (route.interface,))

    def route_to(self, destination: str, timeout: float) -> RouteLookup:
        assert timeout > 0
        route = lookup_route(self.route_list, destination)
        if route is None:
            return RouteLookup(destination, "fake route get", error="unreachable")
        return RouteLookup(destination, "fake route get", route.interface,
                           self._source(route.interface), route.gateway, route.destination)

    def adapters(self, timeout: float) -> list[Adapter]:
        assert timeout > 0
        return list(self.adapter_list)

    def routes(self, timeout: float) -> RouteTable:
        assert timeout > 0
        return RouteTable(self.route_command, tuple(self.route_list))

    def os_info(self, timeout: float) -> OsInfo:
        assert timeout > 0
        return self.os or OsInfo("linux", "Debian GNU/Linux 12 (bookworm)", "12 (bookworm)",
                                 "6.1.0-21-amd64", "12")

    def is_elevated(self) -> bool | None:
        return self.elevated

    def vpn_connections(self, timeout: float) -> list[VpnConnection]:
        assert timeout > 0
        if self.system != "windows":
            raise NotSupported("Windows only")
        if isinstance(self.connections, Exception):
            raise self.connections
        return list(self.connections)

    def services(self, timeout: float) -> list[ServiceInfo]:
        assert timeout > 0
        if isinstance(self.service_list, Exception):
            raise self.service_list
        return list(self.service_list)

    def processes(self) -> list[str]:
        return list(self.process_list)

    def installed_software(self, timeout: float) -> list[InstalledApp]:
        assert timeout > 0
        return list(self.installed)

    def which(self, program: str) -> str | None:
        return self.on_path.get(program)

    def existing_paths(self, candidates: Iterable[str]) -> list[str]:
        return [c for c in candidates if c in self.paths]


def linux_local(state: str) -> FakeLocal:
    """The lab client as recorded: ``split``, ``full`` or ``disconnected``."""
    addr_file = {"split": "ip-addr-split.json", "full": "ip-addr-full.json",
                 "disconnected": "ip-addr-split.json"}[state]
    adapters = localsys.parse_ip_addr_json(fixture("linux", addr_file))
    if state == "disconnected":
        adapters = [a for a in adapters if not a.name.startswith("vpn-")]
    routes = localsys.parse_ip_route_json(fixture("linux", f"ip-route-{state}.json"))
    return FakeLocal("linux", adapters, routes, "ip -j route show (recorded)")


def windows_local(state: str = "split", **kw: object) -> FakeLocal:
    """The Windows laptop of the fixtures: AnyConnect ``split`` or ``full``."""
    adapters = localsys.merge_windows_adapters(
        localsys.parse_netadapter_json(fixture("windows", "get-netadapter.json")),
        localsys.parse_netipinterface_json(fixture("windows", "get-netipinterface.json")),
        {"Wi-Fi": ["192.168.1.34", "fe80::5d2c:1e0b:7a3f:9c41"],
         "Ethernet 2": ["198.51.100.130"], "Exempel VPN": ["10.99.0.7"]})
    routes = localsys.parse_netroute_json(fixture("windows", f"get-netroute-{state}.json"))
    return FakeLocal("windows", adapters, routes, "Get-NetRoute (recorded)", **kw)  # type: ignore[arg-type]


class ScriptedRunner:
    """A ``runner`` for the real ``*LocalSystem`` classes: answers argv from fixtures.

    PowerShell scripts are recognised by a marker in the decoded ``-EncodedCommand``.
    """

    def __init__(self, answers: Sequence[tuple[str, str | CommandResult]]) -> None:
        self.answers = list(answers)
        self.seen: list[list[str]] = []
        self.scripts: list[str] = []

    def __call__(self, argv: Sequence[str], timeout: float) -> CommandResult:
        assert timeout > 0
        argv = list(argv)
        self.seen.append(argv)
        text = " ".join(argv)
        if "-EncodedCommand" in argv:
            text = base64.b64decode(argv[argv.index("-EncodedCommand") + 1]).decode("utf-16-le")
            self.scripts.append(text)
        for marker, answer in self.answers:
            if marker in text:
                if isinstance(answer, CommandResult):
                    return answer
                return CommandResult(text[:40], 0, answer, "", 0.01)
        return CommandResult(text[:40], 1, "", f"no fixture for {text[:80]}", 0.01)


def failed(message: str = "The term 'Get-NetRoute' is not recognized") -> CommandResult:
    """A command that ran and failed."""
    return CommandResult("x", 1, "", message, 0.01)


def json_text(data: object) -> str:
    """Compact JSON, as ``-Compress`` writes it."""
    return json.dumps(data, separators=(",", ":"))


__all__ = ["CommandFailed", "FakeLocal", "ScriptedRunner", "failed", "fixture", "json_text",
           "linux_local", "windows_local"]
