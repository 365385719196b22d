"""The facts a workstation's operating system reports, as typed values, and the
:class:`LocalSystem` interface that collects them.

Nothing here runs or parses anything: the parsers (:mod:`.linux`, :mod:`.macos`,
:mod:`.windows`) build these values from recorded outputs, the collectors (:mod:`.collect`,
:mod:`.collect_windows`) from live ones, and checks read them.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable


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
