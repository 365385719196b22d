"""The one failure table: every way a probe or a transport can fail, what it means, in
Swedish and English, and whose move it is.

A *kind* is a short machine-readable word (``refused``, ``auth_failed``, …) that network
probes (:class:`~accessready.agent.core.outcome.ProbeOutcome`) and transports
(``TransportError``) both use. Each kind says *what it is about*:

* ``endpoint``: the service at ``host:port`` is not usable from here — a finding about
  the target or the path to it (``fail`` for the check that probes that service);
* ``account``: the service answered and refused the support account (``fail`` for the
  account checks; for any other check, the login decided nothing about its target);
* ``us``: this machine could not decide — its resolver, its files, its time budget, a
  missing package, a local error (``error``, never a finding about the target).

The status follows from that (:func:`status_of`), so there is no second table to drift.
Each ``says`` is a clause that follows the endpoint in a sentence: ``"vpn.example.se:443
refused the connection …"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from accessready.agent.core.model import Status, Text, t

ENDPOINT, ACCOUNT, US = "endpoint", "account", "us"


@dataclass(frozen=True)
class Failure:
    """One failure kind: what it is about, the clause that describes it, the fix."""

    about: str  # ENDPOINT | ACCOUNT | US
    says: Text
    fix: Text | None = None
    owner: str = "customer"  # who acts: customer / supplier / engineer
    # A sharper fix where the method (ssh, winrm) or a detail changes the advice.
    fix_for: Mapping[str, Text] = field(default_factory=dict)

    @property
    def status(self) -> Status:
        """FAIL when the endpoint or the account is at fault, ERROR when we are."""
        return Status.ERROR if self.about == US else Status.FAIL


_FIREWALL_FIX = t(
    "Make sure the server is running and that the firewalls let this machine reach the "
    "port, through the VPN and from the supplier's addresses.",
    "Se till att servern är igång och att brandväggarna släpper fram den här datorn till "
    "porten, genom VPN:et och från leverantörens adresser.")

FAILURES: dict[str, Failure] = {
    # -- the endpoint, or the path to it ------------------------------------------------
    "refused": Failure(ENDPOINT, t(
        "refused the connection (nothing listens, or a firewall rejects it)",
        "vägrade anslutningen (inget lyssnar, eller en brandvägg avvisar den)"), t(
        "Start the service or open the port: for WinRM run winrm quickconfig (for HTTPS, a "
        "listener with a certificate); for SSH start sshd; for RDP allow remote connections.",
        "Starta tjänsten eller öppna porten: för WinRM kör winrm quickconfig (för HTTPS en "
        "lyssnare med certifikat); för SSH starta sshd; för RDP tillåt fjärranslutningar.")),
    "timeout": Failure(ENDPOINT, t(
        "did not answer in time (a firewall drops the traffic, or the host is down)",
        "svarade inte i tid (en brandvägg stoppar trafiken, eller så är värden nere)"),
        _FIREWALL_FIX),
    "silent": Failure(ENDPOINT, t(
        "accepted the connection but did not answer in time (the service hangs or "
        "expects another protocol, or a firewall accepts and then drops)",
        "tog emot anslutningen men svarade inte i tid (tjänsten hänger eller väntar sig "
        "ett annat protokoll, eller så tar en brandvägg emot och släpper sedan trafiken)"), t(
        "Check that the port in the profile belongs to the right service and that the "
        "service is not hung (restart it); a firewall or load balancer that accepts "
        "connections it cannot forward looks the same.",
        "Kontrollera att porten i profilen hör till rätt tjänst och att tjänsten inte "
        "hänger sig (starta om den); en brandvägg eller lastbalanserare som tar emot "
        "anslutningar den inte kan vidarebefordra ser likadan ut.")),
    "unreachable": Failure(ENDPOINT, t(
        "is unreachable from this machine (no route)",
        "går inte att nå från den här datorn (ingen väg dit)"), t(
        "Check the server's address in the profile and that the VPN routes the server's "
        "network.",
        "Kontrollera serverns adress i profilen och att VPN:et routar serverns nät.")),
    "dns": Failure(ENDPOINT, t(
        "does not resolve (the name has no address in DNS)",
        "går inte att slå upp (namnet har ingen adress i DNS)"), t(
        "Check the server's name in the profile, or use its IP address; inside the customer "
        "network the internal DNS must know it.",
        "Kontrollera serverns namn i profilen eller använd dess IP-adress; i kundens nät "
        "måste den interna DNS:en känna till namnet.")),
    "reset": Failure(ENDPOINT, t("reset the connection", "återställde anslutningen (RST)"),
                     _FIREWALL_FIX),
    "closed": Failure(ENDPOINT, t(
        "closed the connection without answering", "stängde anslutningen utan att svara"),
        _FIREWALL_FIX),
    "protocol": Failure(ENDPOINT, t(
        "answered something that is not the expected protocol",
        "svarade med något som inte är det väntade protokollet"), t(
        "Check that the port in the profile belongs to the right service.",
        "Kontrollera att porten i profilen hör till rätt tjänst.")),
    "too_big": Failure(ENDPOINT, t(
        "sent a far larger answer than the protocol allows (refused unread: a broken or "
        "hostile server)",
        "skickade ett långt större svar än protokollet tillåter (det lästes inte: en "
        "trasig eller fientlig server)"), t(
        "Check that the port in the profile belongs to the right service.",
        "Kontrollera att porten i profilen hör till rätt tjänst.")),
    "tls": Failure(ENDPOINT, t(
        "failed the TLS handshake", "misslyckades med TLS-handskakningen"), t(
        "Set ca_file (the CA that issued the listener's certificate) in the server's winrm "
        "table, or give the listener a certificate for the name used in the profile.",
        "Ange ca_file (den CA som utfärdat lyssnarens certifikat) i serverns winrm-tabell, "
        "eller ge lyssnaren ett certifikat för namnet som används i profilen.")),
    "host_key_mismatch": Failure(ENDPOINT, t(
        "offered an SSH host key that differs from the one in known_hosts",
        "visade en SSH-värdnyckel som skiljer sig från den i known_hosts"), t(
        "Do not log in until the customer confirms the change: ask whether the server was "
        "reinstalled or got new keys, compare fingerprints, then remove the old entry "
        "(ssh-keygen -R <host>) and add the new one.",
        "Logga inte in förrän kunden bekräftat ändringen: fråga om servern installerats om "
        "eller fått nya nycklar, jämför fingeravtrycken, ta sedan bort den gamla posten "
        "(ssh-keygen -R <värd>) och lägg till den nya.")),
    # -- the support account ----------------------------------------------------------
    "auth_failed": Failure(ACCOUNT, t(
        "rejected the support account's credentials",
        "godtog inte supportkontots inloggningsuppgifter"), fix_for={
        "winrm": t(
            "Check the support account's password and that the account exists. Over WinRM "
            "(NTLM or Basic) Windows gives the same answer for a wrong password, an unknown "
            "user and a locked, disabled or expired account: see account.status on a server "
            "where the login works, or ask the customer to run Get-ADUser <account> "
            "-Properties Enabled,LockedOut,PasswordExpired.",
            "Kontrollera supportkontots lösenord och att kontot finns. Över WinRM (NTLM "
            "eller Basic) ger Windows samma svar för fel lösenord, okänd användare och ett "
            "låst, inaktiverat eller utgånget konto: se account.status på en server där "
            "inloggningen fungerar, eller be kunden köra Get-ADUser <konto> -Properties "
            "Enabled,LockedOut,PasswordExpired."),
        "ssh": t(
            "Check the support account's password (or key), that the account exists and is "
            "not locked on the server (passwd -S <account>), and that sshd lets it log in "
            "(PasswordAuthentication, AllowUsers, AllowGroups). OpenSSH gives the same "
            "answer for a wrong password, an unknown user and a locked account.",
            "Kontrollera supportkontots lösenord (eller nyckel), att kontot finns och inte "
            "är låst på servern (passwd -S <konto>) och att sshd tillåter inloggningen "
            "(PasswordAuthentication, AllowUsers, AllowGroups). OpenSSH ger samma svar för "
            "fel lösenord, okänd användare och låst konto.")}),
    "unknown_user": Failure(ACCOUNT, t(
        "does not know the support account", "känner inte till supportkontot"), t(
        "Check the account name in the profile ([account] username, e.g. 'DOMAIN\\user') "
        "and ask the customer to create the account if it is missing.",
        "Kontrollera kontonamnet i profilen ([account] username, t.ex. "
        "'DOMÄN\\användare') och be kunden skapa kontot om det saknas.")),
    "account_locked": Failure(ACCOUNT, t(
        "reports the support account locked out", "anger att supportkontot är utelåst"), t(
        "Ask the customer to unlock the account (Unlock-ADAccount, or Active Directory "
        "Users and Computers → Unlock) and to find what locked it, usually an old password "
        "saved somewhere.",
        "Be kunden låsa upp kontot (Unlock-ADAccount, eller Active Directory-användare och "
        "datorer → Lås upp) och ta reda på vad som låste det, oftast ett gammalt lösenord "
        "som sparats någonstans.")),
    "account_disabled": Failure(ACCOUNT, t(
        "reports the support account disabled", "anger att supportkontot är inaktiverat"), t(
        "Ask the customer to enable the account (Enable-ADAccount or Enable-LocalUser; on "
        "Linux usermod -U).",
        "Be kunden aktivera kontot (Enable-ADAccount eller Enable-LocalUser; på Linux "
        "usermod -U).")),
    "account_expired": Failure(ACCOUNT, t(
        "reports the support account expired",
        "anger att supportkontots giltighetstid har gått ut"), t(
        "Ask the customer to extend the account's end date (Set-ADAccountExpiration; on "
        "Linux chage -E).",
        "Be kunden förlänga kontots slutdatum (Set-ADAccountExpiration; på Linux "
        "chage -E).")),
    "password_expired": Failure(ACCOUNT, t(
        "reports the support account's password expired (it must be changed)",
        "anger att supportkontots lösenord har gått ut (det måste bytas)"), t(
        "Set a new password for the support account (or ask the customer to), then update "
        "it where the profile reads it (environment variable or keyring).",
        "Sätt ett nytt lösenord på supportkontot (eller be kunden göra det) och uppdatera "
        "det där profilen hämtar det (miljövariabel eller nyckelring).")),
    "access_denied": Failure(ACCOUNT, t(
        "let the support account log in but not use remote management",
        "lät supportkontot logga in men inte använda fjärrhantering"), t(
        "Ask the customer to add the support account to the server's Remote Management "
        "Users group, or Administrators where support needs it. A local (non-domain) "
        "administrator is also limited by UAC remote restrictions "
        "(LocalAccountTokenFilterPolicy).",
        "Be kunden lägga till supportkontot i serverns grupp Remote Management Users, "
        "eller Administratörer där supporten behöver det. En lokal administratör (utanför "
        "domänen) begränsas dessutom av UAC:s fjärrbegränsningar "
        "(LocalAccountTokenFilterPolicy).")),
    # -- this machine: the check could not decide ---------------------------------------
    "host_key_unknown": Failure(US, t(
        "offered an SSH host key that is not in known_hosts",
        "visade en SSH-värdnyckel som inte finns i known_hosts"), t(
        "Compare the fingerprint shown with the server's own (the customer runs ssh-keygen "
        "-lf on the server's /etc/ssh/ssh_host_*_key.pub). When it matches, add the key to "
        "known_hosts, or run once with --accept-new-host-keys.",
        "Jämför fingeravtrycket som visas med serverns eget (kunden kör ssh-keygen -lf på "
        "serverns /etc/ssh/ssh_host_*_key.pub). Om de stämmer, lägg till nyckeln i "
        "known_hosts eller kör en gång med --accept-new-host-keys."), "engineer", {
        "other_key_types_known": t(
            "Do not log in until the customer confirms the key: known_hosts knows this "
            "server by another key type, and a man in the middle need only offer a type you "
            "do not know. Compare the fingerprint shown with the server's own (ssh-keygen "
            "-lf on its /etc/ssh/ssh_host_*_key.pub) and add it to known_hosts by hand; "
            "--accept-new-host-keys never adds it.",
            "Logga inte in förrän kunden bekräftat nyckeln: known_hosts känner servern med "
            "en annan nyckeltyp, och en mellanhand behöver bara erbjuda en typ som du inte "
            "känner. Jämför fingeravtrycket som visas med serverns eget (ssh-keygen -lf på "
            "dess /etc/ssh/ssh_host_*_key.pub) och lägg till det i known_hosts för hand; "
            "--accept-new-host-keys lägger aldrig till det.")}),
    "resolver": Failure(US, t(
        "could not be looked up: this machine's DNS resolver did not answer",
        "kunde inte slås upp: den här datorns DNS-server svarade inte"), t(
        "Make sure this machine's DNS works (through the VPN when the name is internal), "
        "or use the server's IP address in the profile, and run again.",
        "Se till att den här datorns DNS fungerar (genom VPN:et när namnet är internt), "
        "eller använd serverns IP-adress i profilen, och kör igen."), "engineer"),
    "deadline": Failure(US, t(
        "could not be checked before the check's deadline (this machine was slow or busy, "
        "not necessarily the server)",
        "hann inte kontrolleras före kontrollens tidsgräns (den här datorn var långsam "
        "eller upptagen, inte nödvändigtvis servern)"), t(
        "Run again, with a longer [checks] timeout or fewer checks at once if this "
        "machine is busy.",
        "Kör igen, med längre [checks] timeout eller färre kontroller samtidigt om den här "
        "datorn är upptagen."), "engineer"),
    "insecure": Failure(US, t(
        "was not sent the support account's credentials: this connection would not "
        "protect them (the profile did not accept that risk)",
        "fick inte supportkontots inloggningsuppgifter: anslutningen skulle inte skydda "
        "dem (profilen godtar inte den risken)"), t(
        "Use HTTPS with a verified certificate: https = true in the server's winrm table, "
        "and ca_file (the CA that issued the WinRM listener's certificate) instead of "
        "verify = false; Basic and CredSSP need HTTPS. Only if the risk is understood and "
        "accepted: allow_insecure_credentials = true in that winrm table — the report then "
        "says so at the top.",
        "Använd HTTPS med verifierat certifikat: https = true i serverns winrm-tabell, och "
        "ca_file (den CA som utfärdat WinRM-lyssnarens certifikat) i stället för "
        "verify = false; Basic och CredSSP kräver HTTPS. Bara om risken är förstådd och "
        "godtagen: allow_insecure_credentials = true i den winrm-tabellen — rapporten säger "
        "det då högst upp."), "supplier"),
    "missing_dependency": Failure(US, t(
        "could not be used: a Python package this authentication method needs is missing",
        "kunde inte användas: ett Python-paket som autentiseringsmetoden behöver saknas"), t(
        "Install the package named in the details (e.g. pip install requests-credssp or "
        "pykerberos), or use another winrm.transport.",
        "Installera paketet som nämns i underlaget (t.ex. pip install requests-credssp "
        "eller pykerberos), eller använd en annan winrm.transport."), "engineer"),
    "error": Failure(US, t(
        "could not be checked (an error on this machine)",
        "kunde inte kontrolleras (ett fel på den här datorn)"), t(
        "Read the details and run again.", "Läs underlaget och kör igen."), "engineer"),
}


def failure(kind: str) -> Failure:
    """The table's entry for ``kind``; an unknown kind is ``error`` — it decides nothing
    about the target."""
    return FAILURES.get(kind, FAILURES["error"])


def status_of(kind: str) -> Status:
    """FAIL when the endpoint or account is at fault; ERROR when this machine is."""
    return failure(kind).status


def describe(where: str, kind: str, message: str = "", *, detail: bool = False) -> Text:
    """``"vpn.example.se:443 refused the connection …."`` in both languages; with
    ``detail`` the probe's own (English) ``message`` follows in parentheses."""
    says = failure(kind).says
    extra = f" ({message})" if detail and message else ""
    return t(f"{where} {says.en}{extra}.", f"{where} {says.sv}{extra}.")


def fix_for(kind: str, *refinements: str) -> Text | None:
    """The remediation for ``kind``: the first of ``refinements`` (a method such as
    ``winrm``/``ssh``, or a detail such as ``other_key_types_known``) with a sharper text,
    else the kind's own."""
    entry = failure(kind)
    for key in refinements:
        if key in entry.fix_for:
            return entry.fix_for[key]
    return entry.fix or next(iter(entry.fix_for.values()), None)
