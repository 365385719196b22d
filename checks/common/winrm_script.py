"""The base of the checks that look inside a Windows server over WinRM with one fixed,
read-only PowerShell script (``adfs.service``, ``adfs.certificates``, ``wap.health``,
``wap.proxy_trust``).

Each check logs in with the support account (the run's shared ``sessions`` service, one
WinRM session per server) and runs its script. Every script builds flat objects (dates as
ISO 8601 UTC, enums as strings) and ends in ``ConvertTo-Json``: nothing is scraped from
formatted text. Targets are the profile's servers with the check's ``role``; a server that
does not list ``winrm`` in ``remote`` is skipped (reason ``no_command_method``).

The support account needs local administrator rights for the AD FS and WAP cmdlets;
without them the cmdlets fail and the checks say so (remediation ``cmdlets``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, ClassVar

from accessready.agent.core.model import Requirement, Result, Status, Text, t
from accessready.agent.core.powershell import as_list, ps_datetime
from accessready.agent.core.profile_types import Profile, Server
from accessready.agent.plugin.checkapi import Check, CheckContext, Contact, Target
from accessready.agent.plugin.serverscript import (
    command_method,
    no_command_method,
    run_script,
    session_contact,
)
from accessready.agent.plugin.transport_texts import KIND_OWNERS, KIND_REMEDIATION
from accessready.checks.common.findings import Finding, conclude, earliest_due

SESSION_CAP = 15.0
SCRIPT_CAP = 30.0
WINRM = ("winrm",)

ISO_HELPERS = r"""
function Iso($d) {
    if ($null -ne $d) { ([datetime]$d).ToUniversalTime().ToString('o') } else { $null }
}
function CertFacts($c) {
    if ($null -eq $c) { return $null }
    [ordered]@{ Subject = [string]$c.Subject; Issuer = [string]$c.Issuer;
                Thumbprint = [string]$c.Thumbprint; NotBefore = Iso $c.NotBefore;
                NotAfter = Iso $c.NotAfter;
                DnsNames = @($c.DnsNameList | ForEach-Object { [string]$_ }) }
}
"""


def name_covered(names: list[str], host: str) -> bool:
    """Does a certificate with DNS ``names`` cover ``host`` (one-label wildcards)?"""
    host = host.lower().rstrip(".")
    for pattern in names:
        pattern = str(pattern).lower().rstrip(".")
        if pattern == host or (pattern.startswith("*.") and "." in host
                               and host.split(".", 1)[1] == pattern[2:]):
            return True
    return False


def cert_expiry(cert: dict[str, Any] | None,
                now: dt.datetime) -> tuple[dt.datetime | None, int | None]:
    """(when ``cert`` expires, whole days left) from its ``NotAfter``; (None, None) if unknown."""
    end = ps_datetime((cert or {}).get("NotAfter"))
    return end, ((end - now).days if end else None)


# Remediation every script check offers, beside the transport failures' own.
SCRIPT_REMEDIATION: dict[str, Text] = {
    **KIND_REMEDIATION,
    "cmdlets": t(
        "The AD FS / WAP cmdlets failed for the support account. They need local "
        "administrator rights on the server: add the account to Administrators (or run "
        "the readiness check with an account that has them).",
        "AD FS-/WAP-cmdletarna misslyckades för supportkontot. De kräver lokal "
        "administratörsbehörighet på servern: lägg till kontot i Administratörer (eller "
        "kör kontrollen med ett konto som har den)."),
    "output": t(
        "The server's answer was not what the script writes. Run the script by hand on "
        "the server (see the details) and send the output to the supplier.",
        "Serverns svar var inte vad skriptet skriver. Kör skriptet manuellt på servern "
        "(se underlaget) och skicka utdata till leverantören."),
}


class WinrmScriptCheck(Check):
    """Base of the checks that run one fixed script on a server of ``role`` over WinRM:
    targets, the session, the script, failures as evidence; subclasses :meth:`judge`."""

    requirement = Requirement.ADFS
    needs = ("password", "winrm")
    role: ClassVar[str] = "adfs"
    script: ClassVar[str] = ""
    owners: ClassVar[dict[str, str]] = KIND_OWNERS
    remediation_common: ClassVar[dict[str, Text]] = SCRIPT_REMEDIATION

    def _servers(self, profile: Profile) -> list[Server]:
        return [s for s in profile.servers if self.role in s.roles]

    def applies(self, profile: Profile) -> Text | None:
        name = "AD FS" if self.role == "adfs" else "WAP"
        servers = self._servers(profile)
        if not servers:
            return t(f"The profile lists no {name} server (role \"{self.role}\").",
                     f"Profilen anger ingen {name}-server (roll \"{self.role}\").")
        if not any("winrm" in s.remote for s in servers):
            return t(f"No {name} server lists winrm in remote, so it cannot be checked from "
                     "inside.", f"Ingen {name}-server har winrm i remote, så den kan inte "
                     "kontrolleras inifrån.")
        return None

    def targets(self, profile: Profile) -> list[Target]:
        return [Target(s.name, s) for s in self._servers(profile)]

    def first_contact(self, target: Target) -> Contact | None:
        return session_contact(target.data, WINRM, SESSION_CAP)

    def params(self, ctx: CheckContext) -> dict[str, str]:
        """The script's parameters (passed as data, never spliced into the script)."""
        return {}

    def run(self, ctx: CheckContext, target: Target) -> Result:
        server: Server = target.data
        if command_method(server, WINRM) is None:
            return no_command_method(self, target, WINRM)
        details: dict[str, Any] = {"address": server.address}
        data = run_script(ctx, server, "winrm", self.script, self.params(ctx), check=self,
                          target=target, details=details, session_cap=SESSION_CAP,
                          script_cap=SCRIPT_CAP, prefix=t(
                              "Could not run the check over WinRM.",
                              "Kontrollen kunde inte köras över WinRM."))
        if isinstance(data, Result):
            return data
        if not isinstance(data, dict):
            details["output"] = str(data)[:500]
            return self.result(target, Status.ERROR, t(
                "The script's output is not the JSON object it writes.",
                "Skriptets utdata är inte det JSON-objekt det skriver."), details, "output")
        details["output"] = data
        return self.judge(ctx, target, server, data, details)

    def judge(self, ctx: CheckContext, target: Target, server: Server, data: dict[str, Any],
              details: dict[str, Any]) -> Result:
        """Decide from the script's JSON ``data``."""
        raise NotImplementedError

    def service_down(self, target: Target, data: dict[str, Any], details: dict[str, Any],
                     missing: Text, stopped: Callable[[str, str], Text]) -> Result | None:
        """A ``fail`` when the script's ``Service`` is missing (``not_installed``) or not
        running (``stopped``, its state given to ``stopped`` in English and Swedish);
        None when it runs."""
        svc = data.get("Service") or None
        if not isinstance(svc, dict):
            return self.result(target, Status.FAIL, missing, details, "not_installed")
        state = str(svc.get("Status") or "")
        if state != "Running":
            return self.result(target, Status.FAIL, stopped(state or "not running",
                                                            state or "inte igång"),
                               details, "stopped")
        return None

    def conclude_result(self, target: Target, findings: list[Finding], ok_en: str, ok_sv: str,
                        details: dict[str, Any]) -> Result:
        """One result from findings (worst decides), like the HTTP checks."""
        status, summary, fix = conclude(findings, ok_en, ok_sv)
        return self.result(target, status, summary, details, fix, due=earliest_due(findings))


def cmdlet_errors(data: dict[str, Any]) -> list[Finding]:
    """A warning finding for the cmdlets the script reports as failed (its ``Errors``)."""
    errors = [str(e) for e in as_list(data.get("Errors")) if e]
    if not errors:
        return []
    text = "; ".join(errors)[:400]
    return [Finding(Status.WARN, f"Cmdlets failed: {text}.", f"Cmdletar misslyckades: {text}.",
                    "cmdlets")]
