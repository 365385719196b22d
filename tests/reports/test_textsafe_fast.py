"""``textsafe.clean`` and ``evidence_json`` are faster than they were and give the same text.

The oracles below are the functions as they were at commit 7767a32, before the fast paths.
"""

from __future__ import annotations

import enum
import json
import math
import re
from collections import OrderedDict
from typing import Any

import pytest

from accessready.agent.core.textsafe import (
    _BOUNDED_REPR,
    EVIDENCE_LIMIT,
    _pretty_json,
    clean,
    evidence_json,
)

from .hostile import LONG_WORD

_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff"
                     "\u202a-\u202e\u2066-\u2069\ufffe\uffff]")
_LINE_BREAKS = re.compile(r"[\t\n\r\u2028\u2029\x85]+")


def clean_before(value: object, limit: int | None = None, multiline: bool = False) -> str:
    """``clean`` as it was at commit 7767a32."""
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    if not multiline:
        text = _LINE_BREAKS.sub(" ", text)
    else:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _UNSAFE.sub("\ufffd", text)


# Every character up to U+3000 and the special ones above, alone and inside text.
CHARACTERS = [chr(c) for c in range(0x3000)] + [chr(c) for c in (
    0xD800, 0xDBFF, 0xDC00, 0xDFFF, 0xFEFF, 0xFFF9, 0xFFFD, 0xFFFE, 0xFFFF, 0x1F642,
    0xE0001, 0x10FFFF, 0xFFFFF)]


@pytest.mark.parametrize("multiline", [False, True])
def test_clean_gives_the_same_text_for_every_character(multiline: bool) -> None:
    for char in CHARACTERS:
        for text in (char, f"ok {char} ok", f"å{char}\r\n{char}"):
            assert clean(text, multiline=multiline) == clean_before(text, multiline=multiline), \
                f"U+{ord(char):04X}"


@pytest.mark.parametrize("value", [None, 42, 2.5, b"bytes", "a" * 300, "x\r\ny" * 90,
                                   "\u202e" * 500, ["list"]])
@pytest.mark.parametrize("limit", [None, 1, 199, 200])
def test_clean_cuts_and_converts_as_before(value: object, limit: int | None) -> None:
    for multiline in (False, True):
        assert clean(value, limit, multiline) == clean_before(value, limit, multiline)


def before(details: Any, limit: int = EVIDENCE_LIMIT) -> tuple[str, bool]:
    """``evidence_json`` as it was at commit 7767a32."""
    if not details:
        return "", False
    try:
        text = json.dumps(details, indent=2, ensure_ascii=False, default=repr)
    except (ValueError, TypeError, RecursionError):
        text = _BOUNDED_REPR.repr(details)
    truncated = len(text) > limit
    if truncated:
        text = text[:limit]
    return clean_before(text, multiline=True), truncated


class Colour(enum.Enum):
    RED = 1


class Level(enum.IntEnum):
    HIGH = 3


class Word(enum.StrEnum):
    YES = "ja"


class Opaque:
    def __repr__(self) -> str:
        return "<Opaque \"quoted\" \u202e>"


def _nest(depth: int, leaf: Any = "bottom") -> Any:
    value = leaf
    for i in range(depth):
        value = {f"level{i}": value, "list": [i, None]} if i % 2 else [value, {"i": i}]
    return value


def _circular() -> dict[str, Any]:
    loop: dict[str, Any] = {"name": "loop"}
    loop["self"] = [loop]
    return loop


SHARED = {"shared": [1, 2]}

CASES: dict[str, Any] = {
    "flat": {"reason": "filtered"},
    "scalars": {"s": "text", "i": 42, "neg": -7, "f": 0.1, "big": 10 ** 30, "e": 1e16,
                "tiny": 5e-324, "zero": -0.0, "t": True, "f2": False, "n": None},
    "non-finite": {"nan": math.nan, "inf": math.inf, "ninf": -math.inf, "in": [math.inf]},
    "empty parts": {"d": {}, "l": [], "t": (), "s": ""},
    "nested": {"tls": {"version": "TLSv1.3", "names": ["a", "b"], "chain": [{"cn": "x"}]}},
    "tuple top": (1, "two", [3.5, {"four": None}]),
    "list top": ["a", ["b", []], {}],
    "string top": "just text",
    "number top": 12,
    "unicode": {"å": "ÅÄÖ 🙂 中文", "ctl": "a\x00b\x1b[31mc\u202ed", "nl": "l1\nl2\r\n",
                "quote": "\"\\/", "sep": "\u2028\u2029"},
    "ascii controls": {"c0": "a\x00b\x1b[31m\tc\r\n", "del": "x\x7fy", "ok": "plain"},
    "ascii, DEL only": {"del": "x\x7fy"},
    "ascii in a repr": {"obj": Opaque(), "set": {"a\x00\x7f"}},
    "surrogates": {"lone": "\ud800x\udcff", "\udcfe": "key"},
    "long": {"word": LONG_WORD},
    "almost the limit": {"x": "y" * (EVIDENCE_LIMIT - 12)},
    "non-str keys": {7: "int", 2.5: "float", True: "bool", None: "none"},
    "object key": {(1, 2): "tuple key"},
    "default repr": {"obj": Opaque(), "set": {1}, "bytes": b"\x00\xff", "enum": Colour.RED},
    "subclasses": {"level": Level.HIGH, "word": Word.YES, "od": OrderedDict(a=1),
                   "flag": bool(1)},
    "dict subclass top": OrderedDict(b=2, a=1),
    "shared twice": {"a": SHARED, "b": SHARED},
    "deep but fine": _nest(40),
    "deeper than the fast path": _nest(70),
    "deeper than json": _nest(400),
    "circular": _circular(),
    "falsy": {},
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_text_as_before(name: str) -> None:
    assert evidence_json(CASES[name]) == before(CASES[name])


@pytest.mark.parametrize("limit", [1, 10, 17, 1000])
def test_same_cut_as_before(limit: int) -> None:
    details = CASES["nested"]
    assert evidence_json(details, limit) == before(details, limit)


@pytest.mark.parametrize("name", ["flat", "scalars", "non-finite", "nested", "unicode",
                                  "tuple top", "deep but fine"])
def test_the_plain_types_take_the_fast_path(name: str) -> None:
    """Else the speed-up would be an untested path: these must not fall back to json."""
    assert _pretty_json(CASES[name]) == json.dumps(CASES[name], indent=2, ensure_ascii=False)


def test_pretty_json_is_json_dumps_with_indent_for_any_value() -> None:
    """The audit overview's encoder: the same bytes as ``json.dumps(indent=2)``, also
    for what it leaves to json (non-str keys, subclasses, deep nesting)."""
    import json

    from accessready.agent.core.textsafe import pretty_json

    class Sub(dict):
        pass

    deep: object = "leaf"
    for _ in range(100):
        deep = [deep]
    samples = [{"a": [1, 2.5, None, True, {"b": "å\u2028\x00"}], "c": {}}, [], {},
               {1: "x"}, Sub(k=1), deep, (1, "två"), float("nan"), -0.0, 10**30]
    for value in samples:
        assert pretty_json(value) == json.dumps(value, indent=2, ensure_ascii=False)


def test_evidence_json_never_raises_on_an_integer_too_long_for_str() -> None:
    # repr() of an int over 4,300 digits raises ValueError, in the encoder and in reprlib;
    # the runner bounds integers in results, but evidence_json promises never to raise
    text, cut = evidence_json({"n": 10 ** 5000, "ok": "kept"})
    assert "an integer of 16610 bits" in text and "kept" in text and not cut


def test_evidence_json_never_raises_on_a_repr_that_raises() -> None:
    class Hostile:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    text, _ = evidence_json({"x": Hostile(), "ok": "kept"})
    assert "Hostile" in text and "kept" in text
