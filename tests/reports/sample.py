"""Synthetic runs for the report tests: every requirement, every status, realistic evidence.

The demo covers only the check families that exist so far; these runs stand in for a full
customer so the renderers are tested on everything the design names.
"""

from __future__ import annotations

from accessready.agent.core.model import (
    Requirement,
    RequirementOutcome,
    Result,
    Run,
    Status,
    Text,
    Verdict,
    t,
)

R = Requirement
S = Status

CATALOGUE = {
    "admin.agreement": (t("Support agreement", "Supportavtal"),
                        t("A support agreement is recorded and valid.",
                          "Ett supportavtal finns och gäller.")),
    "workstation.os": (t("Engineer's operating system", "Teknikerns operativsystem"),
                       t("Windows 10/11 with current updates.",
                         "Windows 10/11 med aktuella uppdateringar.")),
    "anyconnect.gateway": (t("AnyConnect gateway", "AnyConnect-gateway"),
                           t("TLS and the AnyConnect auth exchange answer.",
                             "TLS och AnyConnects autentiseringsutbyte svarar.")),
    "anyconnect.split_tunnel": (t("AnyConnect split tunnel", "Delad tunnel i AnyConnect"),
                                t("Internal subnets use the tunnel; the internet does not.",
                                  "Interna nät går i tunneln; internet gör det inte.")),
    "teamviewer.network": (t("TeamViewer network", "TeamViewer-nätverk"),
                           t("TeamViewer routers resolve and answer.",
                             "TeamViewers routrar hittas och svarar.")),
    "account.login": (t("Support account login", "Inloggning med supportkontot"),
                      t("WinRM or SSH authentication works.",
                        "Autentisering via WinRM eller SSH fungerar.")),
    "remote.rdp": (t("Remote desktop", "Fjärrskrivbord"),
                   t("X.224 negotiation answers.", "X.224-förhandlingen svarar.")),
    "remote.winrm": (t("WinRM", "WinRM"), t("WS-Man Identify answers.",
                                            "WS-Man Identify svarar.")),
    "adfs.tls": (t("AD FS certificate", "AD FS-certifikat"),
                 t("Chain, name and expiry of the federation service's certificate.",
                   "Kedja, namn och giltighetstid för federationstjänstens certifikat.")),
    "wap.proxy_trust": (t("WAP proxy trust", "WAP-proxyförtroende"),
                        t("The proxy trust certificate is valid.",
                          "Proxyförtroendecertifikatet är giltigt.")),
    "service.running": (t("Integration services", "Integrationstjänster"),
                        t("Named services are running.", "Namngivna tjänster körs.")),
}


def catalogue() -> dict[str, dict]:
    """The run's catalogue section, as the JSON result carries it."""
    return {cid: {"id": cid, "title": title.to_json(), "description": desc.to_json(),
                  "requirement": cid.split(".")[0], "method": None, "needs": []}
            for cid, (title, desc) in CATALOGUE.items()}


def _r(check: str, req: Requirement, target: str, status: Status, summary: Text,
       details: dict | None = None, fix: Text | None = None, method: str | None = None,
       duration: float = 0.12, owner: str = "customer", due: str | None = None) -> Result:
    finding = status in (Status.WARN, Status.FAIL, Status.ERROR)
    return Result(check_id=check, target=target, status=status, summary=summary,
                  details=details or {}, remediation=fix, duration_s=duration,
                  requirement=req, method=method, owner=owner if finding else None,
                  due=due if finding else None)


FIX_GATEWAY = t("Open TCP 443 on vpn.exempel.se to the supplier and offer the group "
                "'Leverantorer'.",
                "Öppna TCP 443 på vpn.exempel.se för leverantören och erbjud gruppen "
                "'Leverantorer'.")
FIX_LOGIN = t("Unlock the support account and reset its password; tell the supplier "
              "through the support address.",
              "Lås upp supportkontot och återställ lösenordet; meddela leverantören via "
              "supportadressen.")
FIX_CERT = t("Renew the AD FS service communication certificate before it expires.",
             "Förnya AD FS-certifikatet för tjänstekommunikation innan det går ut.")


def full_results() -> list[Result]:
    """One realistic customer: every requirement, every status, access blocked."""
    return [
        _r("admin.agreement", R.ADMIN, "Exempel kommun", S.PASS,
           t("Agreement SA-2026-041 is valid until 2027-06-30.",
             "Avtal SA-2026-041 gäller till 2027-06-30."),
           {"agreement": "SA-2026-041", "days_left": 217}),
        _r("workstation.os", R.WORKSTATION, "this machine", S.WARN,
           t("Windows 10 22H2: last update 64 days ago.",
             "Windows 10 22H2: senaste uppdateringen för 64 dagar sedan."),
           {"build": "19045.4529", "last_update_days": 64},
           t("Install the latest Windows updates on the engineer's machine.",
             "Installera de senaste Windows-uppdateringarna på teknikerns dator."),
           owner="engineer"),
        _r("anyconnect.gateway", R.ACCESS, "vpn.exempel.se:443", S.FAIL,
           t("TLS handshake succeeded but group 'Leverantorer' is not offered.",
             "TLS-handskakningen lyckades men gruppen 'Leverantorer' erbjuds inte."),
           {"sent": "POST / HTTP/1.1\r\nHost: vpn.exempel.se\r\nX-Aggregate-Auth: 1\r\n\r\n"
                    "<?xml version=\"1.0\"?><config-auth client=\"vpn\" type=\"init\"/>",
            "received": {"status": 200, "groups": ["Personal", "Konsulter"]},
            "tls": {"version": "TLSv1.3", "cipher": "TLS_AES_256_GCM_SHA384"},
            "elapsed_ms": 143.2},
           FIX_GATEWAY, method="anyconnect", duration=0.31),
        _r("anyconnect.split_tunnel", R.ACCESS, "vpn.exempel.se", S.SKIP,
           t("Not checked: the gateway check failed.",
             "Ej kontrollerad: gatewaykontrollen misslyckades."), method="anyconnect"),
        _r("teamviewer.network", R.ACCESS, "router1.teamviewer.com", S.ERROR,
           t("Timed out after 10 s connecting to TCP 5938.",
             "Tidsgräns efter 10 s vid anslutning till TCP 5938."),
           {"port": 5938, "timeout_s": 10}, t(
               "The check could not decide; make sure this machine can reach the target.",
               "Kontrollen kunde inte avgöra; se till att datorn når målet."),
           method="teamviewer", duration=10.0, owner="engineer"),
        _r("account.login", R.ACCOUNT, "adfs01", S.FAIL,
           t("WinRM NTLM authentication was refused (HTTP 401).",
             "WinRM NTLM-autentisering nekades (HTTP 401)."),
           {"transport": "ntlm", "status": 401}, FIX_LOGIN),
        _r("account.login", R.ACCOUNT, "wap01", S.FAIL,
           t("WinRM NTLM authentication was refused (HTTP 401).",
             "WinRM NTLM-autentisering nekades (HTTP 401)."),
           {"transport": "ntlm", "status": 401}, FIX_LOGIN),
        _r("remote.rdp", R.REMOTE, "adfs01", S.PASS,
           t("RDP answers; NLA required.", "RDP svarar; NLA krävs."),
           {"protocol": "HYBRID", "elapsed_ms": 12.5}),
        _r("remote.winrm", R.REMOTE, "adfs01", S.PASS,
           t("WS-Man Identify answered (Microsoft Corporation).",
             "WS-Man Identify svarade (Microsoft Corporation)."),
           {"vendor": "Microsoft Corporation", "version": "OS: 10.0.17763"}),
        _r("adfs.tls", R.ADFS, "sts.exempel.se", S.WARN,
           t("Certificate expires in 21 days (2026-12-16).",
             "Certifikatet går ut om 21 dagar (2026-12-16)."),
           {"subject": "CN=sts.exempel.se", "not_after": "2026-12-16T23:59:59Z"}, FIX_CERT,
           due="2026-12-16"),
        _r("wap.proxy_trust", R.ADFS, "wap01", S.PASS,
           t("Proxy trust certificate valid for 190 days.",
             "Proxyförtroendecertifikatet gäller i 190 dagar till."), {"days_left": 190}),
        _r("service.running", R.SERVERS, "sync01", S.PASS,
           t("eventful-sync is running.", "eventful-sync körs."),
           {"unit": "eventful-sync.service", "active": "active (running)"}),
    ]


def outcomes() -> tuple[RequirementOutcome, ...]:
    """Requirement outcomes matching :func:`full_results`."""
    return (
        RequirementOutcome(R.ADMIN, S.PASS, False, t("All checks passed.",
                                                     "Alla kontroller godkända.")),
        RequirementOutcome(R.WORKSTATION, S.WARN, False, t("Warnings to look at.",
                                                           "Varningar att titta på.")),
        RequirementOutcome(R.ACCESS, S.FAIL, True, t(
            "No offered access method works: anyconnect (anyconnect.gateway).",
            "Ingen erbjuden åtkomstmetod fungerar: anyconnect (anyconnect.gateway).")),
        RequirementOutcome(R.ACCOUNT, S.FAIL, True, t(
            "The support account cannot log in on: adfs01, wap01.",
            "Supportkontot kan inte logga in på: adfs01, wap01.")),
        RequirementOutcome(R.REMOTE, S.PASS, False, t(
            "Every checked AD FS/WAP server is reachable.",
            "Alla kontrollerade AD FS/WAP-servrar går att nå.")),
        RequirementOutcome(R.ADFS, S.WARN, False, t("Warnings to look at.",
                                                    "Varningar att titta på.")),
        RequirementOutcome(R.SERVERS, S.PASS, False, t("All checks passed.",
                                                       "Alla kontroller godkända.")),
    )


def full_run(lang: str = "en", **changes: object) -> Run:
    """A finished, not-ready run over :func:`full_results`."""
    fields: dict = {
        "customer": "Exempel kommun",
        "profile_path": "/home/engineer/customers/exempel.toml",
        "started_at": "2026-11-25T09:14:03+01:00",
        "finished_at": "2026-11-25T09:14:14+01:00",
        "duration_s": 11.4,
        "results": tuple(full_results()),
        "verdict": Verdict.NOT_READY,
        "requirements": outcomes(),
        "host": {"hostname": "LAPTOP-ENG07", "user": "anna.tekniker",
                 "platform": "Windows 10", "python": "3.11.7"},
        "lang": lang,
        "tool_version": "0.1.0",
        "catalogue": catalogue(),
    }
    fields.update(changes)
    return Run(**fields)
