"""TeamViewer Host facts: is it installed, is its service running, what is its ID?

Two layers, as in :mod:`accessready.agent.io.localsys`:

* **pure parsers** — ``teamviewer --info`` output (with its ANSI colour codes), Linux
  ``global.conf``, a ``reg export`` of ``HKLM\\SOFTWARE\\TeamViewer``, a macOS preferences
  plist, and the JSON of :data:`WINDOWS_TEAMVIEWER_PS` — each turned into plain values
  and finally into one :class:`TeamViewerFacts` by :func:`facts_from_windows` /
  :func:`facts_from_linux` / :func:`facts_from_macos`. Tests feed them recorded fixtures.
* **collectors** — :class:`LocalTeamViewerSource` (this machine: winreg + psutil on
  Windows; the local-system service's services/processes plus ``teamviewer --info`` and
  ``global.conf`` on Linux; the plist on macOS) and :func:`remote_windows_facts` (a named
  server over a WinRM :class:`~accessready.agent.io.transports.base.Transport`).

Where the facts come from (reference section H.2): registry ``HKLM\\SOFTWARE\\TeamViewer``
(or ``WOW6432Node`` for a 32-bit build), DWORD ``ClientID`` (older versions: subkey
``Version<N>``); service ``TeamViewer`` with process ``TeamViewer_Service.exe``; Linux
``teamviewerd.service`` and ``teamviewer --info`` printing ``TeamViewer ID:`` (GLPI agent's
regex allows ``\\033[0m`` after the colon); macOS
``/Library/Preferences/com.teamviewer.teamviewer*.plist`` key ``ClientID``. [INF] The Linux
``global.conf`` line ``[int32] ClientID = <n>`` and the Windows service name ``TeamViewer``
(not versioned) are unverified; the parsers accept the variants.
"""

from __future__ import annotations

import contextlib
import plistlib
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from accessready.agent.core import powershell
from accessready.agent.core.powershell import as_list
from accessready.agent.io.localsys import local_system
from accessready.agent.io.transports.base import powershell_json

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
_INFO_ID = re.compile(r"TeamViewer ID:\s*([0-9][0-9 ]{5,14}[0-9])")
_INFO_VERSION = re.compile(r"^\s*TeamViewer\s+v?(\d+\.\d+(?:\.\d+)*)\s*$", re.M)
_CONF_ID = re.compile(r"^\s*\[int32\]\s*ClientID\s*=\s*(\d+)\s*$", re.M)
_REG_KEY = re.compile(r"^\[(.+)\]\s*$")
_REG_VALUE = re.compile(r'^"([^"]+)"\s*=\s*(.+)$')

SERVICE_PROCESSES = ("TeamViewer_Service.exe", "TeamViewer_Service", "teamviewerd")
MAX_EVIDENCE = 2000


@dataclass(frozen=True)
class TeamViewerFacts:
    """What a machine says about its TeamViewer installation.

    ``service_state``: ``running``, ``stopped``, ``missing`` (no such service) or
    ``unknown`` (could not ask). ``client_id`` is digits only.
    """

    platform: str
    installed: bool
    install_evidence: tuple[str, ...] = ()
    version: str | None = None
    service: str | None = None
    service_state: str = "unknown"
    processes: tuple[str, ...] = ()
    client_id: str | None = None
    id_source: str | None = None
    notes: tuple[str, ...] = ()
    commands: tuple[dict[str, Any], ...] = ()
    host: str | None = None

    @property
    def running(self) -> bool:
        """The service runs, or (when the service manager could not say) its process does."""
        if self.service_state == "running":
            return True
        return self.service_state == "unknown" and any(
            p.lower() in {s.lower() for s in SERVICE_PROCESSES} for p in self.processes)

    def to_json(self) -> dict[str, Any]:
        """Evidence for a result's details."""
        return {"platform": self.platform, "host": self.host, "installed": self.installed,
                "install_evidence": list(self.install_evidence), "version": self.version,
                "service": self.service, "service_state": self.service_state,
                "processes": list(self.processes), "client_id": self.client_id,
                "id_source": self.id_source, "notes": list(self.notes),
                "commands": list(self.commands)}


class TeamViewerSource(Protocol):
    """Anything that can tell the TeamViewer facts of one machine within ``timeout``."""

    def teamviewer_facts(self, timeout: float) -> TeamViewerFacts:
        """Collect the facts; never raises for an ordinary absence (not installed …)."""
        ...


# --- pure parsers -----------------------------------------------------------------------

def strip_ansi(text: str) -> str:
    """``text`` without terminal colour/cursor escape sequences."""
    return _ANSI.sub("", text)


def normalize_id(value: Any) -> str | None:
    """A TeamViewer ID as digits only (``"1 234 567 890"`` → ``"1234567890"``), or None."""
    if value is None or isinstance(value, bool):
        return None
    digits = re.sub(r"\D", "", str(value))
    return digits if 6 <= len(digits) <= 12 and int(digits) > 0 else None


def format_id(digits: str | None) -> str:
    """Digits grouped as TeamViewer shows them: ``1 234 567 890``."""
    if not digits:
        return "-"
    head = len(digits) % 3
    groups = ([digits[:head]] if head else []) + [digits[i:i + 3]
                                                  for i in range(head, len(digits), 3)]
    return " ".join(groups)


@dataclass(frozen=True)
class InfoOutput:
    """What ``teamviewer --info`` says."""

    client_id: str | None
    version: str | None
    daemon_active: bool | None


def parse_teamviewer_info(text: str) -> InfoOutput:
    """Parse ``teamviewer --info`` (Linux), ANSI codes and all."""
    clean = strip_ansi(text)
    match = _INFO_ID.search(clean)
    version = _INFO_VERSION.search(clean)
    active = re.search(r"Active:\s*(\w+)(?:\s*\((\w+)\))?", clean)
    daemon: bool | None = None
    if active:
        daemon = active.group(1) == "active" and active.group(2) in (None, "running")
    return InfoOutput(normalize_id(match.group(1)) if match else None,
                      version.group(1) if version else None, daemon)


def parse_global_conf(text: str) -> str | None:
    """The ClientID of a Linux ``global.conf`` (``[int32] ClientID = 123456789``)."""
    match = _CONF_ID.search(text)
    return normalize_id(match.group(1)) if match else None


def _reg_value(raw: str) -> Any:
    raw = raw.strip()
    if raw.lower().startswith("dword:"):
        try:
            return int(raw[6:], 16)
        except ValueError:
            return None
    if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
        return raw[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return raw


def parse_registry_export(text: str) -> dict[str, dict[str, Any]]:
    """A ``reg export`` file (REGEDIT5 text): ``{key path: {value name: value}}``.

    DWORDs become ints, strings lose their quotes; other types stay as written.
    """
    keys: dict[str, dict[str, Any]] = {}
    current: dict[str, Any] | None = None
    for line in text.lstrip("\ufeff").splitlines():
        line = line.strip()
        key = _REG_KEY.match(line)
        if key:
            current = keys.setdefault(key.group(1), {})
            continue
        value = _REG_VALUE.match(line)
        if value and current is not None:
            current[value.group(1)] = _reg_value(value.group(2))
    return keys


def parse_plist(data: bytes) -> dict[str, Any]:
    """The ClientID/Version of a TeamViewer preferences plist (XML or binary)."""
    try:
        loaded = plistlib.loads(data)
    except Exception:  # plistlib raises several types for garbage
        return {}
    if not isinstance(loaded, dict):
        return {}
    return {k: loaded[k] for k in ("ClientID", "Version") if k in loaded}


def _registry_entries(data: Any) -> list[dict[str, Any]]:
    return [i for i in as_list(data) if isinstance(i, dict)]


def facts_from_windows(data: Mapping[str, Any], host: str | None = None,
                       commands: Sequence[dict[str, Any]] = ()) -> TeamViewerFacts:
    """Facts from the Windows collector's JSON (see :data:`WINDOWS_TEAMVIEWER_PS`)."""
    registry = _registry_entries(data.get("registry"))
    installed = bool(registry) or bool(data.get("install_dir"))
    evidence = [str(r.get("path")) for r in registry if r.get("path")]
    client_id = id_source = version = None
    for entry in registry:
        cid = normalize_id(entry.get("ClientID"))
        if cid and client_id is None:
            client_id, id_source = cid, f"{entry.get('path')}\\ClientID"
        if entry.get("Version") and version is None:
            version = str(entry["Version"])
    services = _registry_entries(data.get("services"))
    service = state = None
    for svc in services:
        name = str(svc.get("name") or "")
        if name.lower().startswith("teamviewer"):
            service = name
            state = str(svc.get("status") or "").lower() or "unknown"
            if state == "running":
                break
    processes = data.get("processes") or []
    if isinstance(processes, str):
        processes = [processes]
    return TeamViewerFacts(
        platform="windows", installed=installed or service is not None,
        install_evidence=tuple(evidence), version=version, service=service,
        service_state=state if service else ("missing" if "services" in data else "unknown"),
        processes=tuple(str(p) for p in processes), client_id=client_id,
        id_source=id_source, notes=tuple(str(n) for n in data.get("notes") or ()),
        commands=tuple(commands), host=host or data.get("computer"))


def facts_from_linux(*, binary: str | None, paths: Iterable[str], unit_state: str | None,
                     info_text: str | None, conf_text: str | None,
                     processes: Iterable[str], commands: Sequence[dict[str, Any]] = (),
                     notes: Iterable[str] = ()) -> TeamViewerFacts:
    """Facts on Linux from the pieces a collector gathered (each may be missing)."""
    info = parse_teamviewer_info(info_text) if info_text else InfoOutput(None, None, None)
    client_id, source = info.client_id, "teamviewer --info" if info.client_id else None
    if client_id is None and conf_text:
        client_id = parse_global_conf(conf_text)
        source = "global.conf" if client_id else None
    evidence = [p for p in ([binary] if binary else []) + list(paths)]
    state = unit_state or ("running" if info.daemon_active else "unknown")
    return TeamViewerFacts(
        platform="linux", installed=bool(evidence), install_evidence=tuple(evidence),
        version=info.version, service="teamviewerd", service_state=state,
        processes=tuple(processes), client_id=client_id, id_source=source,
        notes=tuple(notes), commands=tuple(commands))


def facts_from_macos(*, plists: Mapping[str, bytes], service_state: str | None,
                     processes: Iterable[str], paths: Iterable[str] = (),
                     notes: Iterable[str] = ()) -> TeamViewerFacts:
    """Facts on macOS from the preference plists (path → bytes) and running processes."""
    client_id = version = source = None
    for path, data in sorted(plists.items()):
        values = parse_plist(data)
        cid = normalize_id(values.get("ClientID"))
        if cid and client_id is None:
            client_id, source = cid, f"{path} ClientID"
        if values.get("Version") and version is None:
            version = str(values["Version"])
    evidence = [*paths, *plists]
    return TeamViewerFacts(
        platform="macos", installed=bool(evidence), install_evidence=tuple(evidence),
        version=version, service="com.teamviewer.service",
        service_state=service_state or "unknown", processes=tuple(processes),
        client_id=client_id, id_source=source, notes=tuple(notes))


# --- the remote (WinRM) collector ----------------------------------------------------------

WINDOWS_TEAMVIEWER_PS = powershell.register("tvhost.teamviewer", r"""# accessready:teamviewer.host
$ErrorActionPreference = 'SilentlyContinue'
$reg = @()
foreach ($k in @('HKLM:\SOFTWARE\TeamViewer', 'HKLM:\SOFTWARE\WOW6432Node\TeamViewer')) {
  if (Test-Path -LiteralPath $k) {
    $p = Get-ItemProperty -LiteralPath $k
    $reg += [pscustomobject]@{
      path = $k; ClientID = $p.ClientID; Version = [string]$p.Version }
    $subs = @(Get-ChildItem -LiteralPath $k |
      Where-Object { $_.PSChildName -match '^Version\d+$' })
    foreach ($sub in $subs) {
      $q = Get-ItemProperty -LiteralPath $sub.PSPath
      $reg += [pscustomobject]@{
        path = ($k + '\' + $sub.PSChildName); ClientID = $q.ClientID
        Version = [string]$q.Version }
    }
  }
}
$svc = @(Get-Service -Name 'TeamViewer*' | ForEach-Object {
  [pscustomobject]@{
    name = $_.Name; display_name = $_.DisplayName; status = [string]$_.Status } })
$proc = @(Get-Process -Name 'TeamViewer*' |
  ForEach-Object { $_.ProcessName + '.exe' } | Sort-Object -Unique)
[pscustomobject]@{
  registry = $reg; services = $svc; processes = $proc; computer = $env:COMPUTERNAME } |
  ConvertTo-Json -Depth 4 -Compress
""")
"""Reads the TeamViewer registry keys, services and processes of a Windows server (fixed
text: no value from the profile is spliced in)."""


def remote_windows_facts(transport: Any, timeout: float, host: str) -> TeamViewerFacts:
    """The facts of a Windows server over a WinRM transport (raises TransportError)."""

    started = time.monotonic()
    data = powershell_json(transport, WINDOWS_TEAMVIEWER_PS, timeout)
    command = {"command": "PowerShell: TeamViewer registry, services, processes",
               "elapsed_ms": round((time.monotonic() - started) * 1000, 1)}
    return facts_from_windows(data if isinstance(data, dict) else {}, host, [command])


# --- the local collector ----------------------------------------------------------------------

LINUX_PATHS = ("/opt/teamviewer", "/etc/teamviewer/global.conf",
               "/opt/teamviewer/config/global.conf")
MACOS_PLIST_DIR = "/Library/Preferences"
MACOS_APP = "/Applications/TeamViewer.app"
MACOS_HOST_APP = "/Applications/TeamViewerHost.app"


@dataclass
class LocalTeamViewerSource:
    """This machine's TeamViewer facts, through the local-system service where it can.

    ``local`` is a :class:`~accessready.agent.io.localsys.LocalSystem`; built lazily, so a
    run that does not look at TeamViewer costs nothing.
    """

    local: Any = None
    _platform: str | None = field(default=None, repr=False)

    def _system(self) -> Any:
        if self.local is None:

            self.local = local_system()
        return self.local

    def teamviewer_facts(self, timeout: float) -> TeamViewerFacts:
        """Collect the facts of the platform we run on."""
        local = self._system()
        system = getattr(local, "system", "unknown")
        deadline = time.monotonic() + timeout
        if system == "windows":
            return self._windows(local)
        if system == "macos":
            return self._macos(local, deadline)
        return self._linux(local, deadline)

    @staticmethod
    def _left(deadline: float) -> float:
        return max(0.05, deadline - time.monotonic())

    def _windows(self, local: Any) -> TeamViewerFacts:
        import winreg  # type: ignore[import-not-found]

        registry: list[dict[str, Any]] = []
        for label, view in (("HKLM:\\SOFTWARE\\TeamViewer", winreg.KEY_WOW64_64KEY),
                            ("HKLM:\\SOFTWARE\\WOW6432Node\\TeamViewer",
                             winreg.KEY_WOW64_32KEY)):
            with contextlib.suppress(OSError), winreg.OpenKey(
                    winreg.HKEY_LOCAL_MACHINE, r"SOFTWARE\TeamViewer", 0,
                    winreg.KEY_READ | view) as key:
                registry.append({"path": label, **_winreg_values(winreg, key)})
                for i in range(winreg.QueryInfoKey(key)[0]):
                    name = winreg.EnumKey(key, i)
                    if re.fullmatch(r"Version\d+", name):
                        with contextlib.suppress(OSError), winreg.OpenKey(key, name) as sub:
                            registry.append({"path": f"{label}\\{name}",
                                             **_winreg_values(winreg, sub)})
            if registry and view == winreg.KEY_WOW64_64KEY:
                break  # the 64-bit view found it; the 32-bit one would repeat it
        services = [{"name": s.name, "status": s.state}
                    for s in local.services(5.0) if s.name.lower().startswith("teamviewer")]
        processes = [p for p in local.processes() if p.lower().startswith("teamviewer")]
        return facts_from_windows({"registry": registry, "services": services,
                                   "processes": processes}, host=None)

    def _linux(self, local: Any, deadline: float) -> TeamViewerFacts:
        commands: list[dict[str, Any]] = []
        notes: list[str] = []
        binary = local.which("teamviewer")
        paths = local.existing_paths(LINUX_PATHS)
        unit_state = None
        try:
            for svc in local.services(self._left(deadline)):
                if svc.name in ("teamviewerd", "teamviewerd.service"):
                    unit_state = svc.state or "unknown"
            if unit_state is None:
                unit_state = "missing" if binary or paths else None
        except Exception as exc:  # the service manager may be absent (containers)
            notes.append(f"service manager: {exc}")
        info_text = None
        if binary:
            done = local.run_command([binary, "--info"], min(5.0, self._left(deadline)))
            commands.append({"command": "teamviewer --info", "exit_code": done.returncode,
                             "output": strip_ansi(done.stdout)[:MAX_EVIDENCE],
                             "error": done.error or None})
            info_text = done.stdout if done.ok else None
            if not done.ok:
                notes.append(done.problem())
        conf_text = None
        for path in ("/etc/teamviewer/global.conf", "/opt/teamviewer/config/global.conf"):
            if path in paths:
                with contextlib.suppress(OSError), open(path, encoding="utf-8",
                                                        errors="replace") as handle:
                    conf_text = handle.read(256 * 1024)
                    break
        processes = [p for p in local.processes() if "teamviewer" in p.lower()]
        return facts_from_linux(binary=binary, paths=paths, unit_state=unit_state,
                                info_text=info_text, conf_text=conf_text,
                                processes=processes, commands=commands, notes=notes)

    def _macos(self, local: Any, deadline: float) -> TeamViewerFacts:
        import glob

        plists: dict[str, bytes] = {}
        for path in sorted(glob.glob(f"{MACOS_PLIST_DIR}/com.teamviewer.teamviewer*.plist"))[:8]:
            with contextlib.suppress(OSError), open(path, "rb") as handle:
                plists[path] = handle.read(1024 * 1024)
        state = None
        with contextlib.suppress(Exception):
            for svc in local.services(self._left(deadline)):
                if svc.name.startswith("com.teamviewer.service"):
                    state = svc.state or "unknown"
        processes = [p for p in local.processes() if p.lower().startswith("teamviewer")]
        return facts_from_macos(plists=plists, service_state=state, processes=processes,
                                paths=local.existing_paths([MACOS_APP, MACOS_HOST_APP]))


def _winreg_values(winreg: Any, key: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("ClientID", "Version"):
        with contextlib.suppress(OSError):
            out[name] = winreg.QueryValueEx(key, name)[0]
    return out
