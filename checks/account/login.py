"""``account.login``: the support account logs in on each server, over each of its
command methods (WinRM, SSH), and runs a harmless identity command.

It proves the account works *now* on that path. Over WinRM with NTLM or Basic, Windows
gives one answer (HTTP 401) for a wrong password, an unknown user, and a locked, disabled
or expired account: the result says so, and ``account.status`` reads the real state over
another path when there is one. On Linux, OpenSSH hides the difference between a wrong
password, an unknown user and a locked account by design; an expired password is detected
(see the SSH transport). Login over RDP is not tested (that needs a full CredSSP client).
"""

from __future__ import annotations

from typing import Any

from accessready.agent.core import powershell
from accessready.agent.core.model import INSECURE, Requirement, Result, Status, Text, t
from accessready.agent.core.profile_types import Profile
from accessready.agent.io.transports.base import TransportError, powershell_json
from accessready.agent.plugin.checkapi import Check, CheckContext, Contact, Target
from accessready.agent.plugin.serverscript import COMMAND_METHODS, key_login_needs, session_contact
from accessready.agent.plugin.transport_texts import (
    KIND_OWNERS,
    credential_risk_note,
    failure_details,
    failure_summary,
    remediation_key,
    status_for,
)
from accessready.checks.account.common import no_account
from accessready.checks.account.parse import parse_id
from accessready.checks.account.texts import LOGIN_REMEDIATION

IDENTITY_SCRIPT = powershell.register("account.identity", r"""# accessready:account.identity
$id = [Security.Principal.WindowsIdentity]::GetCurrent()
$os = Get-CimInstance -ClassName Win32_OperatingSystem
[pscustomobject]@{
  User = $id.Name; Sid = $id.User.Value; Computer = $env:COMPUTERNAME
  OsCaption = $os.Caption; OsVersion = $os.Version
  PSVersion = $PSVersionTable.PSVersion.ToString()
} | ConvertTo-Json -Compress -Depth 3
""")


def method_targets(profile: Profile, needs: tuple[str, ...]) -> list[Target]:
    """One target per (server, command method) the server lists; (server, None) for a
    server reached by RDP only, so the report says its login was not tested."""
    out = []
    for s in profile.servers:
        methods = [m for m in COMMAND_METHODS if m in s.remote]
        out += [Target(s.name, (s, m), needs=key_login_needs(profile, m, needs))
                for m in methods]
        if not methods and s.remote:
            out.append(Target(s.name, (s, None)))
    return out


LOGIN_SESSION_CAP_S = 12.0


class LoginCheck(Check):
    """The support account authenticates on each server and runs a harmless command."""

    id = "account.login"
    owners = {**KIND_OWNERS, "password_rejected": "engineer"}
    requirement = Requirement.ACCOUNT
    title = t("Support account login", "Inloggning med supportkontot")
    description = t(
        "Per server and method (WinRM, SSH): log in with the support account and run an "
        "identity command (whoami / id).",
        "Per server och metod (WinRM, SSH): logga in med supportkontot och kör ett "
        "identitetskommando (whoami / id).")
    needs = ("password", "sessions")
    remediation = LOGIN_REMEDIATION

    def applies(self, profile: Profile) -> Text | None:
        return no_account(profile)

    def targets(self, profile: Profile) -> list[Target]:
        return method_targets(profile, self.needs)

    def first_contact(self, target: Target) -> Contact | None:
        server, method = target.data  # method None: reached by RDP only, no session
        return session_contact(server, (method,) if method else (), LOGIN_SESSION_CAP_S)

    def run(self, ctx: CheckContext, target: Target) -> Result:
        server, method = target.data
        if method is None:
            return self.result(target, Status.SKIP, t(
                "Reached by RDP only: a login over RDP needs a full CredSSP client and is not "
                "tested; add winrm or ssh to test the account here.",
                "Nås bara med RDP: en inloggning över RDP kräver en fullständig CredSSP-klient "
                "och testas inte; lägg till winrm eller ssh för att testa kontot här."),
                {"reason": "rdp_only"})
        sessions = ctx.service("sessions")
        base = {"method": method, "session": sessions.describe(server, method)}
        # The profile let the credentials go unprotected: every outcome says so, at the
        # report's top too (INSECURE), and a working login is at best a warning.
        risk = base["session"].get("credential_risk") \
            if base["session"].get("allow_insecure_credentials") else None
        if risk:
            base[INSECURE] = credential_risk_note(risk, base["session"].get("url", "")).to_json()
        try:
            transport = sessions.get(server, method, ctx.timeout(LOGIN_SESSION_CAP_S))
        except TransportError as exc:
            return self._failed(target, method, exc, base)
        details = {**base, "login": transport.evidence()}
        try:
            if method == "winrm":
                ident = powershell_json(transport, IDENTITY_SCRIPT, ctx.timeout(8.0))
                ident = ident if isinstance(ident, dict) else {}
                details["identity"] = ident
                who = ident.get("User") or "?"
                where = " ".join(str(x) for x in (ident.get("Computer"),
                                                  ident.get("OsCaption")) if x)
            else:
                result = transport.run(["id"], ctx.timeout(6.0))
                details["identity"] = result.to_json()
                if result.exit_code != 0:
                    raise TransportError("error", f"id exited {result.exit_code}",
                                         {"result": result.to_json()})
                parsed = parse_id(result.stdout)
                details["identity_parsed"] = parsed
                who, where = parsed.get("user", "?"), server.address
        except TransportError as exc:
            if exc.kind == "password_expired":
                return self._failed(target, method, exc, details)
            return self.result(target, Status.WARN, t(
                f"Logged in over {method}, but the identity command failed: {exc}",
                f"Inloggningen över {method} fungerar, men identitetskommandot "
                f"misslyckades: {exc}"), failure_details(exc, details), fix="identity")
        attempts = details["login"].get("auth", []) if method == "ssh" else []
        rejected = [a for a in attempts if a.get("method") in ("password",
                                                                "keyboard-interactive")
                    and a.get("result") == "rejected"]
        if rejected:
            return self.result(target, Status.WARN, t(
                f"Logged in over SSH as {who} with a key, but the password was rejected.",
                f"Inloggad över SSH som {who} med nyckel, men lösenordet godtogs inte."),
                details, fix="password_rejected")
        if risk:
            note = Text.from_json(base[INSECURE])
            return self.result(target, Status.WARN, t(
                f"Logged in over {method} as {who} ({where}), but unprotected: {note.en}",
                f"Inloggad över {method} som {who} ({where}), men oskyddat: {note.sv}"),
                details, fix="insecure_allowed")
        return self.result(target, Status.PASS, t(
            f"Logged in over {method} as {who} ({where}).",
            f"Inloggad över {method} som {who} ({where})."), details)

    def _failed(self, target: Target, method: str, exc: TransportError,
                base: dict[str, Any]) -> Result:
        details = failure_details(exc, base)
        if method == "winrm" and exc.kind == "auth_failed":
            details["distinguishable"] = (
                "no: NTLM/Basic give one HTTP 401 for a wrong password, an unknown user and "
                "a locked, disabled or expired account — see account.status")
            return self.result(target, Status.FAIL, t(
                "WinRM rejected the support account (HTTP 401): wrong password, unknown "
                "user, or a locked, disabled or expired account — Windows does not say "
                "which; account.status looks it up where it can.",
                "WinRM avvisade supportkontot (HTTP 401): fel lösenord, okänd användare "
                "eller ett låst, inaktiverat eller utgånget konto — Windows säger inte "
                "vilket; account.status tar reda på det där det går."),
                details, fix="auth_failed_winrm")
        if method == "ssh" and exc.kind == "auth_failed":
            details["distinguishable"] = ("no: OpenSSH answers a wrong password, an unknown "
                                          "user and a locked account alike")
        status = status_for(exc)
        prefix = t(f"Login over {method}:", f"Inloggning över {method}:") if \
            status is Status.FAIL else t(f"Login over {method} not tried:",
                                         f"Inloggning över {method} prövades inte:")
        return self.result(target, status, failure_summary(exc, prefix), details,
                           fix=remediation_key(exc, method))
