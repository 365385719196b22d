"""The collectors: :class:`BaseLocalSystem` (what every platform shares) and the Linux and
macOS implementations. Each runs one local program (:func:`.runner.run_command`) or asks
psutil, and hands the output to its platform's pure parser.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import os
import platform
import shutil
import socket
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from accessready.agent.io.localsys.facts import (
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
from accessready.agent.io.localsys.linux import (
    parse_dpkg_query,
    parse_ip_addr_json,
    parse_ip_route_get_json,
    parse_ip_route_json,
    parse_systemctl_units,
)
from accessready.agent.io.localsys.macos import (
    parse_launchctl_list,
    parse_macos_ifconfig,
    parse_macos_route_get,
    parse_netstat_rn,
    parse_sw_vers,
)
from accessready.agent.io.localsys.runner import run_command
from accessready.agent.io.localsys.values import interfaces_with_address, strip_scope

T = TypeVar("T")


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

    @functools.cached_property
    def ip(self) -> str:
        """The ``ip`` program: looked for on first use (an audit makes one of these per
        profile, and most never run a local command)."""
        return shutil.which("ip") or next(
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
