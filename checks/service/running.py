"""``servers``: the services the integrations depend on are installed and running.

``service.running`` reads, per server that names ``services``, each one's state: Windows
services over WinRM (``Get-Service``: by service name, else display name), systemd units
over SSH (``systemctl show``: LoadState, ActiveState, SubState, UnitFileState — structured
and not translated, unlike ``systemctl status``). It proves the service or unit is
installed and running at the moment of the check; it cannot prove the service works (a
running sync service may still fail every job) or that it will start after a reboot
(the start type / enablement is shown as evidence and warned about).
"""

from __future__ import annotations

import json
from typing import Any

from accessready.agent.core import powershell
from accessready.agent.core.model import Requirement, Result, Status, t
from accessready.agent.core.powershell import as_list
from accessready.agent.core.profile_types import Profile, Server
from accessready.agent.io.transports.base import TransportError
from accessready.agent.plugin.checkapi import Check, CheckContext, Contact, Target
from accessready.agent.plugin.serverscript import (
    command_method,
    failure_result,
    no_command_method,
    run_script,
    server_targets,
    session,
    session_contact,
)
from accessready.agent.plugin.transport_texts import KIND_OWNERS, KIND_REMEDIATION

SERVICE_SCRIPT = powershell.register("service.status", r"""# accessready:service.status
$out = foreach ($n in (ConvertFrom-Json -InputObject $Names)) {
  $s = @(Get-Service -Name $n -ErrorAction SilentlyContinue)[0]
  if (-not $s) { $s = @(Get-Service -DisplayName $n -ErrorAction SilentlyContinue)[0] }
  if ($s) {
    [pscustomobject]@{ Query = $n; Found = $true; Name = $s.Name; DisplayName = $s.DisplayName
      Status = $s.Status.ToString(); StartType = $s.StartType.ToString() }
  } else {
    [pscustomobject]@{ Query = $n; Found = $false; Name = $null; DisplayName = $null
      Status = $null; StartType = $null }
  }
}
ConvertTo-Json -InputObject @($out) -Compress -Depth 3
""")

SYSTEMD_PROPERTIES = "Id,LoadState,ActiveState,SubState,UnitFileState,Description"


def names_param(names: tuple[str, ...] | list[str]) -> str:
    """The ``$Names`` parameter: a compact JSON array (decoded by ConvertFrom-Json)."""
    return json.dumps(list(names), separators=(",", ":"), ensure_ascii=False)


def parse_systemctl_show(text: str) -> list[dict[str, str]]:
    """``systemctl show -p …`` for several units: one ``{property: value}`` per unit."""
    units: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if current:
                units.append(current)
                current = {}
            continue
        key, sep, value = line.partition("=")
        if sep:
            current[key.strip()] = value.strip()
    if current:
        units.append(current)
    return units


def _sentence(parts: list[str]) -> str:
    text = "; ".join(parts)
    return text[:1].upper() + text[1:] + "."


def _unit_key(name: str) -> str:
    return name if "." in name else f"{name}.service"


class ServiceRunningCheck(Check):
    """Every service named for a server is installed and running."""

    id = "service.running"
    owners = {**KIND_OWNERS, "missing": "supplier"}
    requirement = Requirement.SERVERS
    title = t("Services running", "Tjänster igång")
    description = t(
        "The services named for each server are installed and running (Windows services "
        "over WinRM, systemd units over SSH).",
        "Tjänsterna som anges för varje server är installerade och igång "
        "(Windows-tjänster över WinRM, systemd-enheter över SSH).")
    needs = ("password", "sessions")
    remediation = {
        **KIND_REMEDIATION,
        "default": t("Start the stopped services (Start-Service <name>; systemctl start "
                     "<unit>) and find out why they stopped (event log; journalctl -u <unit>).",
                     "Starta de stoppade tjänsterna (Start-Service <namn>; systemctl start "
                     "<enhet>) och ta reda på varför de stannade (händelseloggen; "
                     "journalctl -u <enhet>)."),
        "missing": t("A named service is not installed: check the name in the profile "
                     "(servers[].services) against the server, or install it.",
                     "En angiven tjänst är inte installerad: jämför namnet i profilen "
                     "(servers[].services) med servern, eller installera den."),
        "autostart": t("The service runs but will not start by itself after a reboot: set "
                       "its start type to Automatic (systemctl enable <unit>).",
                       "Tjänsten är igång men startar inte av sig själv efter en omstart: "
                       "sätt starttypen till Automatisk (systemctl enable <enhet>)."),
    }

    def targets(self, profile: Profile) -> list[Target]:
        return server_targets(profile, where=lambda s: bool(s.services), needs=self.needs)

    def first_contact(self, target: Target) -> Contact | None:
        return session_contact(target.data)

    def run(self, ctx: CheckContext, target: Target) -> Result:
        server: Server = target.data
        method = command_method(server)
        if method is None:
            return no_command_method(self, target,
                                     details={"services": list(server.services)})
        prefix = t(f"The services could not be read over {method}:",
                   f"Tjänsterna kunde inte läsas över {method}:")
        details = {"method": method, "services": list(server.services)}
        transport, failed = session(self, ctx, target, server, method, prefix=prefix,
                                    details=details)
        if failed is not None:
            return failed
        if method == "winrm":
            data = run_script(ctx, server, method, SERVICE_SCRIPT,
                              {"Names": names_param(server.services)}, check=self,
                              target=target, prefix=prefix, details=details,
                              transport=transport)
            if isinstance(data, Result):
                return data
            return self._judge(target, method, self._windows(server, data))
        try:
            rows = self._linux(ctx, transport, server)
        except TransportError as exc:
            return failure_result(self, target, exc, method, prefix=prefix, details=details)
        return self._judge(target, method, rows)

    @staticmethod
    def _windows(server: Server, data: Any) -> list[dict]:
        found = {str(r.get("Query")): r for r in as_list(data) if isinstance(r, dict)}
        rows = []
        for name in server.services:
            r = found.get(name, {})
            status = str(r.get("Status") or "")
            start = str(r.get("StartType") or "")
            rows.append({"name": name, "found": bool(r.get("Found")),
                         "running": status == "Running", "state": status or "missing",
                         "autostart": start in ("Automatic", "AutomaticDelayedStart", "")
                         or start.startswith("Automatic"),
                         "start_type": start or None, "service": r.get("Name"),
                         "display_name": r.get("DisplayName")})
        return rows

    def _linux(self, ctx: CheckContext, transport: Any, server: Server) -> list[dict]:
        units = [_unit_key(n) for n in server.services]
        result = transport.run(["systemctl", "show", f"--property={SYSTEMD_PROPERTIES}", "--",
                                *units], ctx.timeout(8.0))
        if result.exit_code != 0 and not result.stdout.strip():
            raise TransportError("error", f"systemctl show exited {result.exit_code}: "
                                 f"{result.stderr.strip()[:200]}", {"result": result.to_json()})
        shown = {u.get("Id", ""): u for u in parse_systemctl_show(result.stdout)}
        rows = []
        for name, unit in zip(server.services, units, strict=True):
            u = shown.get(unit, {})
            load = u.get("LoadState", "")
            active, sub = u.get("ActiveState", ""), u.get("SubState", "")
            enabled = u.get("UnitFileState", "")
            rows.append({"name": name, "unit": unit, "found": load == "loaded",
                         "running": active == "active",
                         "state": f"{active}/{sub}" if load == "loaded" else (load or "missing"),
                         "autostart": enabled in ("enabled", "enabled-runtime", "static",
                                                  "indirect", "generated", "alias", ""),
                         "start_type": enabled or None,
                         "description": u.get("Description")})
        return rows

    def _judge(self, target: Target, method: str, rows: list[dict]) -> Result:
        details = {"method": method, "services": rows}
        missing = [r["name"] for r in rows if not r["found"]]
        stopped = [f"{r['name']} ({r['state']})" for r in rows if r["found"] and not r["running"]]
        manual = [r["name"] for r in rows if r["found"] and r["running"] and not r["autostart"]]
        if missing or stopped:
            parts_en, parts_sv = [], []
            if missing:
                parts_en.append(f"not installed: {', '.join(missing)}")
                parts_sv.append(f"inte installerad: {', '.join(missing)}")
            if stopped:
                parts_en.append(f"not running: {', '.join(stopped)}")
                parts_sv.append(f"inte igång: {', '.join(stopped)}")
            return self.result(target, Status.FAIL, t(_sentence(parts_en), _sentence(parts_sv)),
                               details, fix="missing" if missing and not stopped else None)
        running = ", ".join(r["name"] for r in rows)
        if manual:
            return self.result(target, Status.WARN, t(
                f"Running: {running}; but {', '.join(manual)} will not start after a reboot.",
                f"Igång: {running}; men {', '.join(manual)} startar inte efter en omstart."),
                details, fix="autostart")
        return self.result(target, Status.PASS, t(f"Running: {running}.",
                                                  f"Igång: {running}."), details)


CHECKS = [ServiceRunningCheck]
