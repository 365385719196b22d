"""Sanitising and cleaning a check's result give exactly what they gave before issue 13.

Thousands of results with evidence made at random from what plugins hand over — exact
built-in values, subclasses of str/int/float/dict/list, tuples, NaN and infinities,
integers beyond 64 bits (as values and as keys), bool/tuple/None keys, sets, bytes,
objects, nesting past the limit, long key paths, a registered secret — go through
:func:`sanitise` and :func:`clean`. Each outcome (the result's ``repr`` with the exact type
of every value in it, or the :class:`Unusable` texts) must equal the golden file's, written
by the code at commit 7767a32 (``python tests/unit/test_results_golden.py --write`` run with
that tree on the import path).
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from accessready.agent.core.model import Requirement, Result, Status, Text, t
from accessready.agent.io.secrets import REDACTOR
from accessready.agent.plugin.checkapi import Check
from accessready.agent.plugin.results import Unusable, clean, sanitise

GOLDEN = Path(__file__).resolve().parent.parent / "profiles" / "results.golden.json"
SECRET = "Hemligt-Lösen-2026"
CASES = 3000


class _Check(Check):
    id = "fam.golden"
    title = t("Golden", "Gyllene")
    requirement = Requirement.REMOTE
    method = "ssh"


class _Str(str):
    pass


class _Int(int):
    pass


class _Float(float):
    pass


class _Dict(dict):
    pass


class _List(list):
    pass


class _Thing:
    def __repr__(self) -> str:
        return "<thing>"


def _scalar(rng: random.Random) -> Any:
    if rng.random() < 0.9:  # mostly what checks write
        return rng.choice(["", "x", "å ä ö", f"pw {SECRET}", "a" * 100, "\x00\u202e", 0, 1,
                           -7, 2 ** 63 - 1, -(2 ** 63), 0.5, -0.0, 1e300, True, False, None,
                           _Str("sub"), _Int(7), _Float(1.5)])
    return rng.choice([
        lambda: rng.choice(["", "x", "å ä ö", f"pw {SECRET}", "a" * 100, "\x00\u202e"]),
        lambda: rng.randrange(-5, 5), lambda: rng.choice([2 ** 63 - 1, -(2 ** 63), 2 ** 63,
                                                          -(2 ** 63) - 1, 10 ** 400]),
        lambda: rng.choice([0.5, -0.0, 1e300, float("nan"), float("inf"), float("-inf")]),
        lambda: rng.choice([True, False, None]),
        lambda: _Str("sub"), lambda: _Int(7), lambda: _Int(2 ** 70), lambda: _Float(1.5),
        lambda: _Float("nan"), lambda: {1, 2}, lambda: b"bytes", lambda: _Thing(),
    ])()


def _key(rng: random.Random) -> Any:
    return rng.choice(["k", "key.with.dots", "", "å", SECRET, "x" * 90, 3, -1, 2 ** 64, True,
                       None, (1, 2), _Str("skey"), _Int(4)] + [f"k{n}" for n in range(6)])


def _value(rng: random.Random, depth: int) -> Any:
    roll = rng.random()
    if depth > 6 or roll < 0.45:
        return _scalar(rng)
    items = [_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if roll < 0.65:
        return rng.choice([list, tuple, _List])(items)
    table = rng.choice([dict, _Dict])()
    for item in items:
        table[_key(rng) if rng.random() < 0.15 else f"k{rng.randrange(6)}"] = item
    return table


def _deep(levels: int) -> dict[str, Any]:
    value: Any = "bottom"
    for n in range(levels):
        value = {f"level{n}": value} if n % 2 else [value]
    return {"deep": value}


def _details(rng: random.Random, n: int) -> Any:
    if n % 97 == 0:
        return _deep(rng.choice([60, 63, 64, 65, 70]))
    if n % 89 == 0:
        return rng.choice([[], "text", None, _Dict(a=1)])  # not a dict, or a subclass
    table: dict[Any, Any] = {}
    for _ in range(rng.randrange(6)):
        key = _key(rng) if rng.random() < 0.3 else f"k{rng.randrange(6)}"
        table[key] = _value(rng, 0)
    return table


def _results() -> Iterator[tuple[Check, Result, float]]:
    rng = random.Random(1307)
    check = _Check()
    for n in range(CASES):
        remediation = rng.choice([None, t("Fix it.", "Åtgärda."), t(f"Not {SECRET}", "x"),
                                  Text(_Str("sub"), "sv")])
        wrong = rng.random() < 0.2  # then one of the result's own fields is wrong
        field = rng.randrange(7) if wrong else -1
        yield check, Result(
            check_id="fam.other" if field == 0 else "fam.golden",
            target=rng.choice(["srv0", f"host {SECRET}", _Str("srv-sub")]),
            status=rng.choice(list(Status)),
            summary=Text("en", 5) if field == 1 else  # type: ignore[arg-type]
            rng.choice([t("ok", "ok"), t(f"saw {SECRET}", "såg")]),
            details=_details(rng, n),
            remediation=remediation if field != 2 else t("x", None),  # type: ignore[arg-type]
            duration_s=rng.choice([-1.0, float("nan"), True, 2 ** 64, "1"]) if field == 3
            else rng.choice([0.0, 0.25, 3, _Float(0.5)]),
            requirement=Requirement.ADFS if field == 4 else Requirement.REMOTE,
            owner=rng.choice(["nobody", 5]) if field == 5 else
            rng.choice([None] * 5 + ["customer", "supplier"]),
            due=rng.choice(["2026-6-30", "20260630", 7]) if field == 6 else
            rng.choice([None] * 5 + ["2026-06-30"]),
            method="ssh"), rng.choice([0.0, 0.125, 2.5])


def _types(value: Any) -> str:
    """Every value's exact type, in order (repr alone hides a str subclass)."""
    if isinstance(value, dict):
        return (f"{type(value).__name__}{{" + ",".join(
            f"{type(k).__name__}:{_types(v)}" for k, v in value.items()) + "}")
    if isinstance(value, list | tuple):
        return f"{type(value).__name__}[" + ",".join(_types(v) for v in value) + "]"
    return type(value).__name__


def _outcome(check: Check, result: Result, duration: float) -> str:
    try:
        kept = sanitise(check, result)
    except Unusable as exc:
        return f"unusable: {exc.en} | {exc.sv}"
    cleaned = clean(kept, duration)
    return "\n".join([repr(kept), _types(kept.details), repr(cleaned), _types(cleaned.details),
                      " ".join(type(getattr(cleaned, f)).__name__ for f in (
                          "target", "summary", "remediation", "duration_s", "owner", "due"))])


def _digests() -> list[str]:
    REDACTOR.register(SECRET)
    try:
        return [hashlib.sha256(_outcome(*case).encode("utf-8", "surrogatepass")).hexdigest()[:12]
                for case in _results()]
    finally:
        REDACTOR.clear()


def test_sanitise_and_clean_give_what_the_code_before_the_speed_up_gave() -> None:
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    found = _digests()
    assert len(found) == len(golden) == CASES
    differing = [n for n, (a, b) in enumerate(zip(found, golden, strict=True)) if a != b]
    if differing:
        REDACTOR.register(SECRET)
        try:
            case = list(_results())[differing[0]]
            shown = _outcome(*case)
        finally:
            REDACTOR.clear()
        raise AssertionError(f"{len(differing)} cases differ; case {differing[0]}:\n{shown}")
    assert len(set(golden)) > CASES // 3  # the corpus is varied, not one outcome repeated


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    GOLDEN.write_text(json.dumps(_digests()) + "\n", encoding="utf-8")
