"""``textsafe.evidence_json`` is faster than it was and gives the same text for any details.

The oracle below is the function as it was before the fast path (json.dumps with indent,
repr for what json cannot hold, a bounded repr when json gives up, then cut and cleaned).
"""

from __future__ import annotations

import enum
import json
import math
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
    return clean(text, multiline=True), truncated


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
