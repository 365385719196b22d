"""``wap.health``: the Web Application Proxy seen from inside the server, over WinRM.

``appproxysvc`` runs, ``Get-WebApplicationProxyHealth`` reports every component OK, the
WAP publishes the expected AD FS, and the published applications
(``Get-WebApplicationProxyApplication``) with their external certificates' expiry. How the
script runs: :mod:`..common.winrm_script`.
"""

from __future__ import annotations

from typing import Any

from accessready.agent.core import powershell
from accessready.agent.core.model import Result, Status, t
from accessready.agent.core.powershell import as_list
from accessready.agent.core.profile_types import Server
from accessready.agent.plugin.checkapi import CheckContext, Target
from accessready.checks.common.findings import Finding, conclude, earliest_due
from accessready.checks.common.winrm_script import (
    ISO_HELPERS,
    WinrmScriptCheck,
    cert_expiry,
    cmdlet_errors,
)
from accessready.checks.wap.texts import HEALTH_REMEDIATION

WAP_HEALTH_SCRIPT = powershell.register("wap.health", r"""# accessready:wap.health
# Read-only: the WAP service, Get-WebApplicationProxyHealth, configuration, published apps.
""" + ISO_HELPERS + r"""
$out = [ordered]@{ Computer = $env:COMPUTERNAME; Service = $null; Health = @();
                   Configuration = $null; Applications = @(); Errors = @() }
$svc = Get-Service -Name appproxysvc -ErrorAction SilentlyContinue
if ($null -ne $svc) {
    $out.Service = [ordered]@{ Name = $svc.Name; Status = $svc.Status.ToString();
                               StartType = $svc.StartType.ToString() }
}
try {
    $out.Health = @(Get-WebApplicationProxyHealth | ForEach-Object {
        [ordered]@{ Component = [string]$_.Component; HealthState = [string]$_.HealthState;
                    TimeStamp = Iso $_.TimeStamp;
                    Heuristics = @($_.Heuristics | ForEach-Object {
                        [ordered]@{ Id = [string]$_.Id; Status = [string]$_.Status
                                    ErrorDesc = [string]$_.ErrorDesc
                                    ErrorCause = [string]$_.ErrorCause
                                    ErrorResoln = [string]$_.ErrorResoln } }) } })
} catch { $out.Errors += 'Get-WebApplicationProxyHealth: ' + $_.Exception.Message }
try {
    $c = Get-WebApplicationProxyConfiguration
    $out.Configuration = [ordered]@{ ADFSUrl = [string]$c.ADFSUrl;
        ConnectedServersName = @($c.ConnectedServersName | ForEach-Object { [string]$_ });
        ConfigurationVersion = [string]$c.ConfigurationVersion }
} catch { $out.Errors += 'Get-WebApplicationProxyConfiguration: ' + $_.Exception.Message }
try {
    $out.Applications = @(Get-WebApplicationProxyApplication | ForEach-Object {
        $cert = $null
        if ($_.ExternalCertificateThumbprint) {
            $path = 'Cert:\LocalMachine\My\' + $_.ExternalCertificateThumbprint
            $cert = Get-Item -Path $path -ErrorAction SilentlyContinue
        }
        [ordered]@{ Name = [string]$_.Name; ExternalUrl = [string]$_.ExternalUrl;
                    BackendServerUrl = [string]$_.BackendServerUrl;
                    ExternalPreauthentication = [string]$_.ExternalPreauthentication;
                    ExternalCertificateThumbprint = [string]$_.ExternalCertificateThumbprint;
                    ExternalCertificate = CertFacts $cert } })
} catch { $out.Errors += 'Get-WebApplicationProxyApplication: ' + $_.Exception.Message }
$out | ConvertTo-Json -Depth 6 -Compress
""")


class WapHealthCheck(WinrmScriptCheck):
    """The WAP service and Get-WebApplicationProxyHealth; the published applications."""

    id = "wap.health"
    role = "wap"
    script = WAP_HEALTH_SCRIPT
    title = t("Web Application Proxy health", "Web Application Proxy, hälsa")
    description = t(
        "Over WinRM: the WAP service (appproxysvc) runs, every component of "
        "Get-WebApplicationProxyHealth is OK, it publishes the expected AD FS, and its "
        "published applications and their certificates.",
        "Över WinRM: WAP-tjänsten (appproxysvc) körs, varje komponent i "
        "Get-WebApplicationProxyHealth är OK, den publicerar rätt AD FS, samt dess "
        "publicerade program och deras certifikat.")
    remediation = HEALTH_REMEDIATION

    def judge(self, ctx: CheckContext, target: Target, server: Server, data: dict[str, Any],
              details: dict[str, Any]) -> Result:
        down = self.service_down(target, data, details, t(
            "The Web Application Proxy service (appproxysvc) does not exist here.",
            "Tjänsten Web Application Proxy (appproxysvc) finns inte här."), lambda en, sv: t(
            f"The Web Application Proxy service (appproxysvc) is {en}: nothing is published "
            "through this WAP.",
            f"Tjänsten Web Application Proxy (appproxysvc) är {sv}: inget publiceras via "
            "denna WAP."))
        if down is not None:
            return down
        findings = cmdlet_errors(data)
        states = []
        for comp in [c for c in as_list(data.get("Health")) if isinstance(c, dict)]:
            name, state = str(comp.get("Component", "?")), str(comp.get("HealthState", "?"))
            states.append(f"{name} {state}")
            if state == "OK":
                continue
            problems = "; ".join(str(h.get("ErrorDesc")) for h in as_list(comp.get("Heuristics"))
                                 if isinstance(h, dict) and h.get("ErrorDesc"))[:300]
            extra = f" ({problems})" if problems else ""
            findings.append(Finding(Status.FAIL if state == "Error" else Status.WARN,
                                    f"{name}: {state}{extra}.", f"{name}: {state}{extra}.",
                                    "unhealthy"))
        cfg_data = data.get("Configuration") if isinstance(data.get("Configuration"),
                                                           dict) else {}
        adfs_url = str(cfg_data.get("ADFSUrl") or "")
        cfg = ctx.profile.adfs
        if cfg and adfs_url and cfg.federation_service.lower() not in adfs_url.lower():
            findings.append(Finding(Status.WARN, f"It publishes {adfs_url}, not "
                                    f"{cfg.federation_service}.", f"Den publicerar {adfs_url}, "
                                    f"inte {cfg.federation_service}.", "adfs_url"))
        apps = [a for a in as_list(data.get("Applications")) if isinstance(a, dict)]
        now = ctx.now()
        warn_days = cfg.cert_warn_days if cfg else 30
        for app in apps:
            end, days = cert_expiry(app.get("ExternalCertificate"), now)
            if end is None or days is None:
                continue
            name = app.get("Name", "?")
            if end <= now:
                findings.append(Finding(Status.WARN, f"{name}: its certificate expired on "
                                        f"{end.date()}.", f"{name}: certifikatet gick ut "
                                        f"{end.date()}.", "app_cert", due=end))
            elif days < warn_days:
                findings.append(Finding(Status.WARN, f"{name}: its certificate expires in "
                                        f"{days} days.", f"{name}: certifikatet går ut om "
                                        f"{days} dagar.", "app_cert", due=end))
        listed = ", ".join(f"{a.get('Name')} ({a.get('ExternalUrl')})" for a in apps[:8])
        more = f" and {len(apps) - 8} more" if len(apps) > 8 else ""
        more_sv = f" och {len(apps) - 8} till" if len(apps) > 8 else ""
        ok_en = (f"appproxysvc is running; {', '.join(states) or 'no health data'}; "
                 f"{len(apps)} published application(s)" + (f": {listed}{more}" if apps else "")
                 + ".")
        apps_sv = "1 publicerat program" if len(apps) == 1 else f"{len(apps)} publicerade program"
        ok_sv = (f"appproxysvc körs; {', '.join(states) or 'inga hälsodata'}; "
                 f"{apps_sv}" + (f": {listed}{more_sv}" if apps else "") + ".")
        status, summary, fix = conclude(findings, ok_en, ok_sv)
        if status is not Status.PASS:
            summary = t(f"{summary.en} ({len(apps)} published application(s).)",
                        f"{summary.sv} ({apps_sv}.)")
        return self.result(target, status, summary, details, fix, due=earliest_due(findings))
