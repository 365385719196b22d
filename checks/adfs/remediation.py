"""What each AD FS check tells the reader to do, in English and Swedish, by remediation key:
the checks over HTTP/DNS/TLS (dns, tls, metadata, probe, clock_skew) and those run inside
the servers over WinRM (service, certificates). What the checks *found* is worded in
:mod:`.summaries`."""

from __future__ import annotations

from accessready.agent.core.model import Text, t
from accessready.checks.common.winrm_script import SCRIPT_REMEDIATION

DNS_REMEDIATION: dict[str, Text] = {
    "default": t(
        "Publish the federation service name in both DNS views: an A record in the "
        "internal zone pointing at the AD FS farm (or its load balancer) and one in the "
        "public zone pointing at the WAP (or the firewall that forwards to it).",
        "Publicera federationstjänstens namn i båda DNS-vyerna: en A-post i den interna "
        "zonen som pekar på AD FS-servrarna (eller deras lastbalanserare) och en i den "
        "publika zonen som pekar på WAP (eller brandväggen som vidarebefordrar dit)."),
    "missing_external": t(
        "Add an A record for the federation service name to the public DNS zone, "
        "pointing at the Web Application Proxy's public address. Without it nobody "
        "outside the network can sign in.",
        "Lägg till en A-post för federationstjänstens namn i den publika DNS-zonen som "
        "pekar på Web Application Proxys publika adress. Utan den kan ingen utanför "
        "nätverket logga in."),
    "missing_internal": t(
        "Add an A record for the federation service name to the internal DNS zone, "
        "pointing at the AD FS farm (or its internal load balancer). The WAP and internal "
        "clients find AD FS through it.",
        "Lägg till en A-post för federationstjänstens namn i den interna DNS-zonen som "
        "pekar på AD FS-servrarna (eller den interna lastbalanseraren). WAP och interna "
        "klienter hittar AD FS genom den."),
    "outside_to_adfs": t(
        "The public DNS answer points at an AD FS server itself. Publish AD FS to the "
        "Internet only through the Web Application Proxy: point the public record at the "
        "WAP.",
        "Det publika DNS-svaret pekar direkt på en AD FS-server. Publicera AD FS mot "
        "internet endast via Web Application Proxy: låt den publika posten peka på WAP."),
    "inside_to_wap": t(
        "The internal DNS answer points at the WAP, so internal users go through the "
        "proxy and lose Windows integrated sign-in. Point the internal record at the AD "
        "FS farm.",
        "Det interna DNS-svaret pekar på WAP, så interna användare går via proxyn och "
        "förlorar Windows-integrerad inloggning. Låt den interna posten peka på "
        "AD FS-servrarna."),
    "no_split": t(
        "Inside and outside get the same address. The usual layout is split-brain DNS: "
        "the internal zone answers with the AD FS farm, the public zone with the WAP. "
        "Confirm that this is intended (e.g. a load balancer in front of both).",
        "Internt och externt ges samma adress. Det vanliga är delad DNS (split-brain): "
        "den interna zonen svarar med AD FS-servrarna, den publika med WAP. Bekräfta att "
        "detta är avsiktligt (t.ex. en lastbalanserare framför båda)."),
    "cname": t(
        "Inside, the federation service name is a CNAME. Browsers build the Kerberos "
        "service name from the canonical name, so Windows integrated sign-in fails: "
        "replace the CNAME with an A record.",
        "Internt är federationstjänstens namn en CNAME. Webbläsare bygger "
        "Kerberos-tjänstenamnet från det kanoniska namnet, så Windows-integrerad "
        "inloggning misslyckas: ersätt CNAME-posten med en A-post."),
}


TLS_REMEDIATION: dict[str, Text] = {
    "default": t(
        "Bind a valid certificate for the federation service name on AD FS "
        "(Set-AdfsSslCertificate) and on every WAP (Set-WebApplicationProxySslCertificate).",
        "Bind ett giltigt certifikat för federationstjänstens namn på AD FS "
        "(Set-AdfsSslCertificate) och på varje WAP (Set-WebApplicationProxySslCertificate)."),
    "expired": t(
        "The SSL certificate has expired: browsers and federation partners refuse the "
        "sign-in page. Install a renewed certificate on every AD FS node "
        "(Set-AdfsSslCertificate -Thumbprint …) and every WAP "
        "(Set-WebApplicationProxySslCertificate -Thumbprint …).",
        "SSL-certifikatet har gått ut: webbläsare och federationspartner vägrar "
        "inloggningssidan. Installera ett förnyat certifikat på varje AD FS-server "
        "(Set-AdfsSslCertificate -Thumbprint …) och varje WAP "
        "(Set-WebApplicationProxySslCertificate -Thumbprint …)."),
    "not_yet_valid": t(
        "The certificate is not valid yet: check the server's clock and the certificate's "
        "start date.",
        "Certifikatet gäller inte ännu: kontrollera serverns klocka och certifikatets "
        "startdatum."),
    "expiring": t(
        "Renew the SSL certificate before it expires and bind it on every AD FS node and "
        "WAP (Set-AdfsSslCertificate, Set-WebApplicationProxySslCertificate).",
        "Förnya SSL-certifikatet innan det går ut och bind det på varje AD FS-server och "
        "WAP (Set-AdfsSslCertificate, Set-WebApplicationProxySslCertificate)."),
    "name_mismatch": t(
        "The certificate does not name the federation service. Issue one whose subject "
        "alternative names include it and bind it on AD FS and every WAP.",
        "Certifikatet gäller inte federationstjänstens namn. Utfärda ett certifikat vars "
        "alternativa namn (SAN) innehåller det och bind det på AD FS och varje WAP."),
    "self_signed": t(
        "A self-signed SSL certificate is trusted by no browser or partner. Replace it "
        "with one from a public CA (or your enterprise CA for internal-only use).",
        "Ett självsignerat SSL-certifikat litar ingen webbläsare eller partner på. Ersätt "
        "det med ett från en publik CA (eller er interna CA om tjänsten bara används "
        "internt)."),
    "untrusted": t(
        "This machine does not trust the certificate's issuer. If it comes from your own "
        "CA, give that CA's certificate in [adfs] ca_file and run again; otherwise install "
        "a certificate from a trusted CA, with its intermediate certificates.",
        "Den här datorn litar inte på certifikatets utfärdare. Kommer det från er egen CA, "
        "ange CA-certifikatet i [adfs] ca_file och kör igen; annars installera ett "
        "certifikat från en betrodd CA, med mellanliggande certifikat."),
    "old_tls": t(
        "Enable TLS 1.2 (and 1.3 where available) in SCHANNEL on AD FS and WAP, with the "
        "same settings on both; current browsers and Microsoft Entra refuse older "
        "versions.",
        "Aktivera TLS 1.2 (och 1.3 där det finns) i SCHANNEL på AD FS och WAP, med samma "
        "inställningar på båda; dagens webbläsare och Microsoft Entra vägrar äldre "
        "versioner."),
    "verify_off": t(
        "Certificate verification is turned off in the profile (verify = false): the "
        "result says nothing about trust. Remove verify = false, and give ca_file if the "
        "certificate comes from your own CA.",
        "Certifikatkontrollen är avstängd i profilen (verify = false): resultatet säger "
        "inget om förtroende. Ta bort verify = false och ange ca_file om certifikatet "
        "kommer från er egen CA."),
    "no_binding": t(
        "The server resets TLS even with the right server name: no SSL binding exists "
        "for the federation service name. Check Get-AdfsSslCertificate (AD FS) or "
        "netsh http show sslcert (WAP).",
        "Servern återställer TLS även med rätt servernamn: det finns ingen SSL-bindning "
        "för federationstjänstens namn. Kontrollera Get-AdfsSslCertificate (AD FS) eller "
        "netsh http show sslcert (WAP)."),
    "unreachable": t(
        "The HTTPS port cannot be reached from here: check the address (or name) in the "
        "profile, that the VPN routes to it, and that the firewalls let this machine "
        "reach the port.",
        "HTTPS-porten går inte att nå härifrån: kontrollera adressen (eller namnet) i "
        "profilen, att VPN:et routar dit och att brandväggarna släpper fram den här "
        "datorn till porten."),
    "refused": t(
        "Nothing accepts connections on the HTTPS port. Start the AD FS service "
        "(adfssrv) or the WAP service (appproxysvc), and open the port in the firewall.",
        "Inget tar emot anslutningar på HTTPS-porten. Starta AD FS-tjänsten (adfssrv) "
        "eller WAP-tjänsten (appproxysvc) och öppna porten i brandväggen."),
    "handshake": t(
        "The TLS handshake fails. Check the SSL binding and SCHANNEL protocol and cipher "
        "settings on the server.",
        "TLS-handskakningen misslyckas. Kontrollera SSL-bindningen och SCHANNEL-"
        "inställningarna för protokoll och chiffer på servern."),
}


METADATA_REMEDIATION: dict[str, Text] = {
    "default": t(
        "Check that AD FS serves /FederationMetadata/2007-06/FederationMetadata.xml and "
        "that every WAP publishes it.",
        "Kontrollera att AD FS levererar /FederationMetadata/2007-06/"
        "FederationMetadata.xml och att varje WAP publicerar den."),
    "fetch_failed": t(
        "The metadata could not be fetched on this path. Check that the AD FS service "
        "(adfssrv) runs and that the WAP can reach AD FS (firewall, DNS or hosts file on "
        "the WAP, proxy trust).",
        "Metadata kunde inte hämtas den här vägen. Kontrollera att AD FS-tjänsten "
        "(adfssrv) körs och att WAP når AD FS (brandvägg, DNS eller hosts-fil på WAP, "
        "proxyförtroende)."),
    "backend": t(
        "The WAP answers but cannot get the metadata from AD FS: sign-in through this WAP "
        "fails. Check the AD FS service, the WAP's name resolution of the federation "
        "service (DNS or hosts file), the firewall from WAP to AD FS on 443, and the proxy "
        "trust (Install-WebApplicationProxy).",
        "WAP svarar men får inte metadata från AD FS: inloggning via denna WAP "
        "misslyckas. Kontrollera AD FS-tjänsten, WAP:ens namnuppslagning av "
        "federationstjänsten (DNS eller hosts-fil), brandväggen från WAP till AD FS på 443 "
        "och proxyförtroendet (Install-WebApplicationProxy)."),
    "hostile": t(
        "The answer carries a DTD (an entity-expansion bomb or an external entity). AD FS "
        "never sends that: find out what answers on this address instead of AD FS.",
        "Svaret innehåller en DTD (en entitetsbomb eller en extern entitet). Det skickar "
        "AD FS aldrig: ta reda på vad som svarar på adressen i stället för AD FS."),
    "not_metadata": t(
        "The answer is not federation metadata. Check what answers on this address (an "
        "error page, another web server, a captive portal).",
        "Svaret är inte federationsmetadata. Kontrollera vad som svarar på adressen (en "
        "felsida, en annan webbserver, en inloggningsportal)."),
    "expired": t(
        "A token-signing or token-decrypting certificate has expired: relying parties "
        "reject the tokens. Renew it (Update-AdfsCertificate -CertificateType "
        "Token-Signing -Urgent with AutoCertificateRollover, or install and set a new "
        "one), then have every relying party, including the supplier's integration, read "
        "the new metadata.",
        "Ett certifikat för tokensignering eller tokendekryptering har gått ut: "
        "förlitande parter avvisar token. Förnya det (Update-AdfsCertificate "
        "-CertificateType Token-Signing -Urgent med AutoCertificateRollover, eller "
        "installera och ange ett nytt) och låt sedan varje förlitande part, även "
        "leverantörens integration, läsa in den nya metadatan."),
    "expiring": t(
        "A token-signing or token-decrypting certificate expires soon. With "
        "AutoCertificateRollover AD FS makes the successor 20 days before expiry and "
        "promotes it 5 days later; tell the supplier so its integration trusts the new "
        "certificate before promotion. Without rollover, renew it now.",
        "Ett certifikat för tokensignering eller tokendekryptering går snart ut. Med "
        "AutoCertificateRollover skapar AD FS efterträdaren 20 dagar före utgången och "
        "befordrar den 5 dagar senare; meddela leverantören så att integrationen litar "
        "på det nya certifikatet före befordran. Utan automatisk förnyelse: förnya nu."),
    "rollover": t(
        "Two token-signing certificates are published: a rollover is under way. Relying "
        "parties that do not read metadata automatically (such as the supplier's SSO "
        "integration) must add the new certificate before AD FS promotes it.",
        "Två certifikat för tokensignering publiceras: ett certifikatbyte pågår. "
        "Förlitande parter som inte läser metadata automatiskt (som leverantörens "
        "SSO-integration) måste lägga till det nya certifikatet innan AD FS befordrar det."),
    "unsigned": t(
        "The metadata is not signed, which AD FS always does. Check what serves it.",
        "Metadatan är inte signerad, vilket AD FS alltid gör. Kontrollera vad som "
        "levererar den."),
    "different": t(
        "Different paths serve different metadata: a WAP publishes another farm, or a "
        "stale copy is served. Partners that read the wrong copy reject the tokens: "
        "publish the same AD FS through every WAP (Get-WebApplicationProxyConfiguration "
        "ADFSUrl).",
        "Olika vägar levererar olika metadata: en WAP publicerar en annan AD FS-farm, "
        "eller en gammal kopia levereras. Partner som läser fel kopia avvisar token: "
        "publicera samma AD FS via varje WAP (Get-WebApplicationProxyConfiguration "
        "ADFSUrl)."),
    "cert_unreadable": t(
        "A certificate in the metadata cannot be read. Check the AD FS certificates "
        "(Get-AdfsCertificate).",
        "Ett certifikat i metadatan går inte att läsa. Kontrollera AD FS-certifikaten "
        "(Get-AdfsCertificate)."),
}


PROBE_REMEDIATION: dict[str, Text] = {
    "default": t(
        "Start the AD FS service (adfssrv) or the WAP service (appproxysvc) on the node "
        "and allow TCP 80 to it for health probes.",
        "Starta AD FS-tjänsten (adfssrv) eller WAP-tjänsten (appproxysvc) på servern och "
        "tillåt TCP 80 till den för hälsoprober."),
    "down": t(
        "This node fails its health probe, so load balancers take it out of service. "
        "Start the AD FS service (adfssrv) or the WAP service (appproxysvc), and allow "
        "TCP 80 to /adfs/probe.",
        "Den här servern klarar inte hälsoproben, så lastbalanserare tar den ur drift. "
        "Starta AD FS-tjänsten (adfssrv) eller WAP-tjänsten (appproxysvc) och tillåt "
        "TCP 80 till /adfs/probe."),
    "backend": t(
        "The WAP itself is up, but AD FS behind it does not answer through it: sign-in "
        "through this WAP fails while load balancers keep sending users to it. Check the "
        "AD FS service, the WAP's name resolution of the federation service, the firewall "
        "from WAP to AD FS on 443, and the proxy trust (Install-WebApplicationProxy).",
        "WAP är uppe, men AD FS bakom den svarar inte genom den: inloggning via denna WAP "
        "misslyckas medan lastbalanserare fortsätter skicka användare dit. Kontrollera "
        "AD FS-tjänsten, WAP:ens namnuppslagning av federationstjänsten, brandväggen från "
        "WAP till AD FS på 443 och proxyförtroendet (Install-WebApplicationProxy)."),
}


CLOCK_SKEW_REMEDIATION: dict[str, Text] = {
    "default": t(
        "Synchronise the server's clock: domain members with the domain hierarchy "
        "(w32tm /resync), a WAP outside the domain with a reliable NTP source "
        "(w32tm /config /manualpeerlist:… /syncfromflags:manual /update).",
        "Synkronisera serverns klocka: domänmedlemmar mot domänhierarkin (w32tm /resync), "
        "en WAP utanför domänen mot en pålitlig NTP-källa "
        "(w32tm /config /manualpeerlist:… /syncfromflags:manual /update)."),
    "farm": t(
        "The nodes' clocks differ. Above 5 minutes WAP's proxy trust with AD FS and "
        "Kerberos fail. Synchronise every AD FS and WAP node with the same time source "
        "(w32tm).",
        "Servrarnas klockor skiljer sig åt. Över 5 minuter slutar WAP:ens "
        "proxyförtroende mot AD FS och Kerberos att fungera. Synkronisera alla AD FS- och "
        "WAP-servrar mot samma tidskälla (w32tm)."),
    "local": t(
        "The servers agree with each other, but not with this machine: its own clock is "
        "probably wrong. Set this machine's time automatically and run again.",
        "Servrarna stämmer med varandra men inte med den här datorn: dess egen klocka går "
        "troligen fel. Ställ in tiden automatiskt på den här datorn och kör igen."),
    "no_date": t(
        "The node sent no usable Date header, so its clock could not be compared.",
        "Servern skickade inget användbart Date-huvud, så dess klocka kunde inte jämföras."),
}


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
