"""``account``: the support account can log in, is in good standing, and has the rights
support needs.

* ``account.login`` authenticates per server over each of its command methods (WinRM,
  SSH) and runs a harmless identity command. It proves the account works *now* on that
  path. Over WinRM with NTLM or Basic, Windows gives one answer (HTTP 401) for a wrong
  password, an unknown user, and a locked, disabled or expired account: the result says
  so, and ``account.status`` reads the real state over another path when there is one.
  On Linux, OpenSSH hides the difference between a wrong password, an unknown user and
  a locked account by design; an expired password is detected (see the SSH transport).
  Login over RDP is not tested (that needs a full CredSSP client).
* ``account.status``: enabled, not locked out, password not expiring within
  ``account.min_password_days``, account end date. On Windows from the domain (Get-ADUser,
  else an ADSI search) for a domain account, else the local account (Get-LocalUser and
  Win32_UserAccount; ``net user`` where PowerShell lacks those); on Linux from
  ``chage -l`` and ``passwd -S``. It proves what the directory says, not that a password
  policy will not change tomorrow.
* ``account.privileges``: group memberships and rights, reported (Windows ``whoami
  /groups`` and ``/priv`` plus an effective-administrator test that honours UAC's
  deny-only groups; Linux ``id`` and ``sudo -n -l``), with a warning where the account
  lacks what support needs for the server's role. It cannot prove that a particular
  support task will be allowed.

All three run over the shared ``sessions`` service: one login per server and method.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from accessready.agent.core import powershell
from accessready.agent.core.model import INSECURE, Requirement, Result, Status, Text, t
from accessready.agent.core.profile_types import Profile, Server
from accessready.agent.io.transports.base import TransportError, powershell_json
from accessready.agent.plugin.checkapi import Check, CheckContext, Target
from accessready.agent.plugin.transport_texts import (
    KIND_OWNERS,
    KIND_REMEDIATION,
    credential_risk_note,
    failure_details,
    failure_summary,
    remediation_key,
    status_for,
)

COMMAND_METHODS = ("winrm", "ssh")

# --- PowerShell (fixed text; values arrive as $-variables set by the transport) -------

IDENTITY_SCRIPT = powershell.register("account.identity", r"""# accessready:account.identity
$id = [Security.Principal.WindowsIdentity]::GetCurrent()
$os = Get-CimInstance -ClassName Win32_OperatingSystem
[pscustomobject]@{
  User = $id.Name; Sid = $id.User.Value; Computer = $env:COMPUTERNAME
  OsCaption = $os.Caption; OsVersion = $os.Version
  PSVersion = $PSVersionTable.PSVersion.ToString()
} | ConvertTo-Json -Compress -Depth 3
""")

STATUS_SCRIPT = powershell.register("account.status", r"""# accessready:account.status
function Iso($d) { if ($d -is [datetime]) { $d.ToUniversalTime().ToString('o') } else { $null } }
function FileTime($v) {
  $n = 0L; if (-not [int64]::TryParse("$v", [ref]$n)) { return $null }
  if ($n -le 0 -or $n -ge 9223372036854775807) { return $null }
  Iso ([datetime]::FromFileTimeUtc($n))
}
$sam = $User; $domain = ''
if ($User -match '^([^\\]+)\\(.+)$') { $domain = $Matches[1]; $sam = $Matches[2] }
elseif ($User -match '^([^@]+)@(.+)$') { $sam = $Matches[1]; $domain = $Matches[2] }
$out = $null
$local = ($domain -eq '' -or $domain -eq '.' -or $domain -ieq $env:COMPUTERNAME)
# Get-LocalUser is missing before Server 2016 (2012 R2 has PowerShell 4.0). Under 'Stop' a
# missing command is not caught by its own -ErrorAction, so ask Get-Command first.
if ($local -and (Get-Command -Name 'Get-LocalUser' -ErrorAction SilentlyContinue)) {
  $u = Get-LocalUser -Name $sam -ErrorAction SilentlyContinue
  if ($u) {
    $w = Get-CimInstance -ClassName Win32_UserAccount -Filter 'LocalAccount=True' |
      Where-Object { $_.Name -eq $sam } | Select-Object -First 1
    $out = [pscustomobject]@{ Source = 'Get-LocalUser'; Name = $u.Name; Enabled = $u.Enabled
      LockedOut = [bool]$w.Lockout; PasswordExpired = $null
      PasswordLastSet = (Iso $u.PasswordLastSet); PasswordExpires = (Iso $u.PasswordExpires)
      PasswordNeverExpires = ($null -eq $u.PasswordExpires)
      AccountExpires = (Iso $u.AccountExpires) }
  }
} elseif ($local -and $sam -notmatch '[\\/,"]') {
  # ADSI's WinNT provider: raw numbers (flags, ages in seconds), judged by accessready.
  $a = $null
  try { $a = [ADSI]"WinNT://$env:COMPUTERNAME/$sam,user"; [void]$a.Get('UserFlags') }
  catch { $a = $null }
  if ($a) {
    $end = $null
    try { $end = Iso ([datetime]$a.Get('AccountExpirationDate')) } catch { $end = $null }
    $out = [pscustomobject]@{ Source = 'ADSI WinNT'; Name = "$($a.Get('Name'))"
      UserFlags = [int64]$a.Get('UserFlags'); PasswordAge = [int64]$a.Get('PasswordAge')
      MaxPasswordAge = [int64]$a.Get('MaxPasswordAge')
      PasswordExpired = [int64]$a.Get('PasswordExpired')
      AccountExpires = $end; Now = (Iso (Get-Date)) }
  }
}
if (-not $out -and (Get-CimInstance -ClassName Win32_ComputerSystem).PartOfDomain) {
  if (Get-Module -ListAvailable -Name ActiveDirectory) {
    Import-Module ActiveDirectory
    $u = Get-ADUser -Identity $sam -Properties 'Enabled', 'LockedOut', 'PasswordExpired',
      'PasswordLastSet', 'PasswordNeverExpires', 'AccountExpirationDate',
      'msDS-UserPasswordExpiryTimeComputed'
    $out = [pscustomobject]@{ Source = 'Get-ADUser'; Name = $u.SamAccountName
      Enabled = $u.Enabled; LockedOut = $u.LockedOut; PasswordExpired = $u.PasswordExpired
      PasswordLastSet = (Iso $u.PasswordLastSet)
      PasswordExpires = (FileTime $u.'msDS-UserPasswordExpiryTimeComputed')
      PasswordNeverExpires = $u.PasswordNeverExpires
      AccountExpires = (Iso $u.AccountExpirationDate) }
  } else {
    $s = New-Object DirectoryServices.DirectorySearcher
    $e = $sam -replace '\\', '\5c' -replace '\*', '\2a' -replace '\(', '\28' -replace '\)', '\29'
    $s.Filter = "(&(objectCategory=person)(objectClass=user)(sAMAccountName=$e))"
    foreach ($p in 'samaccountname', 'useraccountcontrol', 'pwdlastset', 'accountexpires',
        'msds-userpasswordexpirytimecomputed', 'msds-user-account-control-computed') {
      [void]$s.PropertiesToLoad.Add($p) }
    $r = $s.FindOne()
    if ($r) {
      $uac = [int64]"$(@($r.Properties['useraccountcontrol'])[0])"
      $cuac = [int64]"0$(@($r.Properties['msds-user-account-control-computed'])[0])"
      $out = [pscustomobject]@{ Source = 'ADSI'
        Name = "$(@($r.Properties['samaccountname'])[0])"
        Enabled = (($uac -band 2) -eq 0); LockedOut = (($cuac -band 0x10) -ne 0)
        PasswordExpired = (($cuac -band 0x800000) -ne 0)
        PasswordLastSet = (FileTime (@($r.Properties['pwdlastset'])[0]))
        PasswordExpires = (FileTime (@($r.Properties['msds-userpasswordexpirytimecomputed'])[0]))
        PasswordNeverExpires = (($uac -band 0x10000) -ne 0)
        AccountExpires = (FileTime (@($r.Properties['accountexpires'])[0])) }
    }
  }
}
if (-not $out) { $out = [pscustomobject]@{ Source = 'none'; Name = $sam } }
$out | ConvertTo-Json -Compress -Depth 3
""")

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


# --- parsing helpers -------------------------------------------------------------------

def as_list(value: Any) -> list[Any]:
    """PowerShell 5.1 prints a one-element array as a bare object: always a list here."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


_MS_DATE = re.compile(r"^/Date\((-?\d+)\)/$")


def parse_when(value: Any) -> dt.datetime | None:
    """An ISO 8601 string (what our scripts print) or PS 5.1's ``/Date(ms)/`` as UTC."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    match = _MS_DATE.match(text)
    if match:
        return dt.datetime.fromtimestamp(int(match.group(1)) / 1000, dt.UTC)
    try:
        # .NET's 'o' format has 7 fractional digits; Python takes at most 6.
        text = re.sub(r"(\.\d{6})\d+", r"\1", text.replace("Z", "+00:00"))
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def parse_id(text: str) -> dict[str, Any]:
    """``id`` output: ``uid=1001(name) gid=1001(grp) groups=1001(grp),27(sudo)``."""
    out: dict[str, Any] = {"groups": []}
    for key, number, name in re.findall(r"(uid|gid)=(\d+)(?:\(([^)]*)\))?", text):
        out[key] = int(number)
        out["user" if key == "uid" else "group"] = name or number
    match = re.search(r"groups=(\S+)", text)
    if match:
        for number, name in re.findall(r"(\d+)(?:\(([^)]*)\))?", match.group(1)):
            out["groups"].append(name or number)
    return out


_CHAGE_LABELS = {
    "last password change": "last_change",
    "password expires": "password_expires",
    "password inactive": "password_inactive",
    "account expires": "account_expires",
    "maximum number of days between password change": "max_days",
    "minimum number of days between password change": "min_days",
    "number of days of warning before password expires": "warn_days",
}


def parse_chage(text: str) -> dict[str, str]:
    """``LC_ALL=C chage -l user`` as ``{"password_expires": "Dec 05, 2025", ...}``."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        label, sep, value = line.partition(":")
        key = _CHAGE_LABELS.get(label.strip().lower())
        if sep and key:
            out[key] = value.strip()
    return out


def chage_date(value: str | None) -> dt.date | str | None:
    """A chage date (``Dec 05, 2025``) as a date; ``"never"``/``"must_change"`` kept as words."""
    if value is None:
        return None
    text = value.strip().lower()
    if text == "never":
        return "never"
    if "must be changed" in text:
        return "must_change"
    for fmt in ("%b %d, %Y", "%Y-%m-%d", "%m/%d/%Y"):
        try:
            return dt.datetime.strptime(value.strip(), fmt).date()
        except ValueError:
            continue
    return None


def parse_sudo(result: Any) -> dict[str, Any]:
    """``sudo -n -l``: what the account may run, or why that is unknown."""
    text = (result.stdout + "\n" + result.stderr).strip()
    low = text.lower()
    if result.exit_code == 0 and "may run the following commands" in low:
        rules = [line.strip() for line in result.stdout.split("may run the following "
                                                              "commands", 1)[1].splitlines()[1:]
                 if line.strip()]
        nopasswd = any("nopasswd" in r.lower() for r in rules)
        return {"state": "rules", "rules": rules[:20], "nopasswd": nopasswd,
                "full": any(r.rstrip().endswith(" ALL") or r.endswith(") ALL") for r in rules)}
    if "a password is required" in low:
        return {"state": "password_required", "message": text[:200]}
    if "may not run sudo" in low or "not allowed to run sudo" in low or \
            "not in the sudoers" in low:
        return {"state": "none", "message": text[:200]}
    if result.exit_code in (126, 127) or "command not found" in low or "no such file" in low:
        return {"state": "unavailable", "message": text[:200]}
    return {"state": "unknown", "message": text[:200], "exit_code": result.exit_code}


def parse_passwd_status(text: str) -> dict[str, Any]:
    """``passwd -S user``: ``user P 2025-11-25 0 90 7 -1`` (state, last change, min, max,
    warn, inactive); adds ``expires`` (a date, or ``"never"``) from last change + max."""
    fields = text.split()
    if len(fields) < 2:
        return {}
    out: dict[str, Any] = {"state": fields[1]}
    if len(fields) >= 5:
        changed = chage_date(fields[2])
        if isinstance(changed, dt.date):
            out["last_change"] = changed.isoformat()
            try:
                max_days = int(fields[4])
            except ValueError:
                return out
            out["max_days"] = max_days
            out["expires"] = "never" if max_days < 0 or max_days >= 99999 else \
                changed + dt.timedelta(days=max_days)
    return out


_NET_USER_LABELS = {
    "user name": "name", "account active": "active", "account expires": "account_expires",
    "password last set": "password_last_set", "password expires": "password_expires",
}


def parse_net_user(text: str) -> dict[str, str]:
    """English ``net user <name> [/domain]`` output (other languages: labels not found)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        match = re.match(r"^(\S.*?\S)\s{2,}(.*)$", line.rstrip())
        if match and match.group(1).lower() in _NET_USER_LABELS:
            out[_NET_USER_LABELS[match.group(1).lower()]] = match.group(2).strip()
    return out


def net_user_when(value: str | None) -> dt.datetime | str | None:
    """A ``net user`` date in common server locales; ``"never"`` kept as a word."""
    if not value:
        return None
    if value.strip().lower() == "never":
        return "never"
    for fmt in ("%m/%d/%Y %I:%M:%S %p", "%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M:%S",
                "%m/%d/%Y %H:%M:%S"):
        try:
            return dt.datetime.strptime(value.strip(), fmt).replace(tzinfo=dt.UTC)
        except ValueError:
            continue
    return None


# ADS_USER_FLAG_ENUM bits (the WinNT provider's UserFlags)
UF_ACCOUNTDISABLE = 0x2
UF_LOCKOUT = 0x10
UF_DONT_EXPIRE_PASSWD = 0x10000
# MaxPasswordAge at or above this (TIMEQ_FOREVER, 0xFFFFFFFF seconds) means "never"
_FOREVER_SECONDS = 0xFFFFFFFF


def winnt_account(data: dict[str, Any]) -> dict[str, Any]:
    """Our ADSI WinNT projection (raw UserFlags, PasswordAge and MaxPasswordAge in seconds,
    the server's clock as ``Now``) in the shape the other sources give: Enabled,
    LockedOut, PasswordExpired, PasswordExpires, PasswordNeverExpires, AccountExpires.

    Server 2012 R2 has no Get-LocalUser; numbers read the same in every display language.
    """
    def number(key: str) -> int | None:
        value = data.get(key)
        return int(value) if isinstance(value, int | float) and not isinstance(value, bool) \
            else None

    flags, age, max_age = number("UserFlags"), number("PasswordAge"), number("MaxPasswordAge")
    now = parse_when(data.get("Now"))
    never = (flags is not None and bool(flags & UF_DONT_EXPIRE_PASSWD)) or \
        (max_age is not None and (max_age <= 0 or max_age >= _FOREVER_SECONDS))
    expires = None
    if not never and now is not None and age is not None and max_age is not None:
        expires = (now - dt.timedelta(seconds=age) + dt.timedelta(seconds=max_age)).isoformat()
    expired = number("PasswordExpired")
    return {**data,
            "Enabled": None if flags is None else not flags & UF_ACCOUNTDISABLE,
            "LockedOut": None if flags is None else bool(flags & UF_LOCKOUT),
            "PasswordExpired": None if expired is None else expired != 0,
            "PasswordLastSet": None if now is None or age is None
            else (now - dt.timedelta(seconds=age)).isoformat(),
            "PasswordExpires": expires, "PasswordNeverExpires": never}


def split_account(username: str) -> tuple[str, str]:
    """(domain, sam) of ``DOMAIN\\sam``, ``sam@domain`` or ``sam``."""
    if "\\" in username:
        domain, sam = username.split("\\", 1)
        return domain, sam
    if "@" in username:
        sam, domain = username.split("@", 1)
        return domain, sam
    return "", username


def method_targets(profile: Profile) -> list[Target]:
    """One target per (server, command method) the server lists; (server, None) for a
    server reached by RDP only, so the report says its login was not tested."""
    out = []
    for s in profile.servers:
        methods = [m for m in COMMAND_METHODS if m in s.remote]
        out += [Target(s.name, (s, m), needs=needs_for(profile, m)) for m in methods]
        if not methods and s.remote:
            out.append(Target(s.name, (s, None)))
    return out


def needs_for(profile: Profile, method: str | None) -> tuple[str, ...] | None:
    """An SSH login with a key file needs no password; everything else keeps the check's
    own needs (None), so a password-less run still tests key logins."""
    if method == "ssh" and profile.account.ssh_key:
        return ("sessions",)
    return None


def server_targets(profile: Profile, servers: list[Server]) -> list[Target]:
    """One target per server, needing a password unless it is read over SSH with a key."""
    return [Target(s.name, s, needs=needs_for(profile, server_method(s))) for s in servers]


def server_method(server: Server) -> str | None:
    """The command method to read a server's state over: WinRM first, then SSH."""
    return next((m for m in COMMAND_METHODS if m in server.remote), None)


def _session(check: Check, ctx: CheckContext, target: Target, server: Server,
             method: str, cap: float = 10.0) -> tuple[Any, Result | None]:
    """(transport, None) or (None, an error result naming why there is no session)."""
    try:
        return ctx.service("sessions").get(server, method, ctx.timeout(cap)), None
    except TransportError as exc:
        return None, check.result(target, Status.ERROR, failure_summary(exc, t(
            f"No {method} session, so nothing could be read (see account.login):",
            f"Ingen {method}-session, så inget kunde läsas (se account.login):")),
            failure_details(exc, {"method": method}), fix=remediation_key(exc, method))


def _no_account(profile: Profile) -> Text | None:
    if not profile.account.username:
        return t("No support account is named in the profile ([account] username).",
                 "Profilen anger inget supportkonto ([account] username).")
    return None


def _no_method_target(check: Check, target: Target) -> Result:
    return check.result(target, Status.SKIP, t(
        "The server lists no command method (winrm or ssh), so this cannot be read.",
        "Servern anger ingen kommandometod (winrm eller ssh), så detta kan inte läsas."),
        {"reason": "no_command_method"})


def _read_failed(check: Check, target: Target, exc: TransportError, method: str,
                 details: dict[str, Any] | None = None,
                 status: Status = Status.ERROR) -> Result:
    """The result when reading over an open session failed with ``exc``."""
    return check.result(target, status, failure_summary(exc),
                        failure_details(exc, {"method": method} if details is None else details),
                        fix=remediation_key(exc, method))


class _ServerAccountCheck(Check):
    """Shared by account.status and account.privileges: the support account, read on each
    remote server over its command method (WinRM first, then SSH)."""

    def applies(self, profile: Profile) -> Text | None:
        return _no_account(profile)

    def targets(self, profile: Profile) -> list[Target]:
        return server_targets(profile, [s for s in profile.servers if s.remote])

    def run(self, ctx: CheckContext, target: Target) -> Result:
        server: Server = target.data
        method = server_method(server)
        if method is None:
            return _no_method_target(self, target)
        return self._read(ctx, target, server, method)

    def _read(self, ctx: CheckContext, target: Target, server: Server,
              method: str) -> Result:
        raise NotImplementedError


# --- account.login -----------------------------------------------------------------------

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
    remediation = {
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

    def applies(self, profile: Profile) -> Text | None:
        return _no_account(profile)

    def targets(self, profile: Profile) -> list[Target]:
        return method_targets(profile)

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
            transport = sessions.get(server, method, ctx.timeout(12.0))
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


# --- account.status ----------------------------------------------------------------------

def _days(when: dt.datetime | dt.date, now: dt.datetime) -> int:
    """Whole days until ``when``, rounded up (9.9 days left reads "10 days"); negative once
    passed."""
    if isinstance(when, dt.datetime):
        return math.ceil((when - now).total_seconds() / 86400)
    return (when - now.date()).days


def _passed(when: dt.datetime | dt.date, now: dt.datetime) -> bool:
    return when < now if isinstance(when, dt.datetime) else when < now.date()


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date | dt.datetime) else value


class StatusCheck(_ServerAccountCheck):
    """The support account is enabled, not locked, and its password is not about to expire."""

    id = "account.status"
    owners = {**KIND_OWNERS, "unknown": "engineer"}
    requirement = Requirement.ACCOUNT
    title = t("Support account status", "Supportkontots status")
    description = t(
        "Enabled, not locked out, password not expiring within min_password_days, account "
        "end date (domain or local account; chage on Linux).",
        "Aktiverat, inte utelåst, lösenordet går inte ut inom min_password_days, kontots "
        "slutdatum (domän- eller lokalt konto; chage på Linux).")
    needs = ("password", "sessions")
    remediation = {
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

    def _read(self, ctx: CheckContext, target: Target, server: Server,
              method: str) -> Result:
        username = ctx.profile.account.username or ""
        sessions = ctx.service("sessions")
        try:
            transport = sessions.get(server, method, ctx.timeout(10.0))
        except TransportError as exc:
            return self._via_other_server(ctx, target, server, method, exc)
        if method == "winrm":
            return self._windows(ctx, target, transport, username, {"method": method})
        return self._linux(ctx, target, transport, {"method": method})

    # Windows ------------------------------------------------------------------------

    def _read_windows(self, ctx: CheckContext, transport: Any,
                      username: str) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        evidence: dict[str, Any] = {}
        try:
            data = powershell_json(transport, STATUS_SCRIPT, ctx.timeout(10.0),
                                   {"User": username})
            if isinstance(data, dict) and data.get("Source") == "ADSI WinNT":
                return winnt_account(data), evidence
            if isinstance(data, dict) and data.get("Source") not in (None, "none"):
                return data, evidence
            evidence["powershell"] = data
        except TransportError as exc:
            evidence["powershell_error"] = str(exc)
        domain, sam = split_account(username)
        argv = ["net", "user", sam] + (["/domain"] if domain and domain != "." else [])
        try:
            result = transport.run(argv, ctx.timeout(6.0))
        except TransportError as exc:
            evidence["net_user_error"] = str(exc)
            return None, evidence
        evidence["net_user"] = result.to_json()
        parsed = parse_net_user(result.stdout) if result.exit_code == 0 else {}
        if not parsed.get("active"):
            return None, evidence
        active = parsed["active"].lower()
        expires = net_user_when(parsed.get("password_expires"))
        account_expires = net_user_when(parsed.get("account_expires"))
        return {"Source": "net user", "Name": parsed.get("name", sam),
                "Enabled": active != "no", "LockedOut": active == "locked",
                "PasswordExpired": None,
                "PasswordExpires": None if expires == "never" else _iso(expires),
                "PasswordNeverExpires": expires == "never",
                "AccountExpires": None if account_expires == "never" else _iso(account_expires),
                }, evidence

    def _windows(self, ctx: CheckContext, target: Target, transport: Any, username: str,
                 details: dict[str, Any], via: str | None = None) -> Result:
        data, evidence = self._read_windows(ctx, transport, username)
        details = {**details, **evidence}
        if via:
            details["read_over"] = via
        if data is None:
            return self.result(target, Status.ERROR, t(
                f"The state of {username} could not be read (no local or domain account "
                "found, or the queries failed).",
                f"Statusen för {username} kunde inte läsas (inget lokalt konto eller "
                "domänkonto hittades, eller frågorna misslyckades)."), details, fix="unknown")
        details["account"] = data
        facts = {
            "enabled": data.get("Enabled"),
            "locked_out": data.get("LockedOut"),
            "password_expired": data.get("PasswordExpired"),
            "password_never_expires": data.get("PasswordNeverExpires"),
            "password_expires": parse_when(data.get("PasswordExpires")),
            "account_expires": parse_when(data.get("AccountExpires")),
        }
        return self._judge(ctx, target, details, facts, str(data.get("Source")), via)

    def _via_other_server(self, ctx: CheckContext, target: Target, server: Server,
                          method: str, exc: TransportError) -> Result:
        """A domain account's state, read over another server's working WinRM session."""
        username = ctx.profile.account.username or ""
        domain, _ = split_account(username)
        details = failure_details(exc, {"method": method})
        if exc.kind in ("auth_failed", "access_denied") and domain and domain != ".":
            sessions = ctx.service("sessions")
            for other in ctx.profile.servers:
                if other.name == server.name or "winrm" not in other.remote:
                    continue
                try:
                    transport = sessions.get(other, "winrm", ctx.timeout(6.0))
                except TransportError:
                    continue
                return self._windows(ctx, target, transport, username, details, via=other.name)
        return self.result(target, Status.ERROR, failure_summary(exc, t(
            f"No {method} session and no other path to read the account's state (see "
            "account.login):",
            f"Ingen {method}-session och ingen annan väg att läsa kontots status (se "
            "account.login):")), details, fix=remediation_key(exc, method))

    # Linux --------------------------------------------------------------------------

    def _linux(self, ctx: CheckContext, target: Target, transport: Any,
               details: dict[str, Any]) -> Result:
        try:
            who = transport.run(["id", "-un"], ctx.timeout(5.0))
            name = who.stdout.strip() or split_account(ctx.profile.account.username or "")[1]
            chage = transport.run(["env", "LC_ALL=C", "chage", "-l", name], ctx.timeout(5.0))
            passwd = transport.run(["env", "LC_ALL=C", "passwd", "-S", name],
                                   ctx.timeout(5.0))
        except TransportError as exc:
            return _read_failed(self, target, exc, "ssh", details,
                                Status.ERROR if exc.kind != "password_expired"
                                else Status.FAIL)
        details = {**details, "user": name, "chage": chage.to_json(), "passwd": passwd.to_json()}
        status_fields = parse_passwd_status(passwd.stdout) if passwd.exit_code == 0 else {}
        details["passwd_status"] = {k: _iso(v) for k, v in status_fields.items()}
        state = status_fields.get("state")
        if chage.exit_code == 0:
            ageing = parse_chage(chage.stdout)
            details["ageing"] = ageing
            expires = chage_date(ageing.get("password_expires"))
            account_expires = chage_date(ageing.get("account_expires"))
            source = "chage"
        elif status_fields.get("last_change"):
            # chage could not read the shadow file (permissions), passwd -S could: the
            # expiry is the last change plus the maximum age; no account end date there.
            expires = status_fields.get("expires")
            account_expires, source = None, "passwd -S"
        else:
            directory = "does not exist" in chage.stderr
            why_en = ("not a local account (a directory account via SSSD or winbind?); its "
                      "state comes from the domain") if directory else \
                f"chage -l failed: {chage.stderr.strip()[:120]}"
            why_sv = ("inget lokalt konto (ett katalogkonto via SSSD eller winbind?); dess "
                      "status kommer från domänen") if directory else \
                f"chage -l misslyckades: {chage.stderr.strip()[:120]}"
            return self.result(target, Status.WARN, t(
                f"{name}: password ageing could not be read: {why_en}.",
                f"{name}: lösenordsåldringen kunde inte läsas: {why_sv}."), details,
                fix="unknown")
        facts = {
            # Logging in proved the account usable; "L" means the password is locked.
            "enabled": True,
            "locked_out": (state == "L") if state else None,
            "password_expired": expires == "must_change" or None,
            "password_never_expires": expires == "never",
            "password_expires": expires if isinstance(expires, dt.date) else None,
            "account_expires": account_expires if isinstance(account_expires, dt.date)
            else None,
        }
        return self._judge(ctx, target, details, facts, source, None)

    # verdict ----------------------------------------------------------------------

    def _judge(self, ctx: CheckContext, target: Target, details: dict[str, Any],
               facts: dict[str, Any], source: str, via: str | None) -> Result:
        now = ctx.now()
        minimum = ctx.profile.account.min_password_days
        details["facts"] = {k: _iso(v) for k, v in facts.items()}
        details["min_password_days"] = minimum
        over = f" (read over {via})" if via else ""
        over_sv = f" (läst via {via})" if via else ""
        problems: list[tuple[Status, str, str, str]] = []
        if facts["enabled"] is False:
            problems.append((Status.FAIL, "the account is disabled", "kontot är inaktiverat",
                             "account_disabled"))
        elif facts["enabled"] is None:  # never "enabled" on a fact the server did not give
            problems.append((Status.WARN, "the server did not say whether the account is "
                             "enabled", "servern angav inte om kontot är aktiverat", "unknown"))
        if facts["locked_out"]:
            problems.append((Status.FAIL, "the account is locked out", "kontot är utelåst",
                             "account_locked"))
        expires = facts["password_expires"]
        if facts["password_expired"] or (expires is not None and _passed(expires, now)):
            problems.append((Status.FAIL, "the password has expired", "lösenordet har gått ut",
                             "password_expired"))
        elif expires is not None and _days(expires, now) < minimum:
            days = _days(expires, now)
            problems.append((Status.WARN, f"the password expires in {days} days "
                             f"({_iso(expires)[:10]})", f"lösenordet går ut om {days} dagar "
                             f"({_iso(expires)[:10]})", "expiring"))
        account_expires = facts["account_expires"]
        if account_expires is not None:
            days = _days(account_expires, now)
            if _passed(account_expires, now):
                problems.append((Status.FAIL, "the account has reached its end date",
                                 "kontot har nått sitt slutdatum", "account_expired"))
            elif days < minimum:
                problems.append((Status.WARN, f"the account ends in {days} days",
                                 f"kontot upphör om {days} dagar", "account_ending"))
        if problems:
            worst = max(problems, key=lambda p: p[0].rank)
            keys = {p[3] for p in problems}
            # due: the earliest of the password's and the account's end that is a problem
            ends = [d.date() if isinstance(d, dt.datetime) else d for d, fixes in (
                (expires, {"expiring", "password_expired"}),
                (account_expires, {"account_ending", "account_expired"}))
                if isinstance(d, dt.date) and keys & fixes]
            return self.result(target, worst[0], t(
                f"{source}{over}: {'; '.join(p[1] for p in problems)}.",
                f"{source}{over_sv}: {'; '.join(p[2] for p in problems)}."), details,
                fix=worst[3], due=min(ends) if ends else None)
        if expires is not None:
            days = _days(expires, now)
            pw_en = f"password valid {days} more days ({_iso(expires)[:10]})"
            pw_sv = f"lösenordet gäller {days} dagar till ({_iso(expires)[:10]})"
        elif facts["password_never_expires"]:
            pw_en, pw_sv = "password never expires", "lösenordet går aldrig ut"
        else:
            pw_en, pw_sv = "password expiry unknown", "lösenordets utgång okänd"
        end_en = f"account ends {_iso(account_expires)[:10]}" if account_expires else \
            "no account end date"
        end_sv = f"kontot upphör {_iso(account_expires)[:10]}" if account_expires else \
            "inget slutdatum för kontot"
        lock_en = "not locked out" if facts["locked_out"] is False else "lockout unknown"
        lock_sv = "inte utelåst" if facts["locked_out"] is False else "utelåsning okänd"
        return self.result(target, Status.PASS, t(
            f"{source}{over}: enabled, {lock_en}, {pw_en}, {end_en}.",
            f"{source}{over_sv}: aktiverat, {lock_sv}, {pw_sv}, {end_sv}."), details)


# --- account.privileges --------------------------------------------------------------------

def _role_needs(server: Server, table: dict[str, str]) -> set[str]:
    return {table[r] for r in server.roles if r in table}


class PrivilegesCheck(_ServerAccountCheck):
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
    remediation = {
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

    def _read(self, ctx: CheckContext, target: Target, server: Server,
              method: str) -> Result:
        transport, failed = _session(self, ctx, target, server, method)
        if failed is not None:
            return failed
        if method == "winrm":
            return self._windows(ctx, target, server, transport)
        return self._linux(ctx, target, server, transport)

    def _windows(self, ctx: CheckContext, target: Target, server: Server,
                 transport: Any) -> Result:
        try:
            data = powershell_json(transport, PRIVILEGES_SCRIPT, ctx.timeout(10.0))
        except TransportError as exc:
            return _read_failed(self, target, exc, "winrm")
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
            return _read_failed(self, target, exc, "ssh")
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


CHECKS = [LoginCheck, StatusCheck, PrivilegesCheck]
