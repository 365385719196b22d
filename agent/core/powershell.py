"""PowerShell scripts with values in them, built one way for every place that runs one.

Three callers run PowerShell: the local collectors (:mod:`accessready.agent.io.localsys`),
WinRM (:mod:`accessready.agent.io.transports.winrm`) and SSH to a Windows OpenSSH server. They
all do it like this:

* the script body is a fixed string of the caller's; values never enter it by formatting;
* each value becomes one line ``$Name = '<literal>'`` before the body (:func:`script`), a
  single-quoted literal in which PowerShell expands nothing (:func:`quote`);
* the whole text travels as ``-EncodedCommand`` (UTF-16LE, base64; :func:`argv`), so no
  command-line parser (cmd.exe, CreateProcess's argument splitting, an SSH server's shell)
  ever sees a value.

Why all five quote characters: PowerShell's tokenizer treats the typographic single quotes
U+2018, U+2019, U+201A and U+201B as ``'``. A value holding ``’`` would end a literal that
only doubled the ASCII quote, and what follows would run as code.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

SCRIPTS: dict[str, str] = {}
"""Every fixed script body accessready sends, by name (filled by :func:`register` as the
modules that own them are imported); tests parse each one."""


def register(name: str, body: str) -> str:
    """Record ``body`` as the fixed script ``name`` and return it unchanged.

    Each module writes its scripts as ``X = powershell.register("id", r"...")`` so
    one table holds everything that can be sent to a Windows host.
    """
    if SCRIPTS.get(name, body) != body:
        raise ValueError(f"two different PowerShell scripts are named {name!r}")
    SCRIPTS[name] = body
    return body


SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"
"""Every character PowerShell reads as a single quote (ASCII and the four typographic)."""

_QUOTE_RE = re.compile(f"[{SINGLE_QUOTES}]")
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")

MAX_SCRIPT_CHARS = 12000
"""Longest script text accepted: its base64 UTF-16 (4 characters per 1.5 UTF-16 code units)
plus the executable and switches must fit CreateProcess's 32767-character command line."""

PRELUDE = (
    "$ErrorActionPreference = 'Stop'\n"
    "$ProgressPreference = 'SilentlyContinue'\n"
    # UTF-8 without a BOM. Where a host has no console handle (some WinRM and SSH
    # sessions) the assignment throws, which must not fail the script; WinRM's code page
    # 65001 already makes that output UTF-8.
    "try { [Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false } catch { }\n"
)
"""First lines of every script: errors terminate (exit code 1), no progress records (they
arrive as CLIXML on stderr), output as UTF-8."""

SWITCHES = ("-NoLogo", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass")
"""powershell.exe switches before ``-EncodedCommand``: no banner, no profile script, never
a prompt, and the local execution policy does not block an inline script."""


def quote(value: str) -> str:
    """``value`` as a single-quoted PowerShell literal: every quote character doubled.

    Inside single quotes PowerShell expands nothing (``$``, backtick and ``$(…)`` are plain
    text); the only special characters are the five quote characters, each written twice.
    NUL is refused: Windows command lines and PowerShell strings end at it.
    """
    if not isinstance(value, str):
        raise TypeError(f"a PowerShell value must be a str, not {type(value).__name__}")
    if "\x00" in value:
        raise ValueError("a PowerShell value cannot contain NUL")
    return "'" + _QUOTE_RE.sub(lambda m: m.group(0) * 2, value) + "'"


def script(body: str, params: Mapping[str, str] | None = None) -> str:
    """The complete script: :data:`PRELUDE`, one ``$Name = '<literal>'`` line per
    parameter, then ``body``.

    Parameter names must be plain identifiers; values are converted with ``str`` and
    quoted. Raises ValueError for a bad name, a NUL in a value, or a script longer than
    :data:`MAX_SCRIPT_CHARS`.
    """
    lines = [PRELUDE]
    for name, value in (params or {}).items():
        if not _NAME_RE.match(name):
            raise ValueError(f"bad PowerShell parameter name {name!r}")
        lines.append(f"${name} = {quote(str(value))}\n")
    lines.append(body)
    text = "".join(lines)
    units = len(text.encode("utf-16-le")) // 2  # what the command line is measured in
    if units > MAX_SCRIPT_CHARS:
        raise ValueError(f"PowerShell script of {units} characters exceeds "
                         f"{MAX_SCRIPT_CHARS}")
    return text


def encode(text: str) -> str:
    """The ``-EncodedCommand`` value of a script: base64 of its UTF-16LE bytes."""
    return base64.b64encode(text.encode("utf-16-le")).decode("ascii")


def argv(text: str, executable: str = "powershell.exe") -> list[str]:
    """The argv that runs the script ``text`` (from :func:`script`) with no profile, no
    prompt and no command-line parsing of its content."""
    return [executable, *SWITCHES, "-EncodedCommand", encode(text)]


# --- what scripts send back --------------------------------------------------------------

# ``/Date(ms)/`` with an optional ``+hhmm`` that only says which zone the writer was in:
# the milliseconds count from the Unix epoch in UTC either way.
_MS_DATE = re.compile(r"^/Date\((-?\d+)(?:[+-]\d{4})?\)/$")
_LONG_FRACTION = re.compile(r"(\.\d{6})\d+")


def ps_datetime(value: Any) -> dt.datetime | None:
    """A date as PowerShell writes it to JSON, as a timezone-aware UTC datetime; else None.

    Accepted: ISO 8601 as ``ToString('o')`` writes it (seven fractional digits, ``Z`` or an
    offset; without a zone it is taken as UTC), a date alone (``2024-05-14``, midnight
    UTC), Windows PowerShell 5.1's ``/Date(ms)/`` (also ``/Date(ms+0100)/``) and its
    JSON-escaped form ``\\/Date(ms)\\/``, and 5.1's object form ``{"value": …}``.
    Anything else (other types, words, locale-formatted dates) is None: a date the caller
    cannot trust is no date.
    """
    if isinstance(value, dict):
        value = value.get("value", value.get("DateTime"))
    if not isinstance(value, str):
        return None
    text = value.strip().replace("\\/", "/")
    if not text:
        return None
    match = _MS_DATE.match(text)
    try:
        if match:
            return dt.datetime.fromtimestamp(int(match.group(1)) / 1000, dt.UTC)
        # .NET writes seven fractional digits; Python reads at most six.
        when = dt.datetime.fromisoformat(_LONG_FRACTION.sub(r"\1", text))
    except (ValueError, OverflowError, OSError):
        return None
    return when.astimezone(dt.UTC) if when.tzinfo else when.replace(tzinfo=dt.UTC)


_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}")


def ps_date(value: Any) -> dt.date | None:
    """The calendar day a PowerShell date names, for dates that are days, not instants
    (when a hotfix was installed).

    ISO 8601 keeps the day it was written with (a hotfix installed at local midnight, +02:00,
    stays on that day; :func:`ps_datetime` would move it to the day before in UTC);
    ``/Date(ms)/`` carries no local day, so its UTC day is taken; and the raw text of WMI's
    ``Win32_QuickFixEngineering.InstalledOn`` is ``M/D/YYYY`` in every locale.
    """
    if isinstance(value, dict):
        value = value.get("value", value.get("DateTime"))
    if not isinstance(value, str):
        return None
    text = value.strip().replace("\\/", "/")
    if _ISO_DAY.match(text):
        with contextlib.suppress(ValueError):
            return dt.date.fromisoformat(text[:10])
    when = ps_datetime(text)
    if when is not None:
        return when.date()
    with contextlib.suppress(ValueError, IndexError):
        return dt.datetime.strptime(text.split()[0], "%m/%d/%Y").date()
    return None


def as_list(value: Any) -> list[Any]:
    """A JSON value that should be an array, as a list: ``ConvertTo-Json`` in PowerShell 5.1
    writes a one-element array as the element itself, and an empty one as null or as
    nothing at all (an empty string here)."""
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]
