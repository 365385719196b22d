"""What a recorded Windows host prints: loading recordings, and picking and filling in the
entry for a command line. The WS-Management simulator (:mod:`.wsman`) replays them.

Recordings are JSON files, one per host (the demo's in ``recordings/`` beside this module,
with a README on where each shape comes from; tests keep theirs in
``tests/fixtures/recordings``). Lookup, kept simple so other families can add their own:

* PowerShell (``powershell.exe … -EncodedCommand <base64>``): the script is decoded and its
  marker comment ``# accessready:<name>`` picks ``scripts[<name>]``;
* anything else: the command line, e.g. ``whoami /groups /fo csv``, picks
  ``commands[<line>]`` (case-insensitive).

An entry is ``{"json": <value>}`` (printed like ``ConvertTo-Json -Compress``) or
``{"stdout": "<text>"}``, plus optional ``stderr``, ``exit_code``, ``delay_s`` (no output
until then) and ``hang`` (never finishes). ``{"by_user": {"<user>": entry, "*": entry}}``
chooses by the logged-on user; ``{"by_param": "<Name>", "cases": {"<value>": entry, "*":
entry}}`` by a ``$Name = '<value>'`` line the transport put before the script. Strings may
hold ``{{user}}``, ``{{sam}}``, ``{{domain}}``, ``{{computer}}`` and ``{{now+10d}}`` (a
date relative to now, so a recorded "expires in 10 days" stays true). Load files with
:func:`load_recordings` (later files override earlier ones) and pass the result in.
"""

from __future__ import annotations

import base64
import datetime
import json
import re
from collections.abc import Sequence
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from accessready.checks.account.parse import split_account

RECORDINGS = resources.files("accessready.agent.demo.simulators") / "recordings"
"""The demo's recordings (shipped in the wheel)."""

_MARKER = re.compile(r"^\s*#\s*accessready:([A-Za-z0-9_.\-]+)", re.M)
_PARAM = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*) = '((?:[^']|'')*)'$", re.M)
_NOW = re.compile(r"\{\{now([+-]\d+)d\}\}")


def _relative_date(match: re.Match[str]) -> str:
    """``{{now+10d}}`` → a UTC time that many days from now, as .NET's 'o' format prints it."""
    when = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=int(match.group(1)))
    return when.strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def load_recordings(*names: str, folders: Sequence[Traversable | Path] = ()
                    ) -> dict[str, dict[str, Any]]:
    """Merge ``<name>.json`` recordings, in order: ``{"scripts": {...}, "commands": {...}}``.

    Each name is read from the first of ``folders`` that has it, else from the demo's
    :data:`RECORDINGS`."""
    merged: dict[str, dict[str, Any]] = {"scripts": {}, "commands": {}}
    for name in names:
        path = next((f / f"{name}.json" for f in folders if (f / f"{name}.json").is_file()),
                    RECORDINGS / f"{name}.json")
        data = json.loads(path.read_text(encoding="utf-8"))
        for section in ("scripts", "commands"):
            for key, entry in data.get(section, {}).items():
                merged[section][key.lower() if section == "commands" else key] = entry
    return merged


def decode_powershell(command_line: str) -> tuple[str | None, str]:
    """(script, command line) — the script when the line runs ``-EncodedCommand``."""
    parts = command_line.split()
    for i, part in enumerate(parts[:-1]):
        if part.lower() in ("-encodedcommand", "-enc", "-e", "-ec"):
            try:
                return base64.b64decode(parts[i + 1]).decode("utf-16-le"), command_line
            except ValueError:
                return None, command_line
    return None, command_line


def script_params(script: str) -> dict[str, str]:
    """The ``$name = '<literal>'`` lines at the top of a script, unquoted."""
    return {m.group(1): m.group(2).replace("''", "'") for m in _PARAM.finditer(script)}


def substitute(value: Any, user: str, netbios_domain: str, computer: str) -> Any:
    """``value`` with its ``{{user}}``, ``{{sam}}``, ``{{domain}}``, ``{{computer}}`` and
    ``{{now±Nd}}`` placeholders filled in, at any depth."""
    if isinstance(value, str):
        domain, sam = split_account(user)
        for token, text in (("{{user}}", user), ("{{sam}}", sam),
                            ("{{domain}}", (domain or netbios_domain).upper()),
                            ("{{computer}}", computer)):
            value = value.replace(token, text)
        return _NOW.sub(_relative_date, value)
    if isinstance(value, list):
        return [substitute(v, user, netbios_domain, computer) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, user, netbios_domain, computer) for k, v in value.items()}
    return value


def choose(recordings: dict[str, dict[str, Any]], command_line: str,
           user: str) -> dict[str, Any] | None:
    """The recording for a command line run by ``user`` (None: unknown command)."""
    script, line = decode_powershell(command_line)
    params: dict[str, str] = {}
    if script is not None:
        marker = _MARKER.search(script)
        entry = recordings["scripts"].get(marker.group(1)) if marker else None
        params = script_params(script)
    else:
        entry = recordings["commands"].get(" ".join(line.split()).lower())
    _, sam = split_account(user)
    for _ in range(4):  # nested choices, bounded
        if entry is None:
            return None
        if "by_user" in entry:
            choices = entry["by_user"]
            entry = choices.get(sam.lower()) or choices.get(user.lower()) or choices.get("*")
        elif "by_param" in entry:
            cases = entry.get("cases", {})
            entry = cases.get(params.get(entry["by_param"], "")) or cases.get("*")
        else:
            return entry
    return None
