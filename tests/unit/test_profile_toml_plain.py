"""The plain-profile reader (profile_text._plain_toml) against tomllib itself.

For any text it must either give up (None: tomllib reads the text, and words any error) or
return exactly what ``tomllib.loads`` returns — the same keys in the same order, the same
values of the same types (``1``, ``1.0`` and ``True`` are equal in Python, but not here).
Texts are made of the pieces profiles are made of, and of the ones TOML gets wrong.
"""

from __future__ import annotations

import random
import tomllib
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from accessready.agent.core.profile_text import _plain_toml

PROFILES = Path(__file__).resolve().parent.parent / "profiles"


def _same(a: Any, b: Any) -> bool:
    """Equal, with the same types all the way down and dict keys in the same order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return repr(a) == repr(b) if isinstance(a, float) else a == b  # -0.0 is not 0.0 here


def _agrees(text: str) -> None:
    plain = _plain_toml(text)
    try:
        expected: Any = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError, RecursionError):
        assert plain is None, f"read what tomllib refuses: {text!r} -> {plain!r}"
        return
    assert plain is None or _same(plain, expected), f"{text!r}: {plain!r} != {expected!r}"


KEYS = ["a", "b", "name", "servers", "x-y", "_1", "A", "a.b", '"q"', "'q'", "a b", "", "é",
        "port", "winrm"]
SCALARS = ['"x"', '""', "''", "'lit'", '"a b"', '"å ä ö"', '"a\\tb"', '"C:\\\\x"', '"a\\"b"',
           "'C:\\x'", '"tab\there"', "'tab\there'", '"x', "'x", '"""x"""', "'''x'''",
           "0", "1", "-1", "+1", "-0", "+0", "007", "1_000", "0x1F", "0o7", "0b1", "1e5",
           "1.5", "-0.0", "+1.25", "1.", ".5", "1.5e3", "5.0", "12345678901234567890",
           "123456789012345678", "1.12345678901234567890", "inf", "nan", "-inf", "true",
           "false", "True", "truex", "2026-01-01", "2026-02-30", "2026-13-01", "0000-01-01",
           "2026-1-1", "2026-01-01T10:00:00", "2026-01-01 10:00:00", "2026-01-01 10:00",
           "10:00:00", "2026-01-01x", "x", "", "#", "=", "\x00", "\x7f", "\r"]
SEPARATORS = [",", ", ", " ,", " , ", ",,", "", " ", "\t,", ",\n"]


def _containers(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    array = st.builds(lambda items, sep, tail, pad: "[" + pad + sep.join(items) + tail + pad
                      + "]", st.lists(inner, max_size=3), st.sampled_from(SEPARATORS),
                      st.sampled_from(["", ",", " ,", ",,"]), st.sampled_from(["", " ", "\t"]))
    table = st.builds(lambda pairs, sep, tail: "{" + sep.join(f"{k} = {v}" for k, v in pairs)
                      + tail + "}", st.lists(st.tuples(st.sampled_from(KEYS), inner),
                                             max_size=3),
                      st.sampled_from(SEPARATORS), st.sampled_from(["", ",", " "]))
    return st.one_of(array, table)


VALUES = st.recursive(st.sampled_from(SCALARS), _containers, max_leaves=10)


HEADERS = ["[a]", "[[a]]", "[a.b]", "[[a.b]]", "[ a ]", "[a . b]", "[a]]", "[[a]", "[]", "[[]]",
           "[a.b.c]", "[[servers]]", "[servers.winrm]", "[servers]", "[ [a] ]", "[a.\"b\"]",
           "[b]", "[b.a]", "\t[a] # c", "[a] x", "[é]", "[a.]", "[.a]"]
COMMENTS = ["", " # c", "# c", " #", " # å", " # \x01", "\t# c", " x"]
LINE_ENDS = ["\n", "\n", "\n", "\r\n", "\r", "\n\n"]


def _line() -> st.SearchStrategy[str]:
    pair = st.builds(lambda indent, key, eq, value, comment: f"{indent}{key}{eq}{value}{comment}",
                     st.sampled_from(["", " ", "\t"]), st.sampled_from(KEYS),
                     st.sampled_from([" = ", "=", " =", "= ", "\t=\t", " == "]), VALUES,
                     st.sampled_from(COMMENTS))
    header = st.builds(lambda h, c: h + c, st.sampled_from(HEADERS), st.sampled_from(COMMENTS))
    other = st.sampled_from(["", " ", "# comment", "  # å", "garbage", "\ufeffa = 1", "a",
                             "\x00", "a = 1 b = 2"])
    return st.one_of(pair, pair, pair, header, other)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_line(), st.sampled_from(LINE_ENDS)), max_size=10))
def test_plain_reader_gives_what_tomllib_gives_or_gives_up(lines: list[tuple[str, str]]) -> None:
    _agrees("".join(line + end for line, end in lines))


GOOD_KEYS = [f"k{n}" for n in range(8)] + ["name", "port", "x-y", "_1", "A"]
GOOD_SCALARS = ['"x"', '""', "''", "'lit'", '"a b"', '"å ä ö"', "'C:\\x'", "0", "1", "-1",
                "+1", "-0", "1.5", "-0.0", "5.0", "123456789012345678", "true", "false",
                "2026-01-01", "2099-12-31", '"127.0.0.1"']


def _random_value(rng: random.Random, depth: int = 0) -> str:
    roll = rng.random()
    if roll < 0.08 or depth > 5:
        return rng.choice(SCALARS)  # anything, most of it wrong
    if roll < 0.75:
        return rng.choice(GOOD_SCALARS)
    items = [_random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    sep = rng.choice([", ", ",", " , "] * 4 + SEPARATORS)
    if roll < 0.88:
        return "[" + sep.join(items) + rng.choice(["", "", ",", " "]) + "]"
    keys = rng.sample(GOOD_KEYS, len(items)) if rng.random() < 0.9 else \
        [rng.choice(KEYS) for _ in items]
    return "{ " + sep.join(f"{k} = {v}" for k, v in zip(keys, items, strict=True)) + \
        rng.choice(["", "", "", ","]) + " }"


def _random_text(rng: random.Random) -> str:
    lines = []
    for _ in range(rng.randrange(1, 14)):
        roll = rng.random()
        if roll < 0.2:
            name = ".".join(rng.choice(["a", "b", "servers", "winrm"])
                            for _ in range(rng.randrange(1, 4)))
            lines.append(rng.choice(["[{}]", "[[{}]]", "[{}]", " [ {} ] # c"]).format(name)
                         if rng.random() < 0.9 else rng.choice(HEADERS))
        elif roll < 0.9:
            key = rng.choice(GOOD_KEYS) if rng.random() < 0.9 else rng.choice(KEYS)
            lines.append(f"{key}{rng.choice([' = ', ' = ', '=', chr(9) + '= '])}"
                         f"{_random_value(rng)}{rng.choice(COMMENTS[:4] * 3 + COMMENTS)}")
        else:
            lines.append(rng.choice(["", "# comment", "  # å", "garbage", "a"]))
    return "".join(line + rng.choice(LINE_ENDS) for line in lines)


def test_plain_reader_on_many_random_profiles() -> None:
    rng = random.Random(13)
    plain = 0
    for _ in range(20_000):
        text = _random_text(rng)
        _agrees(text)
        plain += _plain_toml(text) is not None
    assert plain > 2000  # the fast path was really taken, and agreed, this often


def test_plain_reader_edge_cases() -> None:
    for text in ["", "\n", "a = 1", "a = 1\r\n", "a = 1\rb = 2", "[a]\n[a]", "[a.b]\n[a]",
                 "[a]\nb = 1\n[a.b]", "[[a]]\n[a]", "[a]\n[[a]]", "a = []\n[[a]]",
                 "a = {}\n[a.b]", "[[a]]\nb = 1\n[a.c]\nd = 2\n[[a]]\n[a.c]",
                 "[[a.b]]\n[[a.b]]\n[a]", "a = [1, 'x', 2.5, true, 2026-01-01, [], {}]",
                 "a = { b = { c = { d = { e = 1 } } } }", "a = [[[[[1]]]]]",
                 "a = { b = 1, b = 2 }", "a = { b = 1 }\n[a]", "a = 1 # é\n", "a = 1#c"]:
        _agrees(text)


def test_the_shipped_and_bench_profiles_are_plain() -> None:
    """The fast path is the one taken for real profiles (else the speed-up is gone)."""
    from tests.unit.test_profile_golden import BENCH_SHAPE
    texts = [BENCH_SHAPE] + [p.read_text(encoding="utf-8")
                             for p in sorted((PROFILES / "valid").glob("*.toml"))]
    for text in texts:
        plain = _plain_toml(text)
        assert plain is not None
        assert _same(plain, tomllib.loads(text))
