"""``adfs`` over WinRM: AD FS and WAP health seen from inside the servers.

These checks log in with the support account (the run's shared ``sessions`` service, one
WinRM session per server) and run one fixed, read-only PowerShell script per check. Every
script builds flat objects (dates as ISO 8601 UTC, enums as strings) and ends in
``ConvertTo-Json``: nothing is scraped from formatted text. Targets are the profile's
servers with role ``adfs`` (``adfs.service``, ``adfs.certificates``) or ``wap``
(``wap.health``, ``wap.proxy_trust``); a server that does not list ``winrm`` in
``remote`` is skipped with that reason.

What each check proves, and what it cannot:

* ``adfs.service`` — ``adfssrv`` runs and starts automatically; ``Get-AdfsProperties``
  names the expected federation service; the farm behaviour level
  (``Get-AdfsFarmInformation``; 1 = Windows Server 2012 R2, 3 = 2016, 4 = 2019 and later);
  a WID secondary's last sync succeeded. It cannot prove that a token can be issued.
* ``adfs.certificates`` — ``Get-AdfsCertificate``: token-signing and token-decrypting
  (and service-communications) certificates, expiry, a pending rollover (a secondary
  certificate), ``AutoCertificateRollover``; ``Get-AdfsSslCertificate``: a binding for
  ``<federation service>:<HttpsPort>`` exists and its certificate is in the store, covers
  the name and is not expiring. It does not check revocation.
* ``wap.health`` — ``appproxysvc`` runs, ``Get-WebApplicationProxyHealth`` reports every
  component OK, the WAP publishes the expected AD FS, and the published applications
  (``Get-WebApplicationProxyApplication``) with their external certificates' expiry.
* ``wap.proxy_trust`` — the ``CN=ADFS ProxyTrust - <WAP>`` certificate (self-signed, about
  two weeks valid, renewed by the WAP every 8 hours while it reaches AD FS) is present and
  valid; the WAP itself can fetch ``/adfs/services/trust/mex`` from the federation
  service; no event 422 (proxy configuration refused) in the last day. It cannot see
  AD FS's side of the trust (event 394 on the AD FS servers).

The support account needs local administrator rights for the AD FS cmdlets; without them
the cmdlets fail and the checks say so.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, ClassVar

from accessready.agent.core import powershell
from accessready.agent.core.model import Requirement, Result, Status, Text, t
from accessready.agent.core.profile_types import Profile, Server
from accessready.agent.io.transports.base import TransportError, powershell_json
from accessready.agent.plugin.checkapi import Check, CheckContext, Target
from accessready.agent.plugin.transport_texts import (
    KIND_OWNERS,
    KIND_REMEDIATION,
    failure_details,
    failure_summary,
    remediation_key,
)
from accessready.checks.adfs.http import Finding, conclude, earliest_due, https_port

SESSION_CAP = 15.0
SCRIPT_CAP = 30.0

_ISO_HELPERS = r"""
function Iso($d) {
    if ($null -ne $d) { ([datetime]$d).ToUniversalTime().ToString('o') } else { $null }
}
function CertFacts($c) {
    if ($null -eq $c) { return $null }
    [ordered]@{ Subject = [string]$c.Subject; Issuer = [string]$c.Issuer;
                Thumbprint = [string]$c.Thumbprint; NotBefore = Iso $c.NotBefore;
                NotAfter = Iso $c.NotAfter;
                DnsNames = @($c.DnsNameList | ForEach-Object { [string]$_ }) }
}
"""

SERVICE_SCRIPT = powershell.register("adfs.service", r"""# accessready:adfs.service
# Read-only: the AD FS service, Get-AdfsProperties essentials, farm behaviour level, WID sync.
""" + _ISO_HELPERS + r"""
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

CERTIFICATES_SCRIPT = powershell.register("adfs.certificates", r"""# accessready:adfs.certificates
# Read-only: AD FS certificates, SSL bindings and the bound certificates from the store.
""" + _ISO_HELPERS + r"""
$svc = Get-Service -Name adfssrv -ErrorAction SilentlyContinue
if ($null -eq $svc -or $svc.Status -ne 'Running') {
    # The AD FS cmdlets need the running service; say so instead of failing.
    $state = 'Missing'
    if ($null -ne $svc) { $state = $svc.Status.ToString() }
    [ordered]@{ Computer = $env:COMPUTERNAME; ServiceStatus = $state } | ConvertTo-Json -Compress
} else {
    $p = Get-AdfsProperties
    $certs = @(Get-AdfsCertificate | ForEach-Object {
        [ordered]@{ CertificateType = [string]$_.CertificateType; IsPrimary = [bool]$_.IsPrimary;
                    Thumbprint = [string]$_.Thumbprint; Certificate = CertFacts $_.Certificate } })
    $bindings = @(Get-AdfsSslCertificate | ForEach-Object {
        [ordered]@{ HostName = [string]$_.HostName; PortNumber = [int]$_.PortNumber;
                    CertificateHash = [string]$_.CertificateHash } })
    $hashes = @($bindings | ForEach-Object { $_.CertificateHash } | Sort-Object -Unique)
    $ssl = @($hashes | ForEach-Object {
        $c = Get-Item -Path ('Cert:\LocalMachine\My\' + $_) -ErrorAction SilentlyContinue
        if ($null -ne $c) { CertFacts $c }
        else { [ordered]@{ Thumbprint = $_; Missing = $true } } })
    [ordered]@{ Computer = $env:COMPUTERNAME; HostName = [string]$p.HostName;
                HttpsPort = [int]$p.HttpsPort; TlsClientPort = [int]$p.TlsClientPort;
                AutoCertificateRollover = [bool]$p.AutoCertificateRollover;
                Certificates = $certs; SslBindings = $bindings; SslCertificates = $ssl
    } | ConvertTo-Json -Depth 6 -Compress
}
""")

WAP_HEALTH_SCRIPT = powershell.register("wap.health", r"""# accessready:wap.health
# Read-only: the WAP service, Get-WebApplicationProxyHealth, configuration, published apps.
""" + _ISO_HELPERS + r"""
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

PROXY_TRUST_SCRIPT = powershell.register("wap.proxy_trust", r"""# accessready:wap.proxy_trust
# Read-only: the proxy trust certificate, the WAP's own view of AD FS, recent event 422.
""" + _ISO_HELPERS + r"""
$out = [ordered]@{ Computer = $env:COMPUTERNAME; Certificates = @(); FederationService = $null;
                   Reach = $null; Events422 = $null; Errors = @() }
$out.Certificates = @(Get-ChildItem -Path Cert:\LocalMachine\My |
    Where-Object { $_.Subject -like 'CN=ADFS ProxyTrust - *' } | ForEach-Object { CertFacts $_ })
if (-not $FederationService) {
    try { $FederationService = ([uri](Get-WebApplicationProxyConfiguration).ADFSUrl).Host }
    catch { $out.Errors += 'Get-WebApplicationProxyConfiguration: ' + $_.Exception.Message }
}
$out.FederationService = $FederationService
if ($FederationService) {
    # Windows PowerShell 5.1 may still default to TLS 1.0; AD FS wants 1.2.
    $spm = [Net.ServicePointManager]
    $spm::SecurityProtocol = $spm::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12
    $url = 'https://' + $FederationService + ':' + $FsPort + '/adfs/services/trust/mex'
    try {
        $r = Invoke-WebRequest -Uri $url -UseBasicParsing -TimeoutSec 10
        $out.Reach = [ordered]@{ Url = $url; Ok = $true; Status = [int]$r.StatusCode
                                 Error = $null }
    } catch {
        $code = $null
        if ($null -ne $_.Exception.Response) { $code = [int]$_.Exception.Response.StatusCode }
        $out.Reach = [ordered]@{ Url = $url; Ok = $false; Status = $code
                                 Error = $_.Exception.Message }
    }
}
try {
    $out.Events422 = @(Get-WinEvent -FilterHashtable @{ LogName = 'AD FS/Admin'; Id = 422;
                        StartTime = (Get-Date).AddDays(-1) } -MaxEvents 50).Count
} catch {
    if ($_.FullyQualifiedErrorId -like 'NoMatchingEventsFound*') { $out.Events422 = 0 }
    else { $out.Errors += 'Get-WinEvent: ' + $_.Exception.Message }
}
$out | ConvertTo-Json -Depth 5 -Compress
""")

FARM_LEVELS = {1: "Windows Server 2012 R2", 2: "Windows Server 2012 R2",
               3: "Windows Server 2016", 4: "Windows Server 2019 or later"}
FARM_LEVELS_SV = {**FARM_LEVELS, 4: "Windows Server 2019 eller senare"}
PROXY_TRUST_WARN_HOURS = 48  # renewal runs every 8 h: less than two days left means it stalls
_MS_DATE = re.compile(r"^/Date\((-?\d+)\)/$")


def parse_ps_date(value: Any) -> dt.datetime | None:
    """A PowerShell date as the scripts emit it (ISO 8601), or ``/Date(ms)/``; else None."""
    if not isinstance(value, str) or not value:
        return None
    match = _MS_DATE.match(value.replace("\\/", "/"))
    if match:
        return dt.datetime.fromtimestamp(int(match.group(1)) / 1000, dt.UTC)
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    # .NET writes seven fractional digits; Python wants at most six.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def as_list(value: Any) -> list[Any]:
    """ConvertTo-Json writes a one-element array as the element itself in some versions."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def name_covered(names: list[str], host: str) -> bool:
    """Does a certificate with DNS ``names`` cover ``host`` (one-label wildcards)?"""
    host = host.lower().rstrip(".")
    for pattern in names:
        pattern = str(pattern).lower().rstrip(".")
        if pattern == host or (pattern.startswith("*.") and "." in host
                               and host.split(".", 1)[1] == pattern[2:]):
            return True
    return False


def _expiry(cert: dict[str, Any] | None, now: dt.datetime) -> tuple[dt.datetime | None, int | None]:
    end = parse_ps_date((cert or {}).get("NotAfter"))
    return end, ((end - now).days if end else None)


class WinrmAdfsCheck(Check):
    """Base of the WinRM checks: targets, the session, the script, failures as evidence."""

    requirement = Requirement.ADFS
    needs = ("password", "winrm")
    role: ClassVar[str] = "adfs"
    script: ClassVar[str] = ""
    owners: ClassVar[dict[str, str]] = KIND_OWNERS
    remediation_common: ClassVar[dict[str, Text]] = {
        **KIND_REMEDIATION,
        "cmdlets": t(
            "The AD FS / WAP cmdlets failed for the support account. They need local "
            "administrator rights on the server: add the account to Administrators (or run "
            "the readiness check with an account that has them).",
            "AD FS-/WAP-cmdletarna misslyckades för supportkontot. De kräver lokal "
            "administratörsbehörighet på servern: lägg till kontot i Administratörer (eller "
            "kör kontrollen med ett konto som har den)."),
        "output": t(
            "The server's answer was not what the script writes. Run the script by hand on "
            "the server (see the details) and send the output to the supplier.",
            "Serverns svar var inte vad skriptet skriver. Kör skriptet manuellt på servern "
            "(se underlaget) och skicka utdata till leverantören."),
    }

    def _servers(self, profile: Profile) -> list[Server]:
        return [s for s in profile.servers if self.role in s.roles]

    def applies(self, profile: Profile) -> Text | None:
        name = "AD FS" if self.role == "adfs" else "WAP"
        servers = self._servers(profile)
        if not servers:
            return t(f"The profile lists no {name} server (role \"{self.role}\").",
                     f"Profilen anger ingen {name}-server (roll \"{self.role}\").")
        if not any("winrm" in s.remote for s in servers):
            return t(f"No {name} server lists winrm in remote, so it cannot be checked from "
                     "inside.", f"Ingen {name}-server har winrm i remote, så den kan inte "
                     "kontrolleras inifrån.")
        return None

    def targets(self, profile: Profile) -> list[Target]:
        return [Target(s.name, s) for s in self._servers(profile)]

    def params(self, ctx: CheckContext) -> dict[str, str]:
        """The script's parameters (passed as data, never spliced into the script)."""
        return {}

    def run(self, ctx: CheckContext, target: Target) -> Result:
        server: Server = target.data
        if "winrm" not in server.remote:
            return self.result(target, Status.SKIP, t(
                f"{server.name} does not list winrm in remote.",
                f"{server.name} har inte winrm i remote."), {"reason": "no_winrm"})
        details: dict[str, Any] = {"address": server.address}
        try:
            session = ctx.service("sessions").get(server, "winrm", ctx.timeout(SESSION_CAP))
            data = powershell_json(session, self.script, ctx.timeout(SCRIPT_CAP),
                                   self.params(ctx))
        except TransportError as exc:
            return self.result(target, Status.ERROR, failure_summary(exc, t(
                "Could not run the check over WinRM.",
                "Kontrollen kunde inte köras över WinRM.")),
                failure_details(exc, details), remediation_key(exc, "winrm"))
        if not isinstance(data, dict):
            details["output"] = str(data)[:500]
            return self.result(target, Status.ERROR, t(
                "The script's output is not the JSON object it writes.",
                "Skriptets utdata är inte det JSON-objekt det skriver."), details, "output")
        details["output"] = data
        return self.judge(ctx, target, server, data, details)

    def judge(self, ctx: CheckContext, target: Target, server: Server, data: dict[str, Any],
              details: dict[str, Any]) -> Result:
        """Decide from the script's JSON ``data``."""
        raise NotImplementedError

    def conclude_result(self, target: Target, findings: list[Finding], ok_en: str, ok_sv: str,
                        details: dict[str, Any]) -> Result:
        """One result from findings (worst decides), like the HTTP checks."""
        status, summary, fix = conclude(findings, ok_en, ok_sv)
        return self.result(target, status, summary, details, fix, due=earliest_due(findings))


def _errors(data: dict[str, Any]) -> list[Finding]:
    errors = [str(e) for e in as_list(data.get("Errors")) if e]
    if not errors:
        return []
    text = "; ".join(errors)[:400]
    return [Finding(Status.WARN, f"Cmdlets failed: {text}.", f"Cmdletar misslyckades: {text}.",
                    "cmdlets")]


# --- adfs.service ------------------------------------------------------------------------

class AdfsServiceCheck(WinrmAdfsCheck):
    """``adfssrv`` runs; Get-AdfsProperties essentials; farm behaviour level; WID sync."""

    id = "adfs.service"
    owners = {**WinrmAdfsCheck.owners, "name": "supplier"}
    role = "adfs"
    script = SERVICE_SCRIPT
    title = t("AD FS service", "AD FS-tjänsten")
    description = t(
        "Over WinRM: the AD FS service (adfssrv) runs and starts automatically, the farm "
        "serves the expected federation service, its behaviour level, WID synchronisation.",
        "Över WinRM: AD FS-tjänsten (adfssrv) körs och startar automatiskt, farmen betjänar "
        "rätt federationstjänst, dess funktionsnivå och WID-synkronisering.")
    remediation = {
        **WinrmAdfsCheck.remediation_common,
        "default": t("Check the AD FS service on the server (Get-Service adfssrv, the AD FS/"
                     "Admin event log).", "Kontrollera AD FS-tjänsten på servern (Get-Service "
                     "adfssrv, händelseloggen AD FS/Admin)."),
        "not_installed": t(
            "The AD FS service does not exist on this server. Check the server's role in the "
            "profile, or install and configure AD FS.",
            "AD FS-tjänsten finns inte på servern. Kontrollera serverns roll i profilen, "
            "eller installera och konfigurera AD FS."),
        "stopped": t(
            "Start the AD FS service (Start-Service adfssrv) and read the AD FS/Admin event "
            "log for why it stopped (often the service account's password, the configuration "
            "database, or a certificate's private key).",
            "Starta AD FS-tjänsten (Start-Service adfssrv) och läs händelseloggen AD FS/Admin "
            "om varför den stoppade (ofta tjänstekontots lösenord, konfigurationsdatabasen "
            "eller ett certifikats privata nyckel)."),
        "start_type": t(
            "Set the AD FS service to start automatically (Set-Service adfssrv -StartupType "
            "Automatic), or it stays down after the next restart.",
            "Ställ in AD FS-tjänsten att starta automatiskt (Set-Service adfssrv -StartupType "
            "Automatic), annars är den nere efter nästa omstart."),
        "name": t(
            "The farm serves another federation service than the profile names. Correct "
            "[adfs] federation_service, or check that this is the right farm.",
            "Farmen betjänar en annan federationstjänst än profilen anger. Rätta [adfs] "
            "federation_service, eller kontrollera att detta är rätt farm."),
        "fbl": t(
            "The farm runs at behaviour level 1 (Windows Server 2012 R2), which is out of "
            "support. Move the farm to supported servers and raise the level "
            "(Invoke-AdfsFarmBehaviorLevelRaise).",
            "Farmen har funktionsnivå 1 (Windows Server 2012 R2), som saknar support. Flytta "
            "farmen till servrar med support och höj nivån (Invoke-AdfsFarmBehaviorLevelRaise)."),
        "sync": t(
            "This secondary AD FS server's last synchronisation from the primary failed. "
            "Check that the primary answers on HTTP port 80 from here and read the AD FS/"
            "Admin event log.",
            "Den här sekundära AD FS-serverns senaste synkronisering från den primära "
            "misslyckades. Kontrollera att den primära svarar på HTTP-port 80 härifrån och "
            "läs händelseloggen AD FS/Admin."),
    }

    def judge(self, ctx: CheckContext, target: Target, server: Server, data: dict[str, Any],
              details: dict[str, Any]) -> Result:
        svc = data.get("Service") or None
        if not isinstance(svc, dict):
            return self.result(target, Status.FAIL, t(
                "The AD FS service (adfssrv) does not exist on this server.",
                "AD FS-tjänsten (adfssrv) finns inte på servern."), details, "not_installed")
        status = str(svc.get("Status", ""))
        if status != "Running":
            return self.result(target, Status.FAIL, t(
                f"The AD FS service (adfssrv) is {status or 'not running'}: sign-in through "
                "this server fails.", f"AD FS-tjänsten (adfssrv) är {status or 'inte igång'}: "
                "inloggning via servern misslyckas."), details, "stopped")
        findings = _errors(data)
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


# --- adfs.certificates ------------------------------------------------------------------

_TYPE_TEXT = {"Token-Signing": ("token-signing", "tokensignering"),
              "Token-Decrypting": ("token-decrypting", "tokendekryptering"),
              "Service-Communications": ("service-communications", "tjänstekommunikation")}


class AdfsCertificatesCheck(WinrmAdfsCheck):
    """AD FS's own certificates and the SSL binding of the federation service name."""

    id = "adfs.certificates"
    role = "adfs"
    script = CERTIFICATES_SCRIPT
    title = t("AD FS certificates", "AD FS-certifikat")
    description = t(
        "Over WinRM: token-signing, token-decrypting and SSL certificates are valid and not "
        "expiring, AutoCertificateRollover, and an SSL binding for the federation service "
        "name with a certificate that covers it.",
        "Över WinRM: certifikaten för tokensignering, tokendekryptering och SSL är giltiga "
        "och går inte snart ut, AutoCertificateRollover, och en SSL-bindning för "
        "federationstjänstens namn med ett certifikat som täcker det.")
    remediation = {
        **WinrmAdfsCheck.remediation_common,
        "default": t("Check the AD FS certificates (Get-AdfsCertificate, "
                     "Get-AdfsSslCertificate).", "Kontrollera AD FS-certifikaten "
                     "(Get-AdfsCertificate, Get-AdfsSslCertificate)."),
        "expired": t(
            "A primary AD FS certificate has expired. Token-signing/decrypting: with "
            "AutoCertificateRollover run Update-AdfsCertificate -Urgent, otherwise install a "
            "new one and Set-AdfsCertificate -IsPrimary; then every relying party, including "
            "the supplier's integration, must read the new metadata.",
            "Ett primärt AD FS-certifikat har gått ut. Tokensignering/-dekryptering: med "
            "AutoCertificateRollover kör Update-AdfsCertificate -Urgent, annars installera ett "
            "nytt och Set-AdfsCertificate -IsPrimary; därefter måste varje förlitande part, "
            "även leverantörens integration, läsa in den nya metadatan."),
        "expiring": t(
            "An AD FS certificate expires soon. Renew it (SSL: a new certificate bound with "
            "Set-AdfsSslCertificate on every node and Set-WebApplicationProxySslCertificate on "
            "every WAP; token certificates: AutoCertificateRollover or a manual renewal), and "
            "tell the supplier before a token-signing certificate changes.",
            "Ett AD FS-certifikat går snart ut. Förnya det (SSL: ett nytt certifikat bundet med "
            "Set-AdfsSslCertificate på varje server och Set-WebApplicationProxySslCertificate "
            "på varje WAP; tokencertifikat: AutoCertificateRollover eller manuell förnyelse) "
            "och meddela leverantören innan ett certifikat för tokensignering byts."),
        "not_running": t(
            "Start the AD FS service (Start-Service adfssrv), then run the check again.",
            "Starta AD FS-tjänsten (Start-Service adfssrv) och kör sedan kontrollen igen."),
        "rollover": t(
            "A secondary token-signing certificate exists: a rollover is pending. Give its "
            "certificate to relying parties that do not read metadata (such as the supplier's "
            "SSO integration) before it becomes primary.",
            "Ett sekundärt certifikat för tokensignering finns: ett byte väntar. Ge "
            "certifikatet till förlitande parter som inte läser metadata (som leverantörens "
            "SSO-integration) innan det blir primärt."),
        "no_binding": t(
            "No SSL binding exists for the federation service name on the HTTPS port: clients "
            "get the connection reset. Bind the certificate with Set-AdfsSslCertificate "
            "-Thumbprint <thumbprint>.",
            "Det finns ingen SSL-bindning för federationstjänstens namn på HTTPS-porten: "
            "klienter får anslutningen återställd. Bind certifikatet med Set-AdfsSslCertificate "
            "-Thumbprint <tumavtryck>."),
        "tls_client_port": t(
            "No SSL binding for the certificate-authentication port (TlsClientPort, "
            "default 49443): certificate sign-in fails. Run Set-AdfsSslCertificate "
            "-Thumbprint <thumbprint> again, which binds both ports.",
            "Ingen SSL-bindning för porten för certifikatinloggning (TlsClientPort, normalt "
            "49443): certifikatinloggning misslyckas. Kör Set-AdfsSslCertificate -Thumbprint "
            "<tumavtryck> igen, som binder båda portarna."),
        "ssl_name": t(
            "The bound SSL certificate does not cover the federation service name. Bind a "
            "certificate whose subject alternative names include it.",
            "Det bundna SSL-certifikatet täcker inte federationstjänstens namn. Bind ett "
            "certifikat vars alternativa namn (SAN) innehåller det."),
        "ssl_missing": t(
            "A bound SSL certificate is missing from the computer's certificate store. "
            "Import it (with its private key) or bind the one that is there.",
            "Ett bundet SSL-certifikat saknas i datorns certifikatarkiv. Importera det (med "
            "privat nyckel) eller bind det som finns där."),
        "mixed": t(
            "The SSL bindings use different certificates. Bind the same certificate to every "
            "AD FS port with Set-AdfsSslCertificate.",
            "SSL-bindningarna använder olika certifikat. Bind samma certifikat till alla "
            "AD FS-portar med Set-AdfsSslCertificate."),
    }

    def judge(self, ctx: CheckContext, target: Target, server: Server, data: dict[str, Any],
              details: dict[str, Any]) -> Result:
        if "ServiceStatus" in data:
            state = data.get("ServiceStatus")
            return self.result(target, Status.ERROR, t(
                f"The AD FS service is {state}, so its certificates cannot be read (see "
                "adfs.service).", f"AD FS-tjänsten är {state}, så certifikaten kan inte läsas "
                "(se adfs.service)."), details, "not_running")
        now = ctx.now()
        cfg = ctx.profile.adfs
        warn_days = cfg.cert_warn_days if cfg else 30
        fs = (cfg.federation_service if cfg else str(data.get("HostName") or "")).lower()
        rollover_on = bool(data.get("AutoCertificateRollover"))
        findings: list[Finding] = []
        shown_en: list[str] = []
        shown_sv: list[str] = []
        certs = [c for c in as_list(data.get("Certificates")) if isinstance(c, dict)]
        for item in certs:
            kind = str(item.get("CertificateType") or "")
            en_name, sv_name = _TYPE_TEXT.get(kind, (kind, kind))
            primary = bool(item.get("IsPrimary"))
            end, days = _expiry(item.get("Certificate"), now)
            if end is None:
                continue
            which_en = "primary" if primary else "secondary"
            which_sv = "primära" if primary else "sekundära"
            label_en = f"{which_en} {en_name} certificate"
            label_sv = f"det {which_sv} certifikatet för {sv_name}"
            day = end.date().isoformat()
            soft = kind == "Service-Communications" or not primary
            if days is not None and end <= now:
                findings.append(Finding(Status.WARN if soft else Status.FAIL,
                                        f"The {label_en} expired on {day}.",
                                        f"{label_sv[:1].upper() + label_sv[1:]} gick ut {day}.",
                                        "expiring" if soft else "expired", due=end))
            elif days is not None and days < warn_days and primary:
                auto_en = auto_sv = ""
                if kind != "Service-Communications":
                    auto_en = (" AutoCertificateRollover will replace it." if rollover_on else
                               " AutoCertificateRollover is off: renew it by hand.")
                    auto_sv = (" AutoCertificateRollover ersätter det." if rollover_on else
                               " AutoCertificateRollover är av: förnya det manuellt.")
                findings.append(Finding(Status.WARN, f"The {label_en} expires in {days} days "
                                        f"({day}).{auto_en}", f"{label_sv[:1].upper()}"
                                        f"{label_sv[1:]} går ut om {days} dagar ({day})."
                                        f"{auto_sv}", "expiring", due=end))
            if kind == "Token-Signing" and not primary and end > now:
                findings.append(Finding(Status.WARN, f"A secondary token-signing certificate "
                                        f"(valid until {day}) is waiting: a rollover is "
                                        "pending.", "Ett sekundärt certifikat för "
                                        f"tokensignering (giltigt till {day}) väntar: ett "
                                        "byte pågår.", "rollover"))
            if primary and kind in ("Token-Signing", "Token-Decrypting"):
                shown_en.append(f"{en_name} until {day}")
                shown_sv.append(f"{sv_name} till {day}")
        findings += self._ssl(data, fs, now, warn_days, shown_en, shown_sv)
        auto_en = "on" if rollover_on else "off"
        auto_sv = "på" if rollover_on else "av"
        ok_en = (f"{', '.join(shown_en) or 'no token certificates listed'}; "
                 f"AutoCertificateRollover {auto_en}.")
        ok_sv = (f"{', '.join(shown_sv) or 'inga tokencertifikat listade'}; "
                 f"AutoCertificateRollover {auto_sv}.")
        return self.conclude_result(target, findings, ok_en, ok_sv, details)

    @staticmethod
    def _ssl(data: dict[str, Any], fs: str, now: dt.datetime, warn_days: int,
             shown_en: list[str], shown_sv: list[str]) -> list[Finding]:
        findings: list[Finding] = []
        bindings = [b for b in as_list(data.get("SslBindings")) if isinstance(b, dict)]
        port = data.get("HttpsPort") or 443
        tls_port = data.get("TlsClientPort") or 49443
        mine = [b for b in bindings if str(b.get("HostName", "")).lower() == fs]
        main = [b for b in mine if b.get("PortNumber") == port]
        if not main:
            findings.append(Finding(Status.FAIL, f"No SSL binding for {fs}:{port}.",
                                    f"Ingen SSL-bindning för {fs}:{port}.", "no_binding"))
        if not any(b.get("PortNumber") == tls_port for b in mine):
            findings.append(Finding(Status.WARN, f"No SSL binding for {fs}:{tls_port} "
                                    "(certificate authentication).", "Ingen SSL-bindning för "
                                    f"{fs}:{tls_port} (certifikatinloggning).",
                                    "tls_client_port"))
        hashes = {str(b.get("CertificateHash", "")).upper() for b in mine}
        if len(hashes) > 1:
            findings.append(Finding(Status.WARN, "The SSL bindings use different "
                                    "certificates.", "SSL-bindningarna använder olika "
                                    "certifikat.", "mixed"))
        store = {str(c.get("Thumbprint", "")).upper(): c
                 for c in as_list(data.get("SslCertificates")) if isinstance(c, dict)}
        for thumb in sorted({str(b.get("CertificateHash", "")).upper() for b in main}):
            cert = store.get(thumb)
            if cert is None or cert.get("Missing"):
                findings.append(Finding(Status.FAIL, f"The bound SSL certificate {thumb[:8]}… "
                                        "is not in the certificate store.", "Det bundna "
                                        f"SSL-certifikatet {thumb[:8]}… finns inte i "
                                        "certifikatarkivet.", "ssl_missing"))
                continue
            end, days = _expiry(cert, now)
            names = [str(n) for n in as_list(cert.get("DnsNames"))]
            if names and not name_covered(names, fs):
                findings.append(Finding(Status.FAIL, f"The SSL certificate names "
                                        f"{', '.join(names)}, not {fs}.", "SSL-certifikatet "
                                        f"anger {', '.join(names)}, inte {fs}.", "ssl_name"))
            if end is not None and days is not None:
                day = end.date().isoformat()
                shown_en.append(f"SSL until {day}")
                shown_sv.append(f"SSL till {day}")
                if end <= now:
                    findings.append(Finding(Status.FAIL, f"The SSL certificate expired on "
                                            f"{day}.", f"SSL-certifikatet gick ut {day}.",
                                            "expired", due=end))
                elif days < warn_days:
                    findings.append(Finding(Status.WARN, f"The SSL certificate expires in "
                                            f"{days} days ({day}).", "SSL-certifikatet går "
                                            f"ut om {days} dagar ({day}).", "expiring",
                                            due=end))
        return findings


# --- wap.health -------------------------------------------------------------------------

class WapHealthCheck(WinrmAdfsCheck):
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
    remediation = {
        **WinrmAdfsCheck.remediation_common,
        "default": t("Open the Remote Access Management console on the WAP, read the "
                     "Operations Status and the event logs (AD FS/Admin, Web Application "
                     "Proxy/Admin).", "Öppna konsolen Remote Access Management på WAP, läs "
                     "Operations Status och händelseloggarna (AD FS/Admin, Web Application "
                     "Proxy/Admin)."),
        "not_installed": t(
            "The Web Application Proxy service does not exist on this server. Check the "
            "server's role in the profile.",
            "Tjänsten Web Application Proxy finns inte på servern. Kontrollera serverns roll "
            "i profilen."),
        "stopped": t(
            "Start the Web Application Proxy service (Start-Service appproxysvc). If it "
            "stops again, check the proxy trust (wap.proxy_trust) and the AD FS/Admin log.",
            "Starta tjänsten Web Application Proxy (Start-Service appproxysvc). Stannar den "
            "igen, kontrollera proxyförtroendet (wap.proxy_trust) och loggen AD FS/Admin."),
        "unhealthy": t(
            "A WAP component is not healthy: follow the resolution in the details (from "
            "Get-WebApplicationProxyHealth), then check the proxy trust and the network path "
            "to AD FS.",
            "En WAP-komponent mår inte bra: följ åtgärden i underlaget (från "
            "Get-WebApplicationProxyHealth) och kontrollera sedan proxyförtroendet och "
            "nätvägen till AD FS."),
        "adfs_url": t(
            "The WAP publishes another AD FS than the profile names. Re-run "
            "Install-WebApplicationProxy -FederationServiceName <name> or correct the profile.",
            "WAP publicerar en annan AD FS än profilen anger. Kör "
            "Install-WebApplicationProxy -FederationServiceName <namn> igen eller rätta "
            "profilen."),
        "app_cert": t(
            "A published application's external certificate has expired or expires soon: "
            "install a new one and Set-WebApplicationProxyApplication "
            "-ExternalCertificateThumbprint.",
            "Ett publicerat programs externa certifikat har gått ut eller går snart ut: "
            "installera ett nytt och kör Set-WebApplicationProxyApplication "
            "-ExternalCertificateThumbprint."),
    }

    def judge(self, ctx: CheckContext, target: Target, server: Server, data: dict[str, Any],
              details: dict[str, Any]) -> Result:
        svc = data.get("Service") or None
        if not isinstance(svc, dict):
            return self.result(target, Status.FAIL, t(
                "The Web Application Proxy service (appproxysvc) does not exist here.",
                "Tjänsten Web Application Proxy (appproxysvc) finns inte här."), details,
                "not_installed")
        if svc.get("Status") != "Running":
            state = svc.get("Status") or "not running"
            return self.result(target, Status.FAIL, t(
                f"The Web Application Proxy service (appproxysvc) is {state}: nothing is "
                "published through this WAP.", f"Tjänsten Web Application Proxy (appproxysvc) "
                f"är {state}: inget publiceras via denna WAP."), details, "stopped")
        findings = _errors(data)
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
            end, days = _expiry(app.get("ExternalCertificate"), now)
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


# --- wap.proxy_trust --------------------------------------------------------------------

class WapProxyTrustCheck(WinrmAdfsCheck):
    """The WAP's proxy trust certificate, and whether the WAP still reaches AD FS."""

    id = "wap.proxy_trust"
    role = "wap"
    script = PROXY_TRUST_SCRIPT
    title = t("WAP proxy trust", "WAP proxyförtroende")
    description = t(
        "Over WinRM: the WAP's proxy trust certificate (CN=ADFS ProxyTrust - <WAP>) is valid "
        "and being renewed, the WAP reaches the federation service, and AD FS has not "
        "refused its configuration requests (event 422) in the last day.",
        "Över WinRM: WAP:ens certifikat för proxyförtroende (CN=ADFS ProxyTrust - <WAP>) är "
        "giltigt och förnyas, WAP når federationstjänsten, och AD FS har inte avvisat dess "
        "konfigurationsbegäranden (händelse 422) det senaste dygnet.")
    remediation = {
        **WinrmAdfsCheck.remediation_common,
        "default": t("Check the trust between WAP and AD FS (event logs AD FS/Admin on both).",
                     "Kontrollera förtroendet mellan WAP och AD FS (händelseloggen AD FS/Admin "
                     "på båda)."),
        "missing": t(
            "The WAP has no proxy trust certificate: it was never configured, or the "
            "certificate was removed. Run Install-WebApplicationProxy "
            "-FederationServiceName <name> -CertificateThumbprint <SSL thumbprint> on the WAP.",
            "WAP saknar certifikat för proxyförtroende: den har aldrig konfigurerats, eller "
            "certifikatet har tagits bort. Kör Install-WebApplicationProxy "
            "-FederationServiceName <namn> -CertificateThumbprint <SSL-tumavtryck> på WAP."),
        "expired": t(
            "The proxy trust has expired (typically after the WAP was off or cut off from AD "
            "FS for about two weeks): the WAP can no longer sign anyone in. Sync the clocks, "
            "then re-establish the trust with Install-WebApplicationProxy "
            "-FederationServiceName <name> -CertificateThumbprint <SSL thumbprint> "
            "(credentials of an AD FS administrator).",
            "Proxyförtroendet har gått ut (oftast efter att WAP varit avstängd eller avskuren "
            "från AD FS i ungefär två veckor): WAP kan inte längre logga in någon. "
            "Synkronisera klockorna och återupprätta förtroendet med "
            "Install-WebApplicationProxy -FederationServiceName <namn> -CertificateThumbprint "
            "<SSL-tumavtryck> (med en AD FS-administratörs inloggning)."),
        "stalled": t(
            "The proxy trust certificate should be renewed every few hours but expires soon: "
            "renewal is failing. Check that the WAP reaches AD FS on 443 and that the clocks "
            "agree; re-run Install-WebApplicationProxy if it does not recover.",
            "Certifikatet för proxyförtroende ska förnyas med några timmars mellanrum men går "
            "snart ut: förnyelsen misslyckas. Kontrollera att WAP når AD FS på 443 och att "
            "klockorna stämmer; kör Install-WebApplicationProxy igen om det inte återhämtar "
            "sig."),
        "unreachable": t(
            "The WAP cannot reach the federation service. Check DNS or the hosts file on the "
            "WAP (the name must point at AD FS, not at the WAP itself), and the firewall from "
            "the WAP to AD FS on 443.",
            "WAP når inte federationstjänsten. Kontrollera DNS eller hosts-filen på WAP "
            "(namnet ska peka på AD FS, inte på WAP själv) och brandväggen från WAP till "
            "AD FS på 443."),
        "events": t(
            "AD FS refused the WAP's configuration requests (event 422, HTTP 401) in the last "
            "day: the trust is broken or about to be. Re-establish it with "
            "Install-WebApplicationProxy.",
            "AD FS avvisade WAP:ens konfigurationsbegäranden (händelse 422, HTTP 401) det "
            "senaste dygnet: förtroendet är brutet eller på väg att brytas. Återupprätta det "
            "med Install-WebApplicationProxy."),
    }

    def params(self, ctx: CheckContext) -> dict[str, str]:
        cfg = ctx.profile.adfs
        if cfg is None:
            return {"FederationService": "", "FsPort": "443"}
        return {"FederationService": cfg.federation_service, "FsPort": str(https_port(cfg))}

    def judge(self, ctx: CheckContext, target: Target, server: Server, data: dict[str, Any],
              details: dict[str, Any]) -> Result:
        now = ctx.now()
        findings = _errors(data)
        certs = [c for c in as_list(data.get("Certificates")) if isinstance(c, dict)]
        dated = [(parse_ps_date(c.get("NotAfter")), c) for c in certs]
        dated = [(end, c) for end, c in dated if end is not None]
        ok_en, ok_sv = "", ""
        if not dated:
            findings.append(Finding(Status.FAIL, "No proxy trust certificate (CN=ADFS "
                                    "ProxyTrust - …) is on the WAP.", "Inget certifikat för "
                                    "proxyförtroende (CN=ADFS ProxyTrust - …) finns på WAP.",
                                    "missing"))
        else:
            end, newest = max(dated, key=lambda pair: pair[0])
            left = end - now
            when = end.strftime("%Y-%m-%d %H:%M UTC")
            details["newest_proxy_trust"] = {"subject": newest.get("Subject"),
                                             "not_after": end.isoformat(),
                                             "hours_left": round(left.total_seconds() / 3600, 1)}
            if left.total_seconds() <= 0:
                findings.append(Finding(Status.FAIL, f"The proxy trust certificate expired on "
                                        f"{when}: the WAP can no longer sign anyone in.",
                                        f"Certifikatet för proxyförtroende gick ut {when}: WAP "
                                        "kan inte längre logga in någon.", "expired",
                                        due=end))
            elif left < dt.timedelta(hours=PROXY_TRUST_WARN_HOURS):
                hours = left.total_seconds() / 3600
                findings.append(Finding(Status.WARN, f"The proxy trust certificate expires in "
                                        f"{hours:.0f} hours ({when}): renewal seems to fail.",
                                        f"Certifikatet för proxyförtroende går ut om "
                                        f"{hours:.0f} timmar ({when}): förnyelsen verkar "
                                        "misslyckas.", "stalled", due=end))
            ok_en = f"Proxy trust certificate valid until {when}"
            ok_sv = f"Certifikatet för proxyförtroende gäller till {when}"
        reach = data.get("Reach") if isinstance(data.get("Reach"), dict) else None
        if reach is not None:
            url = reach.get("Url", "")
            if reach.get("Ok"):
                ok_en += f"; the WAP reaches {url} (HTTP {reach.get('Status')})"
                ok_sv += f"; WAP når {url} (HTTP {reach.get('Status')})"
            else:
                why = reach.get("Status") or str(reach.get("Error") or "")[:200]
                findings.append(Finding(Status.FAIL, f"The WAP cannot reach {url} ({why}).",
                                        f"WAP når inte {url} ({why}).", "unreachable"))
        events = data.get("Events422")
        if isinstance(events, int) and events > 0:
            findings.append(Finding(Status.WARN, f"{events} event(s) 422 in the last day: AD "
                                    "FS refused the WAP's configuration requests.",
                                    f"{events} händelse(r) 422 det senaste dygnet: AD FS "
                                    "avvisade WAP:ens konfigurationsbegäranden.", "events"))
        elif events == 0:
            ok_en += "; no event 422 in the last day"
            ok_sv += "; ingen händelse 422 det senaste dygnet"
        return self.conclude_result(target, findings, (ok_en or "Proxy trust") + ".",
                                    (ok_sv or "Proxyförtroende") + ".", details)
