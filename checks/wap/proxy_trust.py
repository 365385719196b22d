"""``wap.proxy_trust``: the WAP's trust with AD FS, seen from the WAP over WinRM.

The ``CN=ADFS ProxyTrust - <WAP>`` certificate (self-signed, about two weeks valid, renewed
by the WAP every 8 hours while it reaches AD FS) is present and valid; the WAP itself can
fetch ``/adfs/services/trust/mex`` from the federation service; no event 422 (proxy
configuration refused) in the last day. It cannot see AD FS's side of the trust (event 394
on the AD FS servers). How the script runs: :mod:`..common.winrm_script`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from accessready.agent.core import powershell
from accessready.agent.core.model import Result, Status, t
from accessready.agent.core.powershell import as_list, ps_datetime
from accessready.agent.core.profile_spec import DEFAULTS
from accessready.agent.core.profile_types import Server
from accessready.agent.plugin.checkapi import CheckContext, Target
from accessready.checks.common.findings import Finding
from accessready.checks.common.winrm_script import ISO_HELPERS, WinrmScriptCheck, cmdlet_errors
from accessready.checks.wap.texts import PROXY_TRUST_REMEDIATION

PROXY_TRUST_SCRIPT = powershell.register("wap.proxy_trust", r"""# accessready:wap.proxy_trust
# Read-only: the proxy trust certificate, the WAP's own view of AD FS, recent event 422.
""" + ISO_HELPERS + r"""
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

PROXY_TRUST_WARN_HOURS = 48  # renewal runs every 8 h: less than two days left means it stalls


class WapProxyTrustCheck(WinrmScriptCheck):
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
    remediation = PROXY_TRUST_REMEDIATION

    def params(self, ctx: CheckContext) -> dict[str, str]:
        cfg = ctx.profile.adfs
        if cfg is None:
            return {"FederationService": "", "FsPort": str(DEFAULTS["adfs.port"])}
        # the federation service's HTTPS port, final since the profile was built
        return {"FederationService": cfg.federation_service, "FsPort": str(cfg.ports["https"])}

    def judge(self, ctx: CheckContext, target: Target, server: Server, data: dict[str, Any],
              details: dict[str, Any]) -> Result:
        now = ctx.now()
        findings = cmdlet_errors(data)
        certs = [c for c in as_list(data.get("Certificates")) if isinstance(c, dict)]
        dated = [(ps_datetime(c.get("NotAfter")), c) for c in certs]
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
