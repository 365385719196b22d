"""``account.privileges``: the support account's group memberships and rights, reported,
with a warning where it lacks what support needs for the server's role.

Windows: ``whoami /groups`` and ``/priv`` plus an effective-administrator test that honours
UAC's deny-only groups; Linux: ``id`` and ``sudo -n -l``. It cannot prove that a particular
support task will be allowed.
"""

from __future__ import annotations

from typing import Any

from accessready.agent.core import powershell
from accessready.agent.core.model import Requirement, Result, Status, t
from accessready.agent.core.powershell import as_list
from accessready.agent.core.profile_types import Server
from accessready.agent.io.transports.base import TransportError
from accessready.agent.plugin.checkapi import CheckContext, Target
from accessready.agent.plugin.serverscript import failure_result, run_script, session
from accessready.agent.plugin.transport_texts import KIND_OWNERS
from accessready.checks.account.common import ServerAccountCheck
from accessready.checks.account.parse import parse_id, parse_sudo
from accessready.checks.account.texts import PRIVILEGES_REMEDIATION

PRIVILEGES_SCRIPT = powershell.register("account.privileges", r"""# accessready:account.privileges
$id = [Security.Principal.WindowsIdentity]::GetCurrent()
$principal = New-Object Security.Principal.WindowsPrincipal $id
$groups = @(whoami.exe /groups /fo csv |
  ConvertFrom-Csv -Header 'Name', 'Type', 'Sid', 'Attributes' | Select-Object -Skip 1)
$privs = @(whoami.exe /priv /fo csv | ConvertFrom-Csv -Header 'Name', 'Description', 'State' |
  Select-Object -Skip 1)
[pscustomobject]@{
  User = $id.Name; Sid = $id.User.Value
  IsAdmin = $principal.IsInRole([Security.Principal.SecurityIdentifier]'S-1-5-32-544')
  # Groups in the token with SE_GROUP_USE_FOR_DENY_ONLY: SIDs, the same in every language
  DenyOnlySids = @($id.Claims | Where-Object { $_.Type -like '*/denyonlysid' } |
    ForEach-Object { $_.Value })
  Groups = @($groups | ForEach-Object { [pscustomobject]@{
    Name = $_.Name; Type = $_.Type; Sid = $_.Sid; Attributes = $_.Attributes } })
  Privileges = @($privs | ForEach-Object { [pscustomobject]@{
    Name = $_.Name; State = $_.State } })
} | ConvertTo-Json -Compress -Depth 4
""")

SID_ADMINISTRATORS = "S-1-5-32-544"
SID_REMOTE_MANAGEMENT_USERS = "S-1-5-32-580"
SID_HIGH_INTEGRITY = "S-1-16-12288"

# What support needs per server role. Windows: "admin" = effective member of the local
# Administrators (AD FS/WAP cmdlets and service control need it). Linux: "sudo".
ROLE_NEEDS_WINDOWS = {"adfs": "admin", "wap": "admin", "sync": "admin"}
ROLE_NEEDS_LINUX = {"sync": "sudo", "adfs": "sudo", "wap": "sudo"}


def _role_needs(server: Server, table: dict[str, str]) -> set[str]:
    return {table[r] for r in server.roles if r in table}


class PrivilegesCheck(ServerAccountCheck):
    """The support account's groups and rights, and whether they fit the server's role."""

    id = "account.privileges"
    owners = {**KIND_OWNERS, "default": "engineer"}
    requirement = Requirement.ACCOUNT
    title = t("Support account rights", "Supportkontots behörigheter")
    description = t(
        "Group memberships and rights (whoami /groups and /priv; id and sudo -n -l), with a "
        "warning where the server's role needs more.",
        "Gruppmedlemskap och rättigheter (whoami /groups och /priv; id och sudo -n -l), med "
        "en varning där serverns roll kräver mer.")
    needs = ("password", "sessions")
    remediation = PRIVILEGES_REMEDIATION

    def _read(self, ctx: CheckContext, target: Target, server: Server,
              method: str) -> Result:
        transport, failed = session(self, ctx, target, server, method, prefix=t(
            f"No {method} session, so nothing could be read (see account.login):",
            f"Ingen {method}-session, så inget kunde läsas (se account.login):"))
        if failed is not None:
            return failed
        if method == "winrm":
            return self._windows(ctx, target, server, transport)
        return self._linux(ctx, target, server, transport)

    def _windows(self, ctx: CheckContext, target: Target, server: Server,
                 transport: Any) -> Result:
        data = run_script(ctx, server, "winrm", PRIVILEGES_SCRIPT, check=self, target=target,
                          transport=transport, script_cap=10.0)
        if isinstance(data, Result):
            return data
        data = data if isinstance(data, dict) else {}
        groups = [g for g in as_list(data.get("Groups")) if isinstance(g, dict)]
        privileges = [p for p in as_list(data.get("Privileges")) if isinstance(p, dict)]
        by_sid = {str(g.get("Sid")): g for g in groups}
        is_admin = bool(data.get("IsAdmin"))
        # From the token's deny-only SIDs, not the Attributes text (localised: Swedish,
        # German ... Windows write it in their own words)
        deny_sids = {str(sid) for sid in as_list(data.get("DenyOnlySids"))}
        deny_only = SID_ADMINISTRATORS in deny_sids and not is_admin
        details = {"method": "winrm", "user": data.get("User"), "sid": data.get("Sid"),
                   "effective_admin": is_admin, "administrators_deny_only": deny_only,
                   "remote_management_users": SID_REMOTE_MANAGEMENT_USERS in by_sid,
                   "groups": [{"name": g.get("Name"), "sid": g.get("Sid"),
                               "attributes": g.get("Attributes")} for g in groups][:60],
                   "privileges": [{"name": p.get("Name"), "state": p.get("State")}
                                  for p in privileges][:40]}
        names = [str(g.get("Name")) for g in groups
                 if str(g.get("Sid", "")).startswith(("S-1-5-32-", "S-1-5-21-"))]
        shown = ", ".join(names[:8]) + (f" (+{len(names) - 8})" if len(names) > 8 else "")
        needs = _role_needs(server, ROLE_NEEDS_WINDOWS)
        if "admin" in needs and not is_admin:
            why_en = ("member of Administrators, but only deny-only (UAC remote restrictions "
                      "on a local account)") if deny_only else "not a local administrator"
            why_sv = ("medlem i Administratörer, men bara som endast neka (UAC:s "
                      "fjärrbegränsningar för ett lokalt konto)") if deny_only else \
                "inte lokal administratör"
            roles = ", ".join(server.roles)
            return self.result(target, Status.WARN, t(
                f"{data.get('User')}: {why_en}; the {roles} role needs it. Groups: {shown}.",
                f"{data.get('User')}: {why_sv}; rollen {roles} kräver det. Grupper: {shown}."),
                details, fix="admin")
        admin_en = "local administrator" if is_admin else "not a local administrator"
        admin_sv = "lokal administratör" if is_admin else "inte lokal administratör"
        return self.result(target, Status.PASS, t(
            f"{data.get('User')}: {admin_en}. Groups: {shown}.",
            f"{data.get('User')}: {admin_sv}. Grupper: {shown}."), details)

    def _linux(self, ctx: CheckContext, target: Target, server: Server,
               transport: Any) -> Result:
        try:
            ident = transport.run(["id"], ctx.timeout(5.0))
            sudo = transport.run(["sudo", "-n", "-l"], ctx.timeout(6.0))
        except TransportError as exc:
            return failure_result(self, target, exc, "ssh")
        parsed = parse_id(ident.stdout)
        sudo_info = parse_sudo(sudo)
        admin_groups = sorted(set(parsed.get("groups", [])) & {"sudo", "wheel", "admin"})
        details = {"method": "ssh", "id": ident.to_json(), "parsed": parsed,
                   "sudo": sudo_info, "sudo_raw": sudo.to_json(), "admin_groups": admin_groups}
        user = parsed.get("user", "?")
        groups = ", ".join(parsed.get("groups", [])[:10])
        state = sudo_info["state"]
        sudo_en = {"rules": "may use sudo" + (" without a password" if sudo_info.get("nopasswd")
                                               else ""),
                   "password_required": "sudo asks for a password before listing rights",
                   "none": "may not use sudo", "unavailable": "sudo is not installed",
                   "unknown": "sudo rights unknown"}[state]
        sudo_sv = {"rules": "får använda sudo" + (" utan lösenord" if sudo_info.get("nopasswd")
                                                  else ""),
                   "password_required": "sudo kräver lösenord innan rättigheterna visas",
                   "none": "får inte använda sudo", "unavailable": "sudo är inte installerat",
                   "unknown": "sudo-rättigheter okända"}[state]
        has_sudo = state == "rules" or (state == "password_required" and bool(admin_groups))
        needs = _role_needs(server, ROLE_NEEDS_LINUX)
        if "sudo" in needs and not has_sudo:
            return self.result(target, Status.WARN, t(
                f"{user}: {sudo_en}; the {', '.join(server.roles)} role needs sudo. Groups: "
                f"{groups}.",
                f"{user}: {sudo_sv}; rollen {', '.join(server.roles)} kräver sudo. Grupper: "
                f"{groups}."), details, fix="sudo")
        return self.result(target, Status.PASS, t(
            f"{user}: {sudo_en}. Groups: {groups}.", f"{user}: {sudo_sv}. Grupper: {groups}."),
            details)
