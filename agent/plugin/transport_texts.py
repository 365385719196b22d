"""Texts shared by the remote, account and service checks: what each transport failure
kind means to the reader, and what to do about it, in English and Swedish.

The kinds are those of :class:`accessready.agent.io.transports.base.TransportError`.
"""

from __future__ import annotations

from typing import Any

from accessready.agent.core.model import Status, Text, t
from accessready.agent.io.transports.base import TransportError

# What went wrong, as a sentence a customer understands.
KIND_TEXT: dict[str, Text] = {
    "auth_failed": t("The server rejected the support account's credentials.",
                     "Servern godtog inte supportkontots inloggningsuppgifter."),
    "unknown_user": t("The server does not know the support account.",
                      "Servern känner inte till supportkontot."),
    "account_locked": t("The support account is locked out.", "Supportkontot är utelåst."),
    "account_disabled": t("The support account is disabled.", "Supportkontot är inaktiverat."),
    "account_expired": t("The support account has expired.",
                         "Supportkontots giltighetstid har gått ut."),
    "password_expired": t("The support account's password has expired and must be changed.",
                          "Supportkontots lösenord har gått ut och måste bytas."),
    "access_denied": t("The support account logged in but may not use remote management.",
                       "Supportkontot kunde logga in men får inte använda fjärrhantering."),
    "host_key_unknown": t("The server's SSH host key is not in known_hosts.",
                          "Serverns SSH-värdnyckel finns inte i known_hosts."),
    "host_key_mismatch": t("The server's SSH host key differs from the one in known_hosts.",
                           "Serverns SSH-värdnyckel skiljer sig från den i known_hosts."),
    "timeout": t("No answer in time: a firewall drops the traffic, or the server is down.",
                 "Inget svar i tid: en brandvägg stoppar trafiken eller så är servern nere."),
    "deadline": t("Could not be checked: the check's time ran out before this step could "
                  "start (this machine was slow or busy, not necessarily the server).",
                  "Kunde inte kontrolleras: kontrollens tid tog slut innan steget kunde "
                  "börja (den här datorn var långsam eller upptagen, inte nödvändigtvis "
                  "servern)."),
    "silent": t("The server accepted the connection but did not answer in time: the "
                "service hangs or expects another protocol, or a firewall accepts and drops.",
                "Servern tog emot anslutningen men svarade inte i tid: tjänsten hänger eller "
                "väntar sig ett annat protokoll, eller så tar en brandvägg emot och släpper "
                "sedan trafiken."),
    "resolver": t("The server's name could not be looked up: this machine's DNS resolver "
                  "did not answer.",
                  "Serverns namn kunde inte slås upp: den här datorns DNS-server svarade "
                  "inte."),
    "refused": t("The port is closed (the connection was refused).",
                 "Porten är stängd (anslutningen nekades)."),
    "unreachable": t("The server cannot be reached (no route to it).",
                     "Servern går inte att nå (det finns ingen väg dit)."),
    "dns": t("The server's name does not resolve.", "Serverns namn går inte att slå upp."),
    "tls": t("The TLS connection failed.", "TLS-anslutningen misslyckades."),
    "protocol": t("The server answered something unexpected.",
                  "Servern svarade något oväntat."),
    "insecure": t("The support account's credentials were not sent: this connection would "
                  "not protect them (the profile did not accept that risk).",
                  "Supportkontots inloggningsuppgifter skickades inte: anslutningen skulle "
                  "inte skydda dem (profilen godtar inte den risken)."),
    "too_big": t("The server sent a far larger answer than the protocol allows (refused "
                 "unread: a broken or hostile server).",
                 "Servern skickade ett långt större svar än protokollet tillåter (det lästes "
                 "inte: en trasig eller fientlig server)."),
    "missing_dependency": t("A Python package this authentication method needs is missing.",
                            "Ett Python-paket som autentiseringsmetoden behöver saknas."),
    "error": t("The connection could not be made.", "Anslutningen gick inte att upprätta."),
}

# Remediation per kind; "auth_failed_winrm" / "auth_failed_ssh" refine auth_failed.
KIND_REMEDIATION: dict[str, Text] = {
    "auth_failed_winrm": t(
        "Check the support account's password and that the account exists. Over WinRM "
        "(NTLM or Basic) Windows gives the same answer for a wrong password, an unknown user "
        "and a locked, disabled or expired account: see account.status on a server where the "
        "login works, or ask the customer to run Get-ADUser <account> -Properties "
        "Enabled,LockedOut,PasswordExpired.",
        "Kontrollera supportkontots lösenord och att kontot finns. Över WinRM (NTLM eller "
        "Basic) ger Windows samma svar för fel lösenord, okänd användare och ett låst, "
        "inaktiverat eller utgånget konto: se account.status på en server där inloggningen "
        "fungerar, eller be kunden köra Get-ADUser <konto> -Properties "
        "Enabled,LockedOut,PasswordExpired."),
    "auth_failed_ssh": t(
        "Check the support account's password (or key), that the account exists and is not "
        "locked on the server (passwd -S <account>), and that sshd lets it log in "
        "(PasswordAuthentication, AllowUsers, AllowGroups). OpenSSH gives the same answer "
        "for a wrong password, an unknown user and a locked account.",
        "Kontrollera supportkontots lösenord (eller nyckel), att kontot finns och inte är "
        "låst på servern (passwd -S <konto>) och att sshd tillåter inloggningen "
        "(PasswordAuthentication, AllowUsers, AllowGroups). OpenSSH ger samma svar för fel "
        "lösenord, okänd användare och låst konto."),
    "unknown_user": t(
        "Check the account name in the profile ([account] username, e.g. 'DOMAIN\\user') and "
        "ask the customer to create the account if it is missing.",
        "Kontrollera kontonamnet i profilen ([account] username, t.ex. 'DOMÄN\\användare') och "
        "be kunden skapa kontot om det saknas."),
    "account_locked": t(
        "Ask the customer to unlock the account (Unlock-ADAccount, or Active Directory Users "
        "and Computers → Unlock) and to find what locked it, usually an old password saved "
        "somewhere.",
        "Be kunden låsa upp kontot (Unlock-ADAccount, eller Active Directory-användare och "
        "datorer → Lås upp) och ta reda på vad som låste det, oftast ett gammalt lösenord "
        "som sparats någonstans."),
    "account_disabled": t(
        "Ask the customer to enable the account (Enable-ADAccount or Enable-LocalUser; on "
        "Linux usermod -U).",
        "Be kunden aktivera kontot (Enable-ADAccount eller Enable-LocalUser; på Linux "
        "usermod -U)."),
    "account_expired": t(
        "Ask the customer to extend the account's end date (Set-ADAccountExpiration; on "
        "Linux chage -E).",
        "Be kunden förlänga kontots slutdatum (Set-ADAccountExpiration; på Linux chage -E)."),
    "password_expired": t(
        "Set a new password for the support account (or ask the customer to), then update it "
        "where the profile reads it (environment variable or keyring).",
        "Sätt ett nytt lösenord på supportkontot (eller be kunden göra det) och uppdatera det "
        "där profilen hämtar det (miljövariabel eller nyckelring)."),
    "access_denied": t(
        "Ask the customer to add the support account to the server's Remote Management Users "
        "group, or Administrators where support needs it. A local (non-domain) administrator "
        "is also limited by UAC remote restrictions (LocalAccountTokenFilterPolicy).",
        "Be kunden lägga till supportkontot i serverns grupp Remote Management Users, eller "
        "Administratörer där supporten behöver det. En lokal administratör (utanför domänen) "
        "begränsas dessutom av UAC:s fjärrbegränsningar (LocalAccountTokenFilterPolicy)."),
    "host_key_unknown": t(
        "Compare the fingerprint shown with the server's own (the customer runs ssh-keygen -lf "
        "on the server's /etc/ssh/ssh_host_*_key.pub). When it matches, add the key to "
        "known_hosts, or run once with --accept-new-host-keys.",
        "Jämför fingeravtrycket som visas med serverns eget (kunden kör ssh-keygen -lf på "
        "serverns /etc/ssh/ssh_host_*_key.pub). Om de stämmer, lägg till nyckeln i "
        "known_hosts eller kör en gång med --accept-new-host-keys."),
    "host_key_mismatch": t(
        "Do not log in until the customer confirms the change: ask whether the server was "
        "reinstalled or got new keys, compare fingerprints, then remove the old entry "
        "(ssh-keygen -R <host>) and add the new one.",
        "Logga inte in förrän kunden bekräftat ändringen: fråga om servern installerats om "
        "eller fått nya nycklar, jämför fingeravtrycken, ta sedan bort den gamla posten "
        "(ssh-keygen -R <värd>) och lägg till den nya."),
    "host_key_other_type": t(
        "Do not log in until the customer confirms the key: known_hosts knows this server "
        "by another key type, and a man in the middle need only offer a type you do not "
        "know. Compare the fingerprint shown with the server's own (ssh-keygen -lf on its "
        "/etc/ssh/ssh_host_*_key.pub) and add it to known_hosts by hand; "
        "--accept-new-host-keys never adds it.",
        "Logga inte in förrän kunden bekräftat nyckeln: known_hosts känner servern med en "
        "annan nyckeltyp, och en mellanhand behöver bara erbjuda en typ som du inte känner. "
        "Jämför fingeravtrycket som visas med serverns eget (ssh-keygen -lf på dess "
        "/etc/ssh/ssh_host_*_key.pub) och lägg till det i known_hosts för hand; "
        "--accept-new-host-keys lägger aldrig till det."),
    "timeout": t(
        "Make sure the server is running and that the firewalls let this machine reach the "
        "port, through the VPN and from the supplier's addresses.",
        "Se till att servern är igång och att brandväggarna släpper fram den här datorn till "
        "porten, genom VPN:et och från leverantörens adresser."),
    "silent": t(
        "Check that the port in the profile belongs to the right service and that the "
        "service is not hung (restart it); a firewall or load balancer that accepts "
        "connections it cannot forward looks the same.",
        "Kontrollera att porten i profilen hör till rätt tjänst och att tjänsten inte "
        "hänger sig (starta om den); en brandvägg eller lastbalanserare som tar emot "
        "anslutningar den inte kan vidarebefordra ser likadan ut."),
    "resolver": t(
        "Make sure this machine's DNS works (through the VPN when the name is internal), "
        "or use the server's IP address in the profile, and run again.",
        "Se till att den här datorns DNS fungerar (genom VPN:et när namnet är internt), "
        "eller använd serverns IP-adress i profilen, och kör igen."),
    "refused": t(
        "Start the service or open the port: for WinRM run winrm quickconfig (for HTTPS, a "
        "listener with a certificate); for SSH start sshd; for RDP allow remote connections.",
        "Starta tjänsten eller öppna porten: för WinRM kör winrm quickconfig (för HTTPS en "
        "lyssnare med certifikat); för SSH starta sshd; för RDP tillåt fjärranslutningar."),
    "unreachable": t(
        "Check the server's address in the profile and that the VPN routes the server's "
        "network.",
        "Kontrollera serverns adress i profilen och att VPN:et routar serverns nät."),
    "dns": t(
        "Check the server's name in the profile, or use its IP address; inside the customer "
        "network the internal DNS must know it.",
        "Kontrollera serverns namn i profilen eller använd dess IP-adress; i kundens nät "
        "måste den interna DNS:en känna till namnet."),
    "tls": t(
        "Set ca_file (the CA that issued the listener's certificate) in the server's winrm "
        "table, or give the listener a certificate for the name used in the profile.",
        "Ange ca_file (den CA som utfärdat lyssnarens certifikat) i serverns winrm-tabell, "
        "eller ge lyssnaren ett certifikat för namnet som används i profilen."),
    "protocol": t(
        "Check that the port in the profile belongs to the right service.",
        "Kontrollera att porten i profilen hör till rätt tjänst."),
    "insecure": t(
        "Use HTTPS with a verified certificate: https = true in the server's winrm table, "
        "and ca_file (the CA that issued the WinRM listener's certificate) instead of "
        "verify = false; Basic and CredSSP need HTTPS. Only if the risk is understood and "
        "accepted: allow_insecure_credentials = true in that winrm table — the report then "
        "says so at the top.",
        "Använd HTTPS med verifierat certifikat: https = true i serverns winrm-tabell, och "
        "ca_file (den CA som utfärdat WinRM-lyssnarens certifikat) i stället för "
        "verify = false; Basic och CredSSP kräver HTTPS. Bara om risken är förstådd och "
        "godtagen: allow_insecure_credentials = true i den winrm-tabellen — rapporten säger "
        "det då högst upp."),
    "missing_dependency": t(
        "Install the package named in the details (e.g. pip install requests-credssp or "
        "pykerberos), or use another winrm.transport.",
        "Installera paketet som nämns i underlaget (t.ex. pip install requests-credssp eller "
        "pykerberos), eller använd en annan winrm.transport."),
    "error": t("Read the details and run again.", "Läs underlaget och kör igen."),
}

# What each WinrmEndpoint.credential_risk means, as the end of a sentence.
CREDENTIAL_RISK_TEXT: dict[str, Text] = {
    "unverified_tls": t("over TLS that is not verified (verify = false): whoever answers "
                        "receives them",
                        "över TLS som inte verifieras (verify = false): den som svarar "
                        "får dem"),
    "cleartext": t("with Basic over plain HTTP: the password crosses the network in "
                   "cleartext",
                   "med Basic över okrypterad HTTP: lösenordet går i klartext över nätet"),
    "credssp_unverified": t("with CredSSP over plain HTTP: the password is handed to a "
                            "server no certificate vouches for",
                            "med CredSSP över okrypterad HTTP: lösenordet lämnas till en "
                            "server som inget certifikat går i god för"),
}


def credential_risk_note(risk: str, url: str) -> Text:
    """The report-top notice for a server whose profile lets the credentials go
    unprotected (``allow_insecure_credentials``): said of the setting, so it holds whether
    this run's login got as far as sending them or not."""
    why = CREDENTIAL_RISK_TEXT.get(risk, CREDENTIAL_RISK_TEXT["unverified_tls"])
    return t(f"The profile lets the support account's credentials go to {url} {why.en} "
             "(allow_insecure_credentials = true).",
             f"Profilen låter supportkontots inloggningsuppgifter gå till {url} {why.sv} "
             "(allow_insecure_credentials = true).")


# Who acts on each: the customer's IT (the account, the server, its firewall and DNS) unless
# it is this machine's problem (its resolver, a Python package, an unknown host key).
KIND_OWNERS: dict[str, str] = {
    "host_key_unknown": "engineer",
    "resolver": "engineer",
    "missing_dependency": "engineer",
    "error": "engineer",
    # credentials refused, or sent only because the profile accepted the risk: the
    # profile's setting (verify = false, Basic over HTTP) is the supplier's to change
    "insecure": "supplier",
}

# Kinds that say something about the account; the others mean the login was not tried.
ACCOUNT_KINDS = frozenset({"auth_failed", "unknown_user", "account_locked", "account_disabled",
                           "account_expired", "password_expired", "access_denied"})


def remediation_key(exc: TransportError, method: str) -> str:
    """The KIND_REMEDIATION key for ``exc`` on ``method``."""
    if exc.kind == "auth_failed":
        return f"auth_failed_{method}" if method in ("ssh", "winrm") else "auth_failed_winrm"
    host_key = exc.details.get("host_key")
    if exc.kind == "host_key_unknown" and isinstance(host_key, dict) \
            and host_key.get("other_key_types_known"):
        return "host_key_other_type"
    return exc.kind if exc.kind in KIND_REMEDIATION else "error"


def failure_summary(exc: TransportError, prefix: Text | None = None) -> Text:
    """``prefix`` + the kind's sentence + the transport's own explanation (English)."""
    base = KIND_TEXT.get(exc.kind, KIND_TEXT["error"])
    en, sv = base.en, base.sv
    if prefix is not None:
        en, sv = f"{prefix.en} {en}", f"{prefix.sv} {sv}"
    return t(f"{en} ({exc})", f"{sv} ({exc})")


def failure_details(exc: TransportError, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Evidence for a transport failure."""
    return {**(extra or {}), "failure": exc.kind, "message": str(exc), **exc.details}


def status_for(exc: TransportError) -> Status:
    """FAIL when the account itself is the problem, ERROR when the login was not tried."""
    return Status.FAIL if exc.kind in ACCOUNT_KINDS else Status.ERROR

