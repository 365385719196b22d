"""``adfs.service``: the AD FS service seen from inside the server, over WinRM.

``adfssrv`` runs and starts automatically; ``Get-AdfsProperties`` names the expected
federation service; the farm behaviour level (``Get-AdfsFarmInformation``; 1 = Windows
Server 2012 R2, 3 = 2016, 4 = 2019 and later); a WID secondary's last sync succeeded. It
cannot prove that a token can be issued. How the script runs: :mod:`..common.winrm_script`.
"""

from __future__ import annotations

from typing import Any

from accessready.agent.core import powershell
from accessready.agent.core.model import Result, Status, t
from accessready.agent.core.powershell import as_list
from accessready.agent.core.profile_types import Server
from accessready.agent.plugin.checkapi import CheckContext, Target
from accessready.checks.adfs.remediation import SERVICE_REMEDIATION
from accessready.checks.common.findings import Finding, conclude
from accessready.checks.common.winrm_script import (
    ISO_HELPERS,
    WinrmScriptCheck,
    cmdlet_errors,
)

SERVICE_SCRIPT = powershell.register("adfs.service", r"""# accessready:adfs.service
# Read-only: the AD FS service, Get-AdfsProperties essentials, farm behaviour level, WID sync.
""" + ISO_HELPERS + r"""
$out = [ordered]@{ Computer = $env:COMPUTERNAME; Service = $null; Properties = $null;
                   Farm = $null; Sync = $null; Errors = @() }
$svc = Get-Service -Name adfssrv -ErrorAction SilentlyContinue
if ($null -ne $svc) {
    $out.Service = [ordered]@{ Name = $svc.Name; Status = $svc.Status.ToString();
                               StartType = $svc.StartType.ToString() }
}
if ($null -ne $svc -and $svc.Status -eq 'Running') {
    try {
        $p = Get-AdfsProperties
        $out.Properties = [ordered]@{
            HostName = [string]$p.HostName; Identifier = [string]$p.Identifier;
            HttpsPort = [int]$p.HttpsPort; TlsClientPort = [int]$p.TlsClientPort;
            AutoCertificateRollover = [bool]$p.AutoCertificateRollover;
            CertificateGenerationThreshold = [int]$p.CertificateGenerationThreshold;
            CertificatePromotionThreshold = [int]$p.CertificatePromotionThreshold;
            CurrentFarmBehavior = $p.CurrentFarmBehavior }
    } catch { $out.Errors += 'Get-AdfsProperties: ' + $_.Exception.Message }
    try {
        $f = Get-AdfsFarmInformation
        $out.Farm = [ordered]@{ CurrentFarmBehavior = [int]$f.CurrentFarmBehavior;
                                FarmNodes = @($f.FarmNodes | ForEach-Object { [string]$_.FQDN }) }
    } catch { $out.Errors += 'Get-AdfsFarmInformation: ' + $_.Exception.Message }
    try {
        $s = Get-AdfsSyncProperties
        $out.Sync = [ordered]@{ Role = [string]$s.Role
                                PrimaryComputerName = [string]$s.PrimaryComputerName
                                LastSyncStatus = [int]$s.LastSyncStatus
                                LastSyncTime = Iso $s.LastSyncTime
                                PollDuration = [int]$s.PollDuration }
    } catch { $out.Errors += 'Get-AdfsSyncProperties: ' + $_.Exception.Message }
}
$out | ConvertTo-Json -Depth 5 -Compress
""")

FARM_LEVELS = {1: "Windows Server 2012 R2", 2: "Windows Server 2012 R2",
               3: "Windows Server 2016", 4: "Windows Server 2019 or later"}
FARM_LEVELS_SV = {**FARM_LEVELS, 4: "Windows Server 2019 eller senare"}


class AdfsServiceCheck(WinrmScriptCheck):
    """``adfssrv`` runs; Get-AdfsProperties essentials; farm behaviour level; WID sync."""

    id = "adfs.service"
    owners = {**WinrmScriptCheck.owners, "name": "supplier"}
    role = "adfs"
    script = SERVICE_SCRIPT
    title = t("AD FS service", "AD FS-tjänsten")
    description = t(
        "Over WinRM: the AD FS service (adfssrv) runs and starts automatically, the farm "
        "serves the expected federation service, its behaviour level, WID synchronisation.",
        "Över WinRM: AD FS-tjänsten (adfssrv) körs och startar automatiskt, farmen betjänar "
        "rätt federationstjänst, dess funktionsnivå och WID-synkronisering.")
    remediation = SERVICE_REMEDIATION

    def judge(self, ctx: CheckContext, target: Target, server: Server, data: dict[str, Any],
              details: dict[str, Any]) -> Result:
        down = self.service_down(target, data, details, t(
            "The AD FS service (adfssrv) does not exist on this server.",
            "AD FS-tjänsten (adfssrv) finns inte på servern."), lambda en, sv: t(
            f"The AD FS service (adfssrv) is {en}: sign-in through this server fails.",
            f"AD FS-tjänsten (adfssrv) är {sv}: inloggning via servern misslyckas."))
        if down is not None:
            return down
        svc = data["Service"]
        findings = cmdlet_errors(data)
        start = str(svc.get("StartType", ""))
        if start and start != "Automatic":
            findings.append(Finding(Status.WARN, f"adfssrv starts {start}, not automatically.",
                                    f"adfssrv startar {start}, inte automatiskt.",
                                    "start_type"))
        props = data.get("Properties") if isinstance(data.get("Properties"), dict) else {}
        farm = data.get("Farm") if isinstance(data.get("Farm"), dict) else {}
        sync = data.get("Sync") if isinstance(data.get("Sync"), dict) else {}
        host = str(props.get("HostName") or "")
        cfg = ctx.profile.adfs
        if cfg and host and host.lower() != cfg.federation_service.lower():
            findings.append(Finding(Status.WARN, f"The farm serves {host}, not "
                                    f"{cfg.federation_service}.", f"Farmen betjänar {host}, "
                                    f"inte {cfg.federation_service}.", "name"))
        level = farm.get("CurrentFarmBehavior", props.get("CurrentFarmBehavior"))
        level = level if isinstance(level, int) else None
        if level is not None and level <= 2:
            findings.append(Finding(Status.WARN, f"Farm behaviour level {level} "
                                    f"({FARM_LEVELS.get(level, '?')}).", "Farmens "
                                    f"funktionsnivå {level} ({FARM_LEVELS_SV.get(level, '?')}).",
                                    "fbl"))
        role = str(sync.get("Role") or "")
        if role == "SecondaryComputer" and sync.get("LastSyncStatus") not in (0, None):
            findings.append(Finding(Status.WARN, "The last synchronisation from the primary "
                                    f"({sync.get('PrimaryComputerName')}) failed (status "
                                    f"{sync.get('LastSyncStatus')}).", "Senaste "
                                    "synkroniseringen från den primära "
                                    f"({sync.get('PrimaryComputerName')}) misslyckades (status "
                                    f"{sync.get('LastSyncStatus')}).", "sync"))
        nodes = [str(n) for n in as_list(farm.get("FarmNodes"))]
        level_text = (f"behaviour level {level} ({FARM_LEVELS.get(level, '?')})"
                      if level is not None else "behaviour level unknown")
        level_sv = (f"funktionsnivå {level} ({FARM_LEVELS_SV.get(level, '?')})"
                    if level is not None else "funktionsnivå okänd")
        role_en = {"PrimaryComputer": "primary", "SecondaryComputer": "secondary"}.get(role, "")
        role_sv = {"PrimaryComputer": "primär", "SecondaryComputer": "sekundär"}.get(role, "")
        nodes_en = "1 node" if len(nodes) == 1 else f"{len(nodes)} nodes"
        nodes_sv = "1 server" if len(nodes) == 1 else f"{len(nodes)} servrar"
        ok_en = (f"adfssrv is running ({start or '?'}); farm {host or '?'}, {level_text}, "
                 f"{nodes_en}" + (f"; this node is {role_en}" if role_en else "") + ".")
        ok_sv = (f"adfssrv körs ({start or '?'}); farm {host or '?'}, {level_sv}, "
                 f"{nodes_sv}" + (f"; denna server är {role_sv}" if role_sv else "") + ".")
        status_, summary, fix = conclude(findings, ok_en, ok_sv)
        if status_ is not Status.PASS:
            summary = t(f"{ok_en} {summary.en}", f"{ok_sv} {summary.sv}")
        return self.result(target, status_, summary, details, fix)
