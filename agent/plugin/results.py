"""What the runner makes of a check's result before it is kept: rebuilt from plain data
JSON can hold (or refused, saying why), and with every secret masked.

A plugin's result is third-party data: a subclass whose methods run later, a NaN, a
number beyond 64 bits, a result in another check's name. :func:`sanitise` turns it into
exact built-in types or raises :class:`Unusable`; :func:`clean` masks it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Any

from accessready.agent.core.model import OWNERS, Result, Status, Text
from accessready.agent.io.secrets import REDACTOR
from accessready.agent.plugin.checkapi import Check


class Unusable(Exception):
    """A result from a check that cannot be kept; ``en``/``sv`` say why."""

    def __init__(self, en: str, sv: str) -> None:
        super().__init__(en)
        self.en, self.sv = en, sv


_MAX_DEPTH = 64

# Where a value sits in the evidence: "" (the top), or (parent, step) for a dict's item (a
# str step) or a list's (an int step). Written out, as "a.b[2].c", only for a message: the
# text of every path was most of the cost of checking plain evidence.
_Path = str | tuple[Any, str | int]


def _path_text(path: _Path) -> str:
    steps: list[str | int] = []
    while isinstance(path, tuple):
        path, step = path
        steps.append(step)
    text = path
    for step in reversed(steps):
        if isinstance(step, int):
            step = f"[{step}]"
        elif text:
            step = f".{step}"
        text += step
    return text


def _where(path: _Path) -> str:
    text = _path_text(path)
    return (text if len(text) <= 80 else text[:77] + "...") or "details"


# Beyond 64 bits a number is no measurement, and readers of the JSON (and Python's own
# int-to-text limit, 4300 digits) cannot be relied on to take it.
_INT_LIMIT = 2 ** 63


def _bounded(value: int, path: _Path) -> int:
    number = int.__int__(value)
    if not -_INT_LIMIT <= number < _INT_LIMIT:
        raise Unusable(
            f"evidence '{_where(path)}' is a whole number beyond ±2**63, which JSON readers "
            "cannot hold", f"underlaget '{_where(path)}' är ett heltal utanför ±2**63, som "
            "JSON-läsare inte kan lagra")
    return number


def _shown(value: Any) -> str:
    """``repr(value)`` cut short; a huge int by its size (Python will not write one of
    more than 4300 digits, and a plugin's ``__repr__`` may fail)."""
    if isinstance(value, int) and not -_INT_LIMIT <= value < _INT_LIMIT:
        return f"<int of {int.bit_length(value)} bits>"
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 80 else text[:77] + "..."


def _plain(value: Any, path: _Path = "", depth: int = 0) -> Any:
    """A copy of ``value`` made only of what JSON holds (exact built-in types, finite
    numbers); raises :class:`Unusable` naming the first thing that is not."""
    if depth > _MAX_DEPTH:
        raise Unusable(f"evidence '{_where(path)}' is nested more than {_MAX_DEPTH} deep",
                        f"underlaget '{_where(path)}' är nästlat djupare än {_MAX_DEPTH} nivåer")
    kind = type(value)
    # the exact built-in types checks write, kept as they are (what the conversions below
    # return for them anyway)
    if kind is str or value is None or value is True or value is False:
        return value
    if kind is int and -_INT_LIMIT <= value < _INT_LIMIT:
        return value
    if kind is float and math.isfinite(value):
        return value
    if isinstance(value, str):
        return str.__str__(value)  # an exact str: no subclass method runs later
    if isinstance(value, int):
        return _bounded(value, path)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise Unusable(f"evidence '{_where(path)}' is {value!r}, which JSON cannot hold",
                            f"underlaget '{_where(path)}' är {value!r}, som JSON inte kan lagra")
        return float.__float__(value)
    if isinstance(value, dict):
        out = {}
        for key, item in list(value.items()):
            if type(key) is str:
                name = key
            elif isinstance(key, bool) or not isinstance(key, str | int):
                raise Unusable(
                    f"evidence '{_where(path)}' has a key of type {type(key).__name__}",
                    f"underlaget '{_where(path)}' har en nyckel av typen {type(key).__name__}")
            else:
                name = (str.__str__(key) if isinstance(key, str)
                        else str(_bounded(key, (path, "<key>"))))
            out[name] = _plain(item, (path, name), depth + 1)
        return out
    if isinstance(value, list | tuple):
        return [_plain(item, (path, i), depth + 1) for i, item in enumerate(value)]
    raise Unusable(f"evidence '{_where(path)}' is a {type(value).__name__}, which JSON "
                    "cannot hold", f"underlaget '{_where(path)}' är en "
                    f"{type(value).__name__}, som JSON inte kan lagra")


def _is_text(value: Any) -> bool:
    return isinstance(value, Text) and isinstance(value.en, str) and isinstance(value.sv, str)


def sanitise(check: Check, result: Result) -> Result:
    """``result`` of ``check`` rebuilt from plain data, or :class:`Unusable` saying what
    is wrong."""
    if (result.check_id, result.requirement, result.method) != (
            check.id, check.requirement, check.method):
        raise Unusable("it is in the name of another check, which a check must never do",
                        "det är i en annan kontrolls namn, vilket en kontroll aldrig får göra")
    duration = result.duration_s
    if not (isinstance(result.status, Status) and isinstance(result.target, str)
            and _is_text(result.summary) and isinstance(result.details, dict)
            and (result.remediation is None or _is_text(result.remediation))):
        raise Unusable("its status, target, summary, evidence or remediation is of the "
                        "wrong type", "dess status, mål, sammanfattning, underlag eller "
                        "åtgärd är av fel typ")
    if (isinstance(duration, bool) or not isinstance(duration, int | float)
            or (isinstance(duration, int) and not 0 <= duration < _INT_LIMIT)
            or not math.isfinite(duration) or duration < 0):
        raise Unusable(f"its duration {_shown(duration)} is not a finite number of seconds",
                        f"dess tidsåtgång {_shown(duration)} är inte ett ändligt antal "
                        "sekunder")
    owner, due = result.owner, result.due
    if owner is not None and owner not in OWNERS:
        raise Unusable(f"its owner {_shown(owner)} is none of {', '.join(OWNERS)}",
                        f"dess ägare {_shown(owner)} är ingen av {', '.join(OWNERS)}")
    if due is not None and not (isinstance(due, str) and _is_iso_date(due)):
        raise Unusable(f"its due date {_shown(due)} is not YYYY-MM-DD",
                        f"dess sista datum {_shown(due)} är inte ÅÅÅÅ-MM-DD")
    rem = result.remediation
    return Result(
        check_id=check.id, target=str.__str__(result.target), status=Status(result.status),
        summary=Text(str.__str__(result.summary.en), str.__str__(result.summary.sv)),
        details=_plain(result.details),
        remediation=Text(str.__str__(rem.en), str.__str__(rem.sv)) if rem else None,
        duration_s=float(duration), requirement=check.requirement, method=check.method,
        owner=owner, due=str.__str__(due) if due is not None else None)


def _is_iso_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


def _masked(text: Text) -> Text:
    return Text(en=REDACTOR.text(text.en), sv=REDACTOR.text(text.sv))


def clean(result: Result, duration: float) -> Result:
    """Mask secrets in everything a result carries and record its duration."""
    return dataclasses.replace(
        result,
        target=REDACTOR.text(result.target),
        summary=_masked(result.summary),
        details=REDACTOR.data(result.details),
        remediation=_masked(result.remediation) if result.remediation is not None else None,
        duration_s=result.duration_s or duration,
    )
