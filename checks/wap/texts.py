"""What the WAP checks tell the reader to do, in English and Swedish, by remediation key
(the decisions are in health.py and proxy_trust.py)."""

from __future__ import annotations

from accessready.agent.core.model import Text, t
from accessready.checks.common.winrm_script import SCRIPT_REMEDIATION

HEALTH_REMEDIATION: dict[str, Text] = {
    **SCRIPT_REMEDIATION,
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


PROXY_TRUST_REMEDIATION: dict[str, Text] = {
    **SCRIPT_REMEDIATION,
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
