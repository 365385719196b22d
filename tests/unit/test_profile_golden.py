"""Loading profiles gives exactly what it gave before it was made faster (issue 13).

Every profile of ``tests/profiles`` and one of the scale benchmark's shape, each also
mutated thousands of ways (a line deleted or doubled, a key misspelt, a value replaced by a
wrong one, an unknown key added, a table renamed), is parsed; the outcome of each — the
error's full one line, or the typed profile's ``repr`` with its waivers' messages — must
equal the golden file ``tests/profiles/outcomes.golden.json``.

The golden file was written by the code as it was at commit 7767a32, before the speed-up
(``python tests/unit/test_profile_golden.py --write`` with that tree's ``agent`` folder on
the import path): it is not the new code's opinion of itself. Outcomes are stored as
digests (the full texts would be a megabyte); a failing case prints its own text and its
case name (which source, which mutation) so it can be rebuilt by hand.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

PROFILES = Path(__file__).resolve().parent.parent / "profiles"
GOLDEN = PROFILES / "outcomes.golden.json"
TODAY = dt.date(2026, 6, 1)  # fixed, so "ran out" messages do not change with the date
HOME = "/home/golden"  # default_known_hosts and "~" expand under it
KNOWN_CHECKS = {"winvpn.pptp", "admin.contacts", "remote.ssh", "remote.winrm"}

# the scale benchmark's profile (bench/bench_scale.py write_profiles): 3 SSH, 2 WinRM servers
_SSH = ('[[servers]]\nname = "srv{n}"\naddress = "127.0.0.1"\nroles = ["sync"]\n'
        'remote = ["ssh"]\nssh = {{ port = 2222 }}\nknown_hosts = "/tmp/bench/known_hosts"\n')
_WINRM = ('[[servers]]\nname = "srv{n}"\naddress = "198.51.100.{n}"\nroles = ["adfs"]\n'
          'remote = ["winrm"]\nwinrm = {{ transport = "ntlm", https = true, port = 5986, '
          'ca_file = "/tmp/bench/ca.pem" }}\n')
BENCH_SHAPE = ('[customer]\nname = "Kund 00000"\nagreement = "SA-0"\n'
               "agreement_valid_until = 2099-12-31\ndpa_signed = 2025-01-01\n"
               '[access]\nmethods = ["teamviewer"]\n[checks]\ntimeout = 5.0\n'
               'only = ["remote.ssh", "remote.winrm"]\n'
               + "\n".join((_SSH if n < 3 else _WINRM).format(n=n) for n in range(5)))

# wrong (and a few right) values put in place of every value in turn
VALUES = ('"x"', "0", "-1", "true", "[]", "{}", "2026-01-01", '"rel/./a//b.pem"', '"~/k"',
          '{ env = "Sommar2026x" }', '"127.0.0.1"', '"a\\tb"', '["a", 1]', "1e400")
_KEY_LINE = re.compile(r"^(\s*)([A-Za-z0-9_.\"'-]+)(\s*=\s*)(.*)$")
_HEADER_LINE = re.compile(r"^(\s*\[\[?)([^\]]+)(\]\]?.*)$")


def _sources() -> Iterator[tuple[str, str, bool]]:
    """(name, text, mutate fully?) for every source profile."""
    yield "bench", BENCH_SHAPE, True
    for path in sorted((PROFILES / "valid").glob("*.toml")):
        yield f"valid/{path.name}", path.read_text(encoding="utf-8"), True
    for path in sorted((PROFILES / "broken").glob("*.toml")):
        yield f"broken/{path.name}", path.read_bytes().decode("utf-8", "replace"), False


def _swap(lines: list[str], i: int, *new: str) -> str:
    """The text with line ``i`` replaced by the lines ``new`` (none: deleted)."""
    return "\n".join([*lines[:i], *new, *lines[i + 1:]])


def _mutations(text: str, full: bool) -> Iterator[tuple[str, str]]:
    lines = text.split("\n")
    yield "as is", text
    for i, line in enumerate(lines):
        yield f"line {i + 1} deleted", _swap(lines, i)
        yield f"line {i + 1} doubled", _swap(lines, i, line, line)
        if not full:
            continue
        yield f"bogus key after line {i + 1}", _swap(lines, i, line, "bogus = 1")
        key = _KEY_LINE.match(line)
        header = _HEADER_LINE.match(line)
        if key:
            indent, name, eq, value = key.groups()
            yield f"line {i + 1} key misspelt", _swap(lines, i, f"{indent}{name}x{eq}{value}")
            for n, wrong in enumerate(VALUES):
                yield f"line {i + 1} value {n}", _swap(lines, i, f"{indent}{name}{eq}{wrong}")
        elif header:
            opening, name, closing = header.groups()
            yield f"line {i + 1} table misspelt", _swap(lines, i, f"{opening}{name}x{closing}")


def _outcome(text: str, path: str) -> str:
    from accessready.agent.core.profile import (
        ProfileError,
        check_waivers,
        expired_waivers,
        parse_profile,
    )
    try:
        profile = parse_profile(text, path, allow_expired_waivers=True)
    except ProfileError as exc:
        return f"error: {exc}"
    parts = [repr(profile), repr(profile.raw)]
    parts += [str(e) for e in expired_waivers(profile, TODAY)]
    try:
        check_waivers(profile, KNOWN_CHECKS)
    except ProfileError as exc:
        parts.append(str(exc))
    return "\n".join(parts)


def outcomes() -> Iterator[tuple[str, str, str]]:
    """(source, mutation, outcome text) for every case, in a fixed order."""
    for name, text, full in _sources():
        path = f"/golden/{name}"
        for mutation, mutated in _mutations(text, full):
            yield name, mutation, _outcome(mutated, path)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def _digests() -> dict[str, list[str]]:
    """Per source, the digests of its cases' outcomes in order."""
    out: dict[str, list[str]] = {}
    for source, _, outcome in outcomes():
        out.setdefault(source, []).append(_digest(outcome))
    return out


def test_every_case_gives_what_the_code_before_the_speed_up_gave(monkeypatch) -> None:
    monkeypatch.setenv("HOME", HOME)
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    position: dict[str, int] = {}
    for source, mutation, outcome in outcomes():
        n = position[source] = position.get(source, -1) + 1
        expected = golden.get(source, [])
        assert n < len(expected), f"{source}: more cases than the golden file has"
        assert _digest(outcome) == expected[n], f"{source}, {mutation}:\n{outcome}"
    assert position == {source: len(d) - 1 for source, d in golden.items()}, \
        "the sources or their numbers of cases differ from the golden file's"
    assert sum(position.values()) > 3000


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    os.environ["HOME"] = HOME
    GOLDEN.write_text(json.dumps(_digests(), indent=0) + "\n", encoding="utf-8")
