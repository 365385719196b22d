"""What the AD FS checks run inside the servers (adfs.service, adfs.certificates) tell
the reader to do, in English and Swedish, by remediation key."""

from __future__ import annotations

from accessready.agent.core.model import Text, t
from accessready.checks.common.winrm_script import SCRIPT_REMEDIATION

SERVICE_REMEDIATION: dict[str, Text] = {
    **SCRIPT_REMEDIATION,
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


CERTIFICATES_REMEDIATION: dict[str, Text] = {
    **SCRIPT_REMEDIATION,
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
