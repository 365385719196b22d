"""systemd unit files read and checked in Python, for the scheduling examples' tests.

Why not ``systemd-analyze verify``: it is not installed where the tests run (a container
has no systemd), and it insists that ExecStart's binary exists on this machine. What it
would catch in our two files is checked here instead: every section and directive is one
systemd knows (a typo is not silently ignored, as systemd itself would), every value has
the syntax systemd documents for that directive (booleans, time spans, calendar events,
unit names, absolute paths), ``%`` is escaped in command lines (systemd reads it as a
specifier), and a timer's ``Unit=`` names a unit file beside it.

The directive tables are the subset of systemd.unit(5), systemd.service(5),
systemd.exec(5), systemd.kill(5), systemd.resource-control(5) and systemd.timer(5) an
example like ours could plausibly use; a directive outside them fails loudly, and then
belongs in the table if systemd documents it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

Sections = dict[str, dict[str, list[str]]]

_BOOLEANS = {"1", "yes", "y", "true", "t", "on", "0", "no", "n", "false", "f", "off"}
_UNIT_NAME = re.compile(r"^[A-Za-z0-9:_.\\@-]+\.(service|socket|device|mount|automount|swap"
                        r"|target|path|timer|slice|scope)$")
_TIME_UNITS = ("usec|us|µs|msec|ms|seconds|second|sec|s|minutes|minute|min|m|hours|hour|hr|h"
               "|days|day|d|weeks|week|w|months|month|M|years|year|y")
_TIMESPAN = re.compile(rf"^(\d+(\.\d+)?\s*({_TIME_UNITS})?\s*)+$")
_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun", "monday", "tuesday",
             "wednesday", "thursday", "friday", "saturday", "sunday")
_CALENDAR_SHORTHANDS = {"minutely", "hourly", "daily", "weekly", "monthly", "yearly",
                        "annually", "quarterly", "semiannually"}


def parse(path: Path) -> Sections:
    """A unit file: section → key → values (keys may repeat), ``\\``-continued lines joined.

    Raises AssertionError for a line outside a section, a line without ``=``, or a
    continuation that never ends.
    """
    sections: Sections = {}
    current = None
    logical, pending = [], ""
    for raw in path.read_text("utf-8").splitlines():
        if not pending and raw.lstrip().startswith(("#", ";")):
            continue
        if raw.endswith("\\"):
            pending += raw[:-1] + " "
            continue
        logical.append(pending + raw)
        pending = ""
    assert not pending, f"{path.name}: a continued line never ends"
    for line in filter(str.strip, logical):
        if line.startswith("["):
            assert line.rstrip().endswith("]"), f"{path.name}: bad section line {line!r}"
            current = sections.setdefault(line.strip().strip("[]"), {})
            continue
        assert current is not None and "=" in line, f"{path.name}: stray line {line!r}"
        key, value = line.split("=", 1)
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


# -- value syntaxes ------------------------------------------------------------------------

def _boolean(value: str) -> bool:
    return value.lower() in _BOOLEANS


def _one_of(*choices: str, boolean: bool = False) -> Callable[[str], bool]:
    return lambda value: value in choices or (boolean and _boolean(value))


def _timespan(value: str) -> bool:
    return value == "infinity" or bool(_TIMESPAN.match(value.strip()))


def _units(value: str) -> bool:
    return all(_UNIT_NAME.match(name) for name in value.split()) and bool(value.split())


def _absolute_paths(value: str, prefixes: str = "") -> bool:
    paths = value.split()
    return bool(paths) and all(p.lstrip(prefixes).startswith("/") for p in paths)


def _relative_dirs(value: str) -> bool:
    parts = value.split()
    return bool(parts) and all(not p.startswith("/") and ".." not in p.split("/")
                               for p in parts)


def _exit_statuses(value: str) -> bool:
    return all((t.isdigit() and int(t) <= 255) or re.fullmatch(r"SIG[A-Z0-9]+", t)
               for t in value.split())


def _nice(value: str) -> bool:
    return bool(re.fullmatch(r"-?\d+", value)) and -20 <= int(value) <= 19


def _command(value: str) -> bool:
    """ExecStart syntax: an absolute program after the optional ``@-:+!`` prefixes, and
    every ``%`` doubled (a lone one is a specifier, expanded by systemd)."""
    program = value.split()[0].lstrip("@-:+!") if value.split() else ""
    return program.startswith("/") and "%" not in value.replace("%%", "")


def _calendar_component(text: str, low: int, high: int) -> bool:
    for part in text.split(","):
        base, _, step = part.partition("/")
        if step and not step.isdigit():
            return False
        if base == "*":
            continue
        bounds = base.split("..")
        if len(bounds) > 2 or not all(b.isdigit() and low <= int(b) <= high for b in bounds):
            return False
    return True


def _calendar(value: str) -> bool:
    """systemd.time(7) calendar events: ``[weekdays] [[year-]month-day] [h:m[:s]]`` or a
    shorthand such as ``daily``; an optional trailing time zone is not used here."""
    if value.strip().lower() in _CALENDAR_SHORTHANDS:
        return True
    tokens = value.split()
    if tokens and all(d.lower() in _WEEKDAYS for d in re.split(r"[,.]+", tokens[0]) if d):
        tokens = tokens[1:]
    if not tokens or len(tokens) > 2:
        return False
    if "-" in tokens[0]:
        date = tokens.pop(0).split("-")
        ranges = [(1970, 2199), (1, 12), (1, 31)][-len(date):]
        if len(date) not in (2, 3) or not all(
                _calendar_component(p, lo, hi) for p, (lo, hi) in zip(date, ranges,
                                                                        strict=True)):
            return False
    if tokens:
        clock = tokens.pop(0).split(":")
        ranges = [(0, 23), (0, 59), (0, 59)][:len(clock)]
        if len(clock) not in (2, 3) or not all(
                _calendar_component(p.split(".")[0], lo, hi)
                for p, (lo, hi) in zip(clock, ranges, strict=True)):
            return False
    return not tokens


def _any(value: str) -> bool:
    return bool(value.strip())


_PROTECT = {"NoNewPrivileges", "PrivateTmp", "PrivateDevices", "PrivateNetwork",
            "ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs",
            "ProtectControlGroups", "ProtectClock", "ProtectHostname", "RestrictSUIDSGID",
            "RestrictRealtime", "LockPersonality", "MemoryDenyWriteExecute", "DynamicUser",
            "RemainAfterExit"}

DIRECTIVES: dict[str, dict[str, Callable[[str], bool]]] = {
    "Unit": {
        "Description": _any, "Documentation": lambda v: all(
            re.match(r"^(https?|file|info|man):", u) for u in v.split()),
        **{k: _units for k in ("Wants", "Requires", "Requisite", "BindsTo", "PartOf",
                               "Upholds", "Conflicts", "Before", "After", "OnFailure",
                               "OnSuccess")},
        "DefaultDependencies": _boolean, "StartLimitIntervalSec": _timespan,
        "StartLimitBurst": str.isdigit, "ConditionPathExists": _any,
        "AssertPathExists": _any, "RefuseManualStart": _boolean,
        "RefuseManualStop": _boolean,
    },
    "Service": {
        "Type": _one_of("simple", "exec", "forking", "oneshot", "dbus", "notify",
                        "notify-reload", "idle"),
        "User": lambda v: bool(_USER.match(v)), "Group": lambda v: bool(_USER.match(v)),
        **{k: _command for k in ("ExecStart", "ExecStartPre", "ExecStartPost", "ExecStop",
                                 "ExecStopPost", "ExecReload", "ExecCondition")},
        "Restart": _one_of("no", "on-success", "on-failure", "on-abnormal", "on-watchdog",
                           "on-abort", "always"),
        **{k: _timespan for k in ("RestartSec", "TimeoutStartSec", "TimeoutStopSec",
                                  "TimeoutSec", "RuntimeMaxSec")},
        "SuccessExitStatus": _exit_statuses, "RestartPreventExitStatus": _exit_statuses,
        "Environment": _any,
        "EnvironmentFile": lambda v: _absolute_paths(v, "-"),
        "WorkingDirectory": lambda v: v == "~" or _absolute_paths(v, "-"),
        **{k: _relative_dirs for k in ("StateDirectory", "ConfigurationDirectory",
                                       "CacheDirectory", "LogsDirectory",
                                       "RuntimeDirectory")},
        "Nice": _nice,
        "IOSchedulingClass": _one_of("realtime", "best-effort", "idle", "none", "0", "1",
                                     "2", "3"),
        "IOSchedulingPriority": lambda v: v.isdigit() and int(v) <= 7,
        **{k: _boolean for k in _PROTECT},
        "ProtectSystem": _one_of("strict", "full", boolean=True),
        "ProtectHome": _one_of("read-only", "tmpfs", boolean=True),
        **{k: (lambda v: _absolute_paths(v, "-+")) for k in (
            "ReadWritePaths", "ReadOnlyPaths", "InaccessiblePaths", "ExecPaths",
            "NoExecPaths")},
        "UMask": lambda v: bool(re.fullmatch(r"0?[0-7]{3}", v)),
        "KillMode": _one_of("control-group", "mixed", "process", "none"),
        **{k: _any for k in ("CapabilityBoundingSet", "AmbientCapabilities",
                             "SystemCallFilter", "SystemCallArchitectures",
                             "RestrictNamespaces", "LimitNOFILE", "MemoryMax", "CPUQuota",
                             "StandardOutput", "StandardError", "SyslogIdentifier")},
    },
    "Timer": {
        **{k: _timespan for k in ("OnActiveSec", "OnBootSec", "OnStartupSec",
                                  "OnUnitActiveSec", "OnUnitInactiveSec", "AccuracySec",
                                  "RandomizedDelaySec")},
        "OnCalendar": _calendar, "Unit": _units,
        **{k: _boolean for k in ("Persistent", "WakeSystem", "RemainAfterElapse",
                                 "FixedRandomDelay", "OnClockChange",
                                 "OnTimezoneChange")},
    },
    "Install": {
        **{k: _units for k in ("Alias", "WantedBy", "RequiredBy", "UpheldBy", "Also")},
        "DefaultInstance": _any,
    },
}

_TYPE_SECTIONS = {".service": {"Unit", "Service", "Install"},
                  ".timer": {"Unit", "Timer", "Install"}}


def problems(path: Path) -> list[str]:
    """What systemd would reject or ignore in the unit file at ``path`` (empty: none)."""
    found: list[str] = []
    allowed = _TYPE_SECTIONS.get(path.suffix)
    if allowed is None:
        return [f"{path.name}: not a .service or .timer file"]
    try:
        sections = parse(path)
    except AssertionError as exc:
        return [str(exc)]
    main = "Service" if path.suffix == ".service" else "Timer"
    if main not in sections:
        found.append(f"{path.name}: no [{main}] section")
    for section, keys in sections.items():
        if section not in allowed:
            found.append(f"{path.name}: unknown section [{section}]")
            continue
        for key, values in keys.items():
            valid = DIRECTIVES[section].get(key)
            if valid is None:
                found.append(f"{path.name}: [{section}] unknown directive {key}=")
                continue
            found += [f"{path.name}: [{section}] {key}={value!r} is not valid"
                      for value in values if not valid(value)]
    if path.suffix == ".timer":
        for unit in sections.get("Timer", {}).get("Unit", []):
            if not (path.parent / unit).exists():
                found.append(f"{path.name}: Unit={unit} has no unit file beside it")
    if path.suffix == ".service" and "Service" in sections:
        service = sections["Service"]
        if len(service.get("ExecStart", [])) != 1 and service.get("Type") != ["oneshot"]:
            found.append(f"{path.name}: exactly one ExecStart= unless Type=oneshot")
        if not service.get("ExecStart"):
            found.append(f"{path.name}: no ExecStart=")
    return found
