"""``adfs.certificates``: AD FS's own certificates and its SSL bindings, over WinRM.

``Get-AdfsCertificate``: token-signing and token-decrypting (and service-communications)
certificates, expiry, a pending rollover (a secondary certificate),
``AutoCertificateRollover``; ``Get-AdfsSslCertificate``: a binding for
``<federation service>:<HttpsPort>`` exists and its certificate is in the store, covers the
name and is not expiring. It does not check revocation. How the script runs:
:mod:`..common.winrm_script`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from accessready.agent.core import powershell
from accessready.agent.core.model import Result, Status, t
from accessready.agent.core.powershell import as_list
from accessready.agent.core.profile_types import Server
from accessready.agent.plugin.checkapi import CheckContext, Target
from accessready.checks.adfs.remediation import CERTIFICATES_REMEDIATION
from accessready.checks.common.findings import Finding
from accessready.checks.common.winrm_script import (
    ISO_HELPERS,
    WinrmScriptCheck,
    cert_expiry,
    name_covered,
)

CERTIFICATES_SCRIPT = powershell.register("adfs.certificates", r"""# accessready:adfs.certificates
# Read-only: AD FS certificates, SSL bindings and the bound certificates from the store.
""" + ISO_HELPERS + r"""
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

_TYPE_TEXT = {"Token-Signing": ("token-signing", "tokensignering"),
              "Token-Decrypting": ("token-decrypting", "tokendekryptering"),
              "Service-Communications": ("service-communications", "tjänstekommunikation")}


class AdfsCertificatesCheck(WinrmScriptCheck):
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
    remediation = CERTIFICATES_REMEDIATION

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
            end, days = cert_expiry(item.get("Certificate"), now)
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
            end, days = cert_expiry(cert, now)
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
