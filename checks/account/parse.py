"""Parsers of what the account checks read on a server: ``id``, ``chage -l``,
``passwd -S``, ``sudo -n -l`` and ``net user`` output, and the ADSI WinNT projection.

Pure functions of text or JSON; the checks decide.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from accessready.agent.core.powershell import ps_datetime


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
    now = ps_datetime(data.get("Now"))
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
