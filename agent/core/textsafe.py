"""Making untrusted text fit to print: shared by every renderer.

Everything a report shows may have come from the network (a banner, an HTTP body, a DNS
answer) or from a profile someone else wrote. Escaping for each output format is done by
that format's serializer (Jinja's autoescape, ElementTree, the Prometheus escaper); this
module does what comes before: replace characters no report should carry and bound the
length, so a hostile answer can neither spoof the text nor blow up the file.
"""

from __future__ import annotations

import json
import math
import re
import reprlib
from collections.abc import Callable
from typing import Any

REPLACEMENT = "\ufffd"

# C0/C1 controls (except tab and newlines, handled per use), lone surrogates (a string
# decoded with surrogateescape, not encodable as UTF-8), bidi embeddings/overrides/isolates
# (they can visually reorder a line: "Trojan source") and the noncharacters U+FFFE/U+FFFF.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff"
                     "\u202a-\u202e\u2066-\u2069\ufffe\uffff]")
_LINE_BREAKS = re.compile(r"[\t\n\r\u2028\u2029\x85]+")
# Whether clean() has anything to do at all: one scan instead of two for the usual text.
_FOLDS = re.compile(_UNSAFE.pattern[:-1] + "\t\n\r\u2028\u2029]")
_FOLDS_MULTILINE = re.compile(_UNSAFE.pattern[:-1] + "\r]")

# What XML 1.0 allows at all (§2.2); everything else is dropped from JUnit output.
XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

EVIDENCE_LIMIT = 20_000
"""Characters of pretty-printed evidence kept per result."""

class _BoundedRepr(reprlib.Repr):
    """reprlib's, with integers too long for ``str()`` (over ``sys.get_int_max_str_digits``,
    4,300 digits by default: ``repr`` raises ValueError) told by their size."""

    def repr_int(self, x: int, level: int) -> str:
        try:
            return super().repr_int(x, level)
        except ValueError:
            return f"<an integer of {x.bit_length()} bits>"


# The fallback for evidence JSON cannot encode: depth and sizes bounded, so it cannot
# recurse without end the way plain repr() does on a hostile nesting.
_BOUNDED_REPR = _BoundedRepr()
_BOUNDED_REPR.maxlevel = 12
_BOUNDED_REPR.maxstring = _BOUNDED_REPR.maxother = 2_000
_BOUNDED_REPR.maxdict = _BOUNDED_REPR.maxlist = _BOUNDED_REPR.maxtuple = 500


def clean(value: object, limit: int | None = None, multiline: bool = False) -> str:
    """``value`` as display text: unsafe characters replaced, at most ``limit`` characters.

    One-line text (the default) has every line break and tab folded into one space;
    ``multiline`` keeps newlines and tabs (remediation paragraphs, evidence).
    """
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    if limit is not None and len(text) > limit:
        # cut before cleaning, so a megabyte of junk costs nothing further
        text = text[: limit - 1] + "…"
    # Nothing to do for most text: a printable string has no control, separator, bidi,
    # surrogate or noncharacter (str.isprintable is a plain C loop, the regex is not).
    if multiline:
        if _FOLDS_MULTILINE.search(text) is None:
            return text
    elif text.isprintable() or _FOLDS.search(text) is None:
        return text
    if not multiline:
        text = _LINE_BREAKS.sub(" ", text)
    else:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _UNSAFE.sub(REPLACEMENT, text)


def evidence_json(details: Any, limit: int = EVIDENCE_LIMIT) -> tuple[str, bool]:
    """Pretty JSON of a result's ``details`` and whether it was cut at ``limit`` characters.

    Never raises: evidence is arbitrary (a check may have put a non-JSON value in it, a
    hostile answer may nest deeper than the encoder recurses), and one bad result must not
    cost the whole report.
    """
    if not details:
        return "", False
    try:
        text = _pretty_json(details)
        # JSON escapes every C0 control, so ASCII JSON has nothing to clean but DEL
        plain = text.isascii() and "\x7f" not in text
    except (_Unusual, ValueError, TypeError, RecursionError):  # json decides, as it did
        plain = False
        try:
            text = json.dumps(details, indent=2, ensure_ascii=False, default=repr)
        except Exception:  # a repr() that raises too (any error): reprlib copes
            text = _BOUNDED_REPR.repr(details)
    truncated = len(text) > limit
    if truncated:
        text = text[:limit]
    return (text if plain else clean(text, multiline=True)), truncated


def pretty_json(value: Any) -> str:
    """``json.dumps(value, indent=2, ensure_ascii=False)``, character for character, about
    twice as fast for plain JSON data (an audit's overview holds thousands of results)."""
    try:
        return _pretty_json(value)
    except (_Unusual, RecursionError):
        return json.dumps(value, indent=2, ensure_ascii=False)


class _Unusual(Exception):
    """A value :func:`_pretty_json` leaves to :func:`json.dumps` itself."""


_encode_str = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) uses
_PRETTY_DEPTH = 64  # deeper (or circular) evidence goes the slow, careful way
# The commonest leaves by exact type, as json writes them (floats go the long way: NaN).
_LEAVES: dict[type, Callable[[Any], str]] = {
    str: _encode_str, int: int.__repr__, bool: lambda b: "true" if b else "false",
    type(None): lambda _: "null"}


def _pretty_json(value: Any, newline: str = "\n") -> str:
    """``json.dumps(value, indent=2, ensure_ascii=False)``, character for character, for
    the plain JSON types (str keys; dict, list, tuple, str, int, float, bool, None).

    About twice as fast: with ``indent`` the standard library gives up its C encoder for a
    generator per level. Anything else raises :class:`_Unusual`, so that json decides it
    exactly as before (``default=repr``, non-str keys, circular references).
    """
    kind = type(value)
    if kind is dict:
        if not value:
            return "{}"
        inner = _deeper(newline)
        parts = []
        for key, item in value.items():
            if type(key) is not str:
                raise _Unusual
            leaf = _LEAVES.get(type(item))
            parts.append(_encode_str(key) + ": " + (
                leaf(item) if leaf else _pretty_json(item, inner)))
        return "{" + inner + ("," + inner).join(parts) + newline + "}"
    if kind is list or kind is tuple:
        if not value:
            return "[]"
        inner = _deeper(newline)
        parts = []
        for item in value:
            leaf = _LEAVES.get(type(item))
            parts.append(leaf(item) if leaf else _pretty_json(item, inner))
        return "[" + inner + ("," + inner).join(parts) + newline + "]"
    # the order json itself tests in (a bool is an int; None, True, False by identity)
    if isinstance(value, str):
        return _encode_str(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        if value != value:
            return "NaN"
        if value in (math.inf, -math.inf):
            return "Infinity" if value > 0 else "-Infinity"
        return float.__repr__(value)
    raise _Unusual  # a dict or list subclass, or what json hands to default=repr


def _deeper(newline: str) -> str:
    if len(newline) > _PRETTY_DEPTH * 2:
        raise _Unusual
    return newline + "  "


def xml_text(value: object, limit: int | None = None, multiline: bool = True) -> str:
    """Text that XML 1.0 can carry: :func:`clean`, then anything XML forbids dropped."""
    return XML_ILLEGAL.sub("", clean(value, limit, multiline=multiline))


class UniqueNames:
    """Hands out names never handed out before: ``base`` itself, else ``form(base, n)``
    for the first free n = 2, 3, … (anchors, Prometheus labels, report file names).

    Linear however many bases collide: each base resumes where it stopped, so a taken
    ``form(base, n)`` is passed over once, not once per later name.
    """

    def __init__(self, form: Callable[[str, int], str] = lambda base, n: f"{base}-{n}",
                 ) -> None:
        self._form = form
        self._used: set[str] = set()
        self._next: dict[str, int] = {}

    def __call__(self, base: str) -> str:
        """A unique name for ``base``."""
        n = self._next.get(base, 1)
        name = base if n == 1 else self._form(base, n)
        while name in self._used:
            n += 1
            name = self._form(base, n)
        self._next[base] = n + 1
        self._used.add(name)
        return name
