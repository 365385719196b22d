"""``account.status``: the support account is enabled, not locked out, its password not
expiring within ``account.min_password_days``, and its end date.

On Windows from the domain (Get-ADUser, else an ADSI search) for a domain account, else
the local account (Get-LocalUser and Win32_UserAccount; ``net user`` where PowerShell lacks
those); on Linux from ``chage -l`` and ``passwd -S``. It proves what the directory says,
not that a password policy will not change tomorrow.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from accessready.agent.core import powershell
from accessready.agent.core.model import Requirement, Result, Status, t
from accessready.agent.core.powershell import ps_datetime
from accessready.agent.core.profile_types import Server
from accessready.agent.io.transports.base import TransportError, powershell_json
from accessready.agent.plugin.checkapi import CheckContext, Target
from accessready.agent.plugin.serverscript import failure_result
from accessready.agent.plugin.transport_texts import (
    KIND_OWNERS,
    failure_details,
)
from accessready.checks.account.common import ServerAccountCheck
from accessready.checks.account.parse import (
    chage_date,
    net_user_when,
    parse_chage,
    parse_net_user,
    parse_passwd_status,
    split_account,
    winnt_account,
)
from accessready.checks.account.texts import STATUS_REMEDIATION

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


class StatusCheck(ServerAccountCheck):
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
    remediation = STATUS_REMEDIATION

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
            "password_expires": ps_datetime(data.get("PasswordExpires")),
            "account_expires": ps_datetime(data.get("AccountExpires")),
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
        return failure_result(self, target, exc, method, prefix=t(
            f"No {method} session and no other path to read the account's state (see "
            "account.login):",
            f"Ingen {method}-session och ingen annan väg att läsa kontots status (se "
            "account.login):"), details={"method": method})

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
            return failure_result(self, target, exc, "ssh", details=details,
                                  status=Status.ERROR if exc.kind != "password_expired"
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
