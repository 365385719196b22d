"""What the account checks tell the reader to do, in English and Swedish, by
remediation key (the decisions are in login.py, status.py and privileges.py)."""

from __future__ import annotations

from accessready.agent.core.model import Text, t
from accessready.agent.plugin.transport_texts import KIND_REMEDIATION

LOGIN_REMEDIATION: dict[str, Text] = {
    **KIND_REMEDIATION,
    "default": KIND_REMEDIATION["auth_failed_winrm"],
    "identity": t("The login works, but the identity command failed: read the evidence "
                  "(PowerShell may be restricted on the server).",
                  "Inloggningen fungerar, men identitetskommandot misslyckades: läs "
                  "underlaget (PowerShell kan vara begränsat på servern)."),
    "password_rejected": t(
        "The key works, but the password was rejected: check the password, which "
        "Windows servers and sudo need.",
        "Nyckeln fungerar, men lösenordet godtogs inte: kontrollera lösenordet, som "
        "Windows-servrarna och sudo behöver."),
    "insecure_allowed": KIND_REMEDIATION["insecure"],
}


STATUS_REMEDIATION: dict[str, Text] = {
    **KIND_REMEDIATION,
    "default": t("Ask the customer to look at the account in Active Directory (or on the "
                 "server) and correct what the evidence shows.",
                 "Be kunden titta på kontot i Active Directory (eller på servern) och "
                 "rätta det underlaget visar."),
    "expiring": t("The password expires soon: change it now (or ask the customer to), "
                  "and update it where the profile reads it.",
                  "Lösenordet går snart ut: byt det nu (eller be kunden göra det) och "
                  "uppdatera det där profilen hämtar det."),
    "account_ending": t("The account reaches its end date soon: ask the customer to "
                        "extend it (Set-ADAccountExpiration; on Linux chage -E).",
                        "Kontot når snart sitt slutdatum: be kunden förlänga det "
                        "(Set-ADAccountExpiration; på Linux chage -E)."),
    "unknown": t("The account's state could not be read in full: read the evidence.",
                 "Kontots status kunde inte läsas helt: läs underlaget."),
}


PRIVILEGES_REMEDIATION: dict[str, Text] = {
    **KIND_REMEDIATION,
    "default": t("Read the evidence.", "Läs underlaget."),
    "admin": t("Support on this server needs local administrator rights (AD FS and WAP "
               "cmdlets, services): ask the customer to add the support account to the "
               "server's Administrators group. If it is a member but shown as deny-only, "
               "it is a local account limited by UAC remote restrictions: use a domain "
               "account.",
               "Supporten på servern behöver lokala administratörsrättigheter (AD FS- och "
               "WAP-cmdlets, tjänster): be kunden lägga till supportkontot i serverns "
               "grupp Administratörer. Om kontot är medlem men visas som endast neka är "
               "det ett lokalt konto som begränsas av UAC:s fjärrbegränsningar: använd ett "
               "domänkonto."),
    "sudo": t("Support on this server needs sudo (to restart services and read logs): ask "
              "the customer for a sudoers rule for the support account.",
              "Supporten på servern behöver sudo (för att starta om tjänster och läsa "
              "loggar): be kunden om en sudoers-regel för supportkontot."),
}
