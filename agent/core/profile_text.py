"""Reading a profile's text: TOML syntax errors, and where each key is (file:line).

Every mistake in a profile becomes a :class:`ProfileError` whose text is one line:
``FILE:LINE: KEY: what is wrong — how to fix it``. tomllib keeps no positions, so
:class:`LineIndex` finds the line of a dotted key path in the text.
"""

from __future__ import annotations

import functools
import re
import tomllib
from typing import Any

# A Windows name or path in double quotes: "EXEMPEL\support" fails to parse ("\s" is no
# escape), "C:\Users" fails as a bad \U escape, "C:\new\temp.pem" parses into a line break
# and a tab. Each gets this advice.
BACKSLASH_FIX = ("write Windows names and paths in single quotes ('EXEMPEL\\support', "
                 "'C:\\certs\\x.pem') or double each backslash (\"C:\\\\certs\\\\x.pem\")")
_ESCAPE_ERROR = re.compile(r"Unescaped '\\'|escape|hex value|Unicode scalar", re.I)


class ProfileError(Exception):
    """A profile mistake, already phrased for the user as one line."""

    def __init__(self, file: str, line: int, key: str, problem: str, fix: str = "") -> None:
        self.file, self.line, self.key, self.problem, self.fix = file, line, key, problem, fix
        where = f"{file}:{line}" if line else file
        text = f"{where}: {key}: {problem}" if key else f"{where}: {problem}"
        super().__init__(f"{text} — {fix}" if fix else text)


# --- where keys are -------------------------------------------------------------------

# Linear on any line: no two adjacent parts can match the same characters (a header
# line that never closes once cost cubic time), and an inline key starts a word (a long
# word without "=" was retried from each of its letters: quadratic).
_HEADER = re.compile(r"^[ \t]*(\[\[?)([^\]]+)\]\]?[ \t]*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"'.]+?)\s*=")
_INLINE_KEY = re.compile(r"(?<![A-Za-z0-9_\-])([A-Za-z0-9_\-]+)\s*=")


def _clean_key(part: str) -> str:
    return part.strip().strip("\"'")


class _ArrayScan:
    """Follows one array value across lines, noting the line of each element (and of the
    keys of inline-table elements), so ``contacts[2].email`` points at its own line."""

    def __init__(self, path: str, lines: dict[str, int]) -> None:
        self.path, self.lines = path, lines
        self.depth = 0
        self.index = -1
        self.expecting = False
        self.quote = ""
        self.closed = False

    def feed(self, text: str, number: int) -> None:
        i = 0
        while i < len(text) and not self.closed:
            ch = text[i]
            if self.quote:
                if ch == "\\" and self.quote == '"':
                    i += 1
                elif ch == self.quote:
                    self.quote = ""
            elif ch == "#":
                return
            elif self.depth == 1 and self.expecting and ch not in " \t,]":
                self.index += 1
                self.expecting = False
                element = f"{self.path}[{self.index}]"
                self.lines.setdefault(element, number)
                if ch == "{":
                    for inner in _INLINE_KEY.finditer(text[i:].split("}", 1)[0]):
                        self.lines.setdefault(f"{element}.{inner.group(1)}", number)
                continue  # look at this character again, now as part of the element
            elif ch in "\"'":
                self.quote = ch
            elif ch in "[{":
                self.depth += 1
                if self.depth == 1:
                    self.expecting = True
            elif ch in "]}":
                self.depth -= 1
                if self.depth == 0:
                    self.closed = True
            elif ch == "," and self.depth == 1:
                self.expecting = True
            i += 1


class LineIndex:
    """Maps a dotted key path such as ``servers[1].winrm.port`` to its line in the file.

    tomllib keeps no positions, so this scans the text: table headers, ``[[array]]``
    headers (counted per path) and ``key =`` lines, plus keys inside one-line inline
    tables. Unknown paths fall back to their nearest known parent.

    The scan runs on the first :meth:`line_of`: a profile without mistakes (or waivers)
    never needs a line, and the scan costs as much as validating it.
    """

    def __init__(self, text: str) -> None:
        self.text = text

    @functools.cached_property
    def lines(self) -> dict[str, int]:
        """Dotted key path -> line number, for every key, table and array element."""
        lines: dict[str, int] = {}
        counters: dict[str, int] = {}
        table = ""
        arrays: _ArrayScan | None = None  # a multi-line array still open
        for number, line in enumerate(self.text.splitlines(), start=1):
            if arrays is not None:
                arrays.feed(line, number)
                if arrays.closed:
                    arrays = None
                continue
            header = _HEADER.match(line)
            if header and not line.lstrip().startswith("#"):
                name = ".".join(_clean_key(p) for p in header.group(2).strip().split("."))
                if header.group(1) == "[[":
                    index = counters.get(name, 0)
                    counters[name] = index + 1
                    table = f"{name}[{index}]"
                else:
                    # a sub-table of the latest array entry, e.g. [servers.winrm]
                    parent, _, leaf = name.rpartition(".")
                    table = name
                    if parent in counters:
                        table = f"{parent}[{counters[parent] - 1}].{leaf}"
                lines.setdefault(table, number)
                continue
            key = _KEY.match(line)
            if not key:
                continue
            path = ".".join(_clean_key(p) for p in key.group(1).split("."))
            full = f"{table}.{path}" if table else path
            lines.setdefault(full, number)
            rest = line[key.end():]
            if rest.lstrip().startswith("["):
                array = _ArrayScan(full, lines)
                array.feed(rest, number)
                if not array.closed:
                    arrays = array
                continue
            if "{" in rest:
                for inner in _INLINE_KEY.finditer(rest):
                    lines.setdefault(f"{full}.{inner.group(1)}", number)
        return lines

    def line_of(self, path: str) -> int:
        """The line of ``path`` or of its nearest parent; 1 when nothing matches."""
        probe = path
        while probe:
            if probe in self.lines:
                return self.lines[probe]
            stripped = re.sub(r"\[\d+\]$", "", probe)
            if stripped != probe:
                probe = stripped
                continue
            probe = probe.rpartition(".")[0]
        return 1


_LONG_NUMBER = re.compile(r"[0-9_]{4000,}")

MAX_DOTS_PER_LINE = 64
"""Most dots outside strings on one line. tomllib's time grows with the square of a dotted
key's parts (200,000 parts: hours); a profile's keys have a handful."""

# a string literal, or what is left of one that does not close on its line (never
# backtracks: an unclosed quote simply takes the rest of the line)
_STRING_LITERAL = re.compile(r""""(?:[^"\\\n]|\\.)*"?|'[^'\n]*'?""")


def _check_key_depth(text: str, path: str) -> None:
    if text.count(".") <= MAX_DOTS_PER_LINE:  # no line can have more than the whole text
        return
    for number, line in enumerate(text.splitlines(), 1):
        if line.count(".") > MAX_DOTS_PER_LINE and \
                _STRING_LITERAL.sub("", line).count(".") > MAX_DOTS_PER_LINE:
            raise ProfileError(path, number, "", f"more than {MAX_DOTS_PER_LINE} dots outside "
                               "strings on one line: no profile key or table nests that deep",
                               "write keys and table names with a few dotted parts at most")


def _line_text(text: str, line: int) -> str:
    lines = text.splitlines()
    return lines[line - 1] if 0 < line <= len(lines) else ""


def read_toml(text: str, path: str) -> dict[str, Any]:
    """``text`` parsed as TOML, or one :class:`ProfileError` naming the line and the fix."""
    _check_key_depth(text, path)
    try:
        raw = tomllib.loads(text)
    except RecursionError:
        raise ProfileError(path, 1, "", "the file nests too deeply to be a profile",
                           "write tables and lists at most a few levels deep") from None
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = re.search(r"\(at line (\d+), column (\d+)\)", message)
        line = int(match.group(1)) if match else 1
        what = re.sub(r"\s*\(at line \d+, column \d+\)", "", message)
        if what == "Illegal character '\\n'":  # tomllib's words for an unclosed string
            what = "a string is not closed (missing \")"
        fix = "fix the syntax (strings need quotes, tables [name])"
        if _ESCAPE_ERROR.search(what) and "\\" in _line_text(text, line):
            fix = f"in \"…\" a backslash starts an escape: {BACKSLASH_FIX}"
        if match:
            what += f" at column {match.group(2)}"
        raise ProfileError(path, line, "", f"TOML syntax error: {what}", fix) from None
    except ValueError:  # tomllib's int(): a number of more than 4300 digits
        long_number = _LONG_NUMBER.search(text)
        line = text.count("\n", 0, long_number.start()) + 1 if long_number else 0
        raise ProfileError(path, line, "", "TOML syntax error: a number far too long to "
                           "read", "write a number of a few digits") from None
    return raw
