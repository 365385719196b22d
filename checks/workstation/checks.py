"""``workstation``: the machine accessready runs on — the engineer's support workstation.

* ``workstation.os`` reads the OS name, version and build and, on Windows, the date of the
  newest installed update (``Get-HotFix``). It proves the workstation is Windows 10/11 and
  was patched recently. It does not track each release's end of support: a release out of
  support stops receiving updates, so its update age grows past the limit and it warns.
  ``Get-HotFix`` lists cumulative and servicing-stack updates, not Defender signatures or
  Store apps; an update still pending a restart is not counted. On Linux and macOS the
  facts are reported and the check is skipped: it judges the engineer's Windows machine.
* ``workstation.no_admin`` reports whether accessready runs elevated (Administrator under
  UAC, or root). Nothing it does needs elevation; a normal user's run is also the run that
  sees what the engineer will see (per-user VPN connections, user routes).
* ``workstation.clients`` looks for the client software the offered access methods need
  (Cisco AnyConnect / Secure Client, Check Point Endpoint Security VPN, TeamViewer) among
  installed products and known install folders, and for its service or daemon running. It
  proves the software is there and started; not that it is licensed, current, or allowed
  through this machine's own firewall.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from accessready.agent.core.model import Requirement, Result, Status, Text, Vantage, t
from accessready.agent.core.profile_types import Profile
from accessready.agent.io.localsys import (
    CommandFailed,
    InstalledApp,
    LocalSystem,
    OsInfo,
    ServiceInfo,
)
from accessready.agent.plugin.checkapi import Check, CheckContext, Target

UPDATE_MAX_AGE_DAYS = 45
FIRST_WINDOWS_10_BUILD = 10240
FIRST_WINDOWS_11_BUILD = 22000


def windows_generation(info: OsInfo) -> str | None:
    """"10" or "11" for a Windows 10/11 build (by build number: the caption can lag)."""
    try:
        build = int(info.build.split(".", 1)[0])
    except ValueError:
        return None
    if not info.version.startswith("10.") or build < FIRST_WINDOWS_10_BUILD:
        return None
    return "11" if build >= FIRST_WINDOWS_11_BUILD else "10"


class WorkstationCheck(Check):
    """Base of the ``workstation.*`` checks: they look at the engineer's own machine, so
    they apply only from the engineer's vantage (not from an audit host, nor from the
    customer's admin's machine in a self-check)."""

    requirement = Requirement.WORKSTATION
    owner = "engineer"
    needs = ("local",)
    vantages = frozenset({Vantage.ENGINEER})
    looks_at = t("the engineer's workstation", "teknikerns arbetsstation")


class OsCheck(WorkstationCheck):
    """Windows 10/11, updated within the last 45 days."""

    id = "workstation.os"
    title = t("Operating system and updates", "Operativsystem och uppdateringar")
    description = t(
        f"The workstation runs Windows 10 or 11 and installed an update within the last "
        f"{UPDATE_MAX_AGE_DAYS} days.",
        f"Arbetsstationen kör Windows 10 eller 11 och har installerat en uppdatering under de "
        f"senaste {UPDATE_MAX_AGE_DAYS} dagarna.")
    remediation = {
        "stale": t(
            "Install the pending Windows updates (Settings > Windows Update > Check for "
            "updates) and restart. If none are offered, the release may be out of support: "
            "upgrade to a supported Windows 11 release.",
            "Installera väntande Windows-uppdateringar (Inställningar > Windows Update > Sök "
            "efter uppdateringar) och starta om. Erbjuds inga kan versionen sakna support: "
            "uppgradera till en Windows 11-version som stöds."),
        "unknown_update": t(
            "The date of the last update could not be read. Check Settings > Windows Update "
            "> Update history and make sure updates are current.",
            "Datumet för den senaste uppdateringen kunde inte läsas. Titta i Inställningar > "
            "Windows Update > Uppdateringshistorik och se till att uppdateringarna är "
            "aktuella."),
        "unsupported": t(
            "The supplier's engineers work from Windows 10 or 11 workstations. Use one for "
            "support work.",
            "Leverantörens tekniker arbetar från arbetsstationer med Windows 10 eller 11. "
            "Använd en sådan för supportarbetet."),
    }

    def run(self, ctx: CheckContext, target: Target) -> Result:
        local: LocalSystem = ctx.service("local")
        info = local.os_info(ctx.timeout(20.0))
        details: dict[str, Any] = info.to_json()
        shown = info.name if info.release in info.name else f"{info.name} {info.release}"
        if info.system != "windows":
            details["reason"] = "not_windows"
            return self.result(target, Status.SKIP, t(
                f"{shown} ({info.build}): not judged — this check is for the engineer's "
                "Windows workstation.",
                f"{shown} ({info.build}): bedöms inte — kontrollen gäller teknikerns "
                "Windows-arbetsstation."), details)
        generation = windows_generation(info)
        label = f"{shown} (build {info.build})"
        if generation is None or not info.workstation:
            why = "not a Windows 10/11 workstation"
            why_sv = "inte en arbetsstation med Windows 10/11"
            return self.result(target, Status.WARN, t(f"{label}: {why}.",
                                                     f"{label}: {why_sv}."),
                               details, "unsupported")
        if info.last_update is None:
            problem = f" ({info.error})" if info.error else ""
            return self.result(target, Status.WARN, t(
                f"{label}; the date of the last update could not be read{problem}.",
                f"{label}; datumet för den senaste uppdateringen kunde inte läsas{problem}."),
                details, "unknown_update")
        age = (ctx.now().date() - info.last_update).days
        details["update_age_days"] = age
        details["max_age_days"] = UPDATE_MAX_AGE_DAYS
        last = f"{info.last_update_id or 'an update'} on {info.last_update}"
        last_sv = f"{info.last_update_id or 'en uppdatering'} den {info.last_update}"
        if age > UPDATE_MAX_AGE_DAYS:
            return self.result(target, Status.WARN, t(
                f"{label}; the last update ({last}) is {age} days old.",
                f"{label}; den senaste uppdateringen ({last_sv}) är {age} dagar gammal."),
                details, "stale")
        return self.result(target, Status.PASS, t(
            f"{label}; last update {last} ({age} days ago).",
            f"{label}; senaste uppdatering {last_sv} (för {age} dagar sedan)."), details)


class NoAdminCheck(WorkstationCheck):
    """Reports whether accessready runs elevated; nothing it does needs elevation."""

    id = "workstation.no_admin"
    title = t("Runs without admin rights", "Körs utan administratörsrättigheter")
    description = t(
        "accessready needs no local admin rights; this reports whether it ran elevated.",
        "accessready behöver inga lokala administratörsrättigheter; kontrollen visar om det "
        "kördes med förhöjd behörighet.")
    remediation = {
        "elevated": t(
            "Run accessready as the engineer's normal user, not 'as administrator' or as "
            "root: nothing it does needs elevation, and a normal run sees what the engineer "
            "will see (per-user VPN connections, user routes).",
            "Kör accessready som teknikerns vanliga användare, inte 'som administratör' eller "
            "som root: inget av det som görs kräver förhöjd behörighet, och en vanlig körning "
            "ser det teknikern kommer att se (VPN-anslutningar per användare, "
            "användarrutter)."),
    }

    def run(self, ctx: CheckContext, target: Target) -> Result:
        local: LocalSystem = ctx.service("local")
        elevated = local.is_elevated()
        details = {"elevated": elevated, "system": local.system}
        if elevated is None:
            return self.result(target, Status.PASS, t(
                "Elevation could not be determined; accessready needs none.",
                "Förhöjd behörighet kunde inte avgöras; accessready behöver ingen."), details)
        if elevated:
            who = "as Administrator (elevated)" if local.system == "windows" else "as root"
            who_sv = ("som administratör (förhöjd)" if local.system == "windows"
                      else "som root")
            return self.result(target, Status.WARN, t(
                f"accessready runs {who}; it needs no admin rights.",
                f"accessready körs {who_sv}; det behöver inga administratörsrättigheter."),
                details, "elevated")
        return self.result(target, Status.PASS, t(
            "accessready runs without admin rights, as the engineer will.",
            "accessready körs utan administratörsrättigheter, som teknikern kommer att göra."),
            details)


@dataclass(frozen=True)
class ClientSpec:
    """Where a method's client software shows itself, per operating system.

    Names marked as inferred in the reference (H.2, F.3, G.3) are matched loosely
    (case-insensitive patterns), so a renamed product still matches.
    """

    method: str
    product: str
    apps: str  # regex over installed product names (Uninstall DisplayName, package, .app)
    paths: dict[str, tuple[str, ...]] = field(default_factory=dict)
    programs: tuple[str, ...] = ()  # compatible clients found on PATH (no service)
    services: dict[str, tuple[str, ...]] = field(default_factory=dict)
    processes: tuple[str, ...] = ()


CLIENTS: dict[str, ClientSpec] = {
    "anyconnect": ClientSpec(
        "anyconnect", "Cisco AnyConnect / Secure Client",
        r"cisco anyconnect|cisco secure client",
        paths={"windows": (r"%ProgramFiles(x86)%\Cisco\Cisco AnyConnect Secure Mobility "
                           r"Client\vpncli.exe",
                           r"%ProgramFiles(x86)%\Cisco\Cisco Secure Client\vpncli.exe"),
               "linux": ("/opt/cisco/anyconnect/bin/vpn", "/opt/cisco/secureclient/bin/vpn"),
               "macos": ("/opt/cisco/anyconnect/bin/vpn", "/opt/cisco/secureclient/bin/vpn",
                         "/Applications/Cisco/Cisco Secure Client.app",
                         "/Applications/Cisco/Cisco AnyConnect Secure Mobility Client.app")},
        programs=("openconnect",),
        services={"windows": ("vpnagent", "csc_vpnagent"), "linux": ("vpnagentd",),
                  "macos": ("com.cisco.anyconnect.vpnagentd",
                            "com.cisco.secureclient.vpnagentd")},
        processes=("vpnagent.exe", "vpnagentd", "csc_vpnagent.exe")),
    "checkpoint": ClientSpec(
        "checkpoint", "Check Point Endpoint Security VPN",
        r"check ?point.*(endpoint|vpn)|endpoint security vpn|^snx",
        paths={"windows": (r"%ProgramFiles(x86)%\CheckPoint\Endpoint Connect\trac.exe",),
               "linux": ("/usr/bin/snx", "/usr/bin/snx-rs", "/opt/snx-rs/snx-rs"),
               "macos": ("/Applications/Endpoint Security VPN.app",)},
        programs=("snx", "snx-rs"),
        services={"windows": ("TracSrvWrapper", "EPWD"), "linux": ("snx-rs",),
                  "macos": ("com.checkpoint.epc.service",)},
        processes=("TracSrvWrapper.exe", "trac.exe", "snx", "snx-rs")),
    "teamviewer": ClientSpec(
        "teamviewer", "TeamViewer",
        r"^teamviewer",
        paths={"windows": (r"%ProgramFiles%\TeamViewer\TeamViewer.exe",
                           r"%ProgramFiles(x86)%\TeamViewer\TeamViewer.exe"),
               "linux": ("/opt/teamviewer/tv_bin/TeamViewer", "/usr/bin/teamviewer"),
               "macos": ("/Applications/TeamViewer.app",)},
        services={"windows": ("TeamViewer",), "linux": ("teamviewerd",),
                  "macos": ("com.teamviewer.service", "com.teamviewer.teamviewer_service")},
        processes=("TeamViewer_Service.exe", "TeamViewer.exe", "teamviewerd",
                   "TeamViewer_Service")),
}


@dataclass(frozen=True)
class ClientFinding:
    """What was found of one client: installed where, running how."""

    installed: tuple[str, ...]
    compatible: tuple[str, ...]
    services: tuple[ServiceInfo, ...]
    processes: tuple[str, ...]
    service_error: str = ""

    @property
    def running(self) -> bool:
        """A service of the client runs, or one of its processes does."""
        return any(s.running for s in self.services) or bool(self.processes)

    def to_json(self) -> dict[str, Any]:
        """Evidence form."""
        out: dict[str, Any] = {
            "installed": list(self.installed), "compatible_clients": list(self.compatible),
            "services": [{"name": s.name, "display_name": s.display_name, "state": s.state}
                         for s in self.services],
            "processes": list(self.processes)}
        if self.service_error:
            out["service_error"] = self.service_error
        return out


def find_client(spec: ClientSpec, system: str, installed: list[InstalledApp],
                paths: list[str], programs: dict[str, str | None],
                services: list[ServiceInfo], processes: list[str],
                service_error: str = "") -> ClientFinding:
    """Match a client spec against the collected facts (pure)."""
    pattern = re.compile(spec.apps, re.I)
    found = [f"{a.name} {a.version}".strip() for a in installed if pattern.search(a.name)]
    found += paths
    wanted = {s.casefold() for s in spec.services.get(system, ())}
    svc = tuple(s for s in services if s.name.casefold() in wanted)
    procs = {p.casefold() for p in spec.processes}
    running = tuple(sorted({p for p in processes if p.casefold() in procs}))
    compatible = tuple(f"{name} ({path})" for name, path in programs.items() if path)
    return ClientFinding(tuple(dict.fromkeys(found)), compatible, svc, running, service_error)


class ClientsCheck(WorkstationCheck):
    """The client software each offered method needs is installed and running."""

    id = "workstation.clients"
    title = t("Access client software", "Klientprogram för åtkomst")
    description = t(
        "Cisco AnyConnect, Check Point Endpoint Security VPN and TeamViewer are installed "
        "and their service runs, as the offered access methods need.",
        "Cisco AnyConnect, Check Point Endpoint Security VPN och TeamViewer är installerade "
        "och deras tjänst körs, efter vad de erbjudna åtkomstmetoderna kräver.")
    remediation = {
        "missing": t(
            "Install the client the customer's access method needs (Cisco Secure Client / "
            "AnyConnect, Check Point Endpoint Security VPN, or TeamViewer) from the "
            "supplier's software portal, or ask the supplier's IT to deploy it.",
            "Installera den klient som kundens åtkomstmetod kräver (Cisco Secure Client / "
            "AnyConnect, Check Point Endpoint Security VPN eller TeamViewer) från "
            "leverantörens programportal, eller be leverantörens IT att distribuera den."),
        "stopped": t(
            "Start the client's service (Windows: services.msc, e.g. 'Cisco Secure Client - "
            "AnyConnect VPN Agent', 'Check Point Endpoint Security VPN', 'TeamViewer'; set "
            "it to start automatically), or reinstall the client if it will not start.",
            "Starta klientens tjänst (Windows: services.msc, t.ex. 'Cisco Secure Client - "
            "AnyConnect VPN Agent', 'Check Point Endpoint Security VPN', 'TeamViewer'; ställ "
            "in automatisk start), eller installera om klienten om den inte startar."),
    }

    def applies(self, profile: Profile) -> Text | None:
        if not any(m in CLIENTS for m in profile.access.methods):
            return t("No offered access method needs client software here.",
                     "Ingen erbjuden åtkomstmetod kräver klientprogram här.")
        return None

    def targets(self, profile: Profile) -> list[Target]:
        return [Target(m, CLIENTS[m]) for m in profile.access.methods if m in CLIENTS]

    def run(self, ctx: CheckContext, target: Target) -> Result:
        local: LocalSystem = ctx.service("local")
        spec: ClientSpec = target.data
        system = local.system
        try:
            installed = local.installed_software(ctx.timeout(15.0))
        except (CommandFailed, OSError):
            installed = []
        paths = local.existing_paths(spec.paths.get(system, ()))
        programs = {p: local.which(p) for p in spec.programs}
        service_error = ""
        try:
            services = local.services(ctx.timeout(10.0))
        except (CommandFailed, OSError) as exc:
            services, service_error = [], str(exc)
        found = find_client(spec, system, installed, paths, programs, services,
                            local.processes(), service_error)
        details = {"product": spec.product, "system": system, **found.to_json()}
        product = spec.product
        if not found.installed and not found.compatible:
            return self.result(target, Status.WARN, t(
                f"{product} is not installed.", f"{product} är inte installerat."),
                details, "missing")
        if not found.installed:
            names = ", ".join(found.compatible)
            return self.result(target, Status.PASS, t(
                f"{product} is not installed; the compatible client {names} is.",
                f"{product} är inte installerat; den kompatibla klienten {names} är det."),
                details)
        where = found.installed[0]
        if found.running:
            how = ", ".join([s.name for s in found.services if s.running]
                            + list(found.processes))
            return self.result(target, Status.PASS, t(
                f"{product} is installed ({where}) and running ({how}).",
                f"{product} är installerat ({where}) och körs ({how})."), details)
        return self.result(target, Status.WARN, t(
            f"{product} is installed ({where}) but its service is not running.",
            f"{product} är installerat ({where}) men dess tjänst körs inte."),
            details, "stopped")


CHECKS = [OsCheck, NoAdminCheck, ClientsCheck]
