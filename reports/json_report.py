"""The JSON result (``accessready.result/1``): complete enough to re-render any report.

Reading one back (:func:`load`) treats the file as untrusted — ``accessready report`` and
``merge`` read files customers send: the size is capped, nesting is bounded, every field's
type is checked, and the verdict is decided again from the results; any problem is one
:class:`ResultFileError` line naming the field.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import os
from typing import Any, NoReturn

from accessready.agent.core.findings import Finding, findings
from accessready.agent.core.merge import redecide
from accessready.agent.core.model import (
    LANGUAGES,
    OWNERS,
    ExitCode,
    Requirement,
    RequirementOutcome,
    Result,
    Run,
    Status,
    Text,
    Verdict,
    insecure_notes,
)
from accessready.agent.core.safefile import read_capped
from accessready.reports.counts import count_keys, tally

SCHEMA_ID = "accessready.result/1"


class ResultFileError(Exception):
    """A result file that is not an accessready result; the text says what and how to fix."""


def to_dict(run: Run) -> dict[str, Any]:
    """The run as the JSON document's data."""
    found = findings(run)  # once: the counts and the results both need them
    data: dict[str, Any] = {
        "schema": SCHEMA_ID,
        "tool": {"name": "accessready", "version": run.tool_version},
        "customer": run.customer,
        "profile": run.profile_path,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "duration_s": round(run.duration_s, 3),
        "host": run.host,
        "lang": run.lang,
        "interrupted": run.interrupted,
        "verdict": run.verdict.value,
        "exit_code": int(ExitCode.for_verdict(run.verdict)),
        "requirements": [o.to_json() for o in run.requirements],
        "counts": tally(count_keys(run, found)),
        "checks": run.catalogue,
        "results": _results_json(run, found),
        "vantage": run.vantage,
        "self_check": run.self_check,
        # derived from the results (where it is read back from too): see model.INSECURE
        "insecure": insecure_notes(run.results),
    }
    if run.vantage_kind is not None:  # what the label stands for; merged runs have several
        data["vantage_kind"] = run.vantage_kind.value
    if run.basis:
        data["verdict_basis"] = run.basis
    if run.sources:
        data["merged_from"] = list(run.sources)
    return data


def _results_json(run: Run, found: list[Finding]) -> list[dict[str, Any]]:
    """Every result; a finding (of ``found``, the run's) also with who must act, how
    urgent it is, by when."""
    out = [r.to_json() for r in run.results]
    for finding in found:
        out[finding.index]["owner"] = finding.owner
        out[finding.index]["severity"] = finding.severity
    return out


def render(run: Run, lang: str | None = None, *, compact: bool = False) -> bytes:
    """The JSON result file's bytes (UTF-8, stable key order), indented for a person to
    read, or ``compact`` (one line) where thousands are written for machines: an audit's
    per-customer results, where indenting (Python's pure-Python encoder) costs ~5× the
    compact C encoder's CPU. Both parse to the same document.

    ``lang`` only sets the document's preferred language; every text holds both.
    """
    if lang and lang != run.lang:  # an audit passes the language the run has: no copy
        run = dataclasses.replace(run, lang=lang)
    layout: dict[str, Any] = {"separators": (",", ":")} if compact else {"indent": 2}
    text = json.dumps(to_dict(run), ensure_ascii=False, **layout) + "\n"
    # A lone surrogate (from a hostile file) cannot be UTF-8; as a \\uXXXX escape it is
    # still the same JSON string, and only strings can hold one.
    return text.encode("utf-8", "backslashreplace")


def from_dict(data: Any, source: str = "result") -> Run:
    """Rebuild a :class:`Run` from a parsed result document.

    Every field is checked for its type as it is read (``accessready.result/1``), so a
    broken or hostile document raises :class:`ResultFileError` naming the field, never
    some other exception later in a renderer.
    """
    if not isinstance(data, dict) or data.get("schema") != SCHEMA_ID:
        found = data.get("schema") if isinstance(data, dict) else type(data).__name__
        raise ResultFileError(f"{source}: not an accessready result (schema is "
                              f"{str(found)[:80]!r}, expected {SCHEMA_ID!r}) — pass a file "
                              "written by `accessready run --json`")
    if not _nesting_within(data, MAX_DEPTH):
        raise ResultFileError(f"{source}: broken result file: nested deeper than {MAX_DEPTH} "
                              "levels — re-create it with `accessready run --json`")
    read = _Reader(source)
    tool = read.obj(data.get("tool", {}), "tool")
    return Run(
        customer=read.string(read.need(data, "customer"), "customer"),
        profile_path=read.string(data.get("profile", ""), "profile"),
        started_at=read.timestamp(read.need(data, "started_at"), "started_at"),
        finished_at=read.timestamp(read.need(data, "finished_at"), "finished_at"),
        duration_s=read.seconds(data.get("duration_s", 0.0), "duration_s"),
        results=tuple(Result.from_json(read.result(r, f"results[{i}]"))
                      for i, r in enumerate(read.array(read.need(data, "results"),
                                                       "results", MAX_RESULTS))),
        verdict=read.choice(Verdict, read.need(data, "verdict"), "verdict"),
        requirements=tuple(RequirementOutcome.from_json(read.outcome(o, f"requirements[{i}]"))
                           for i, o in enumerate(read.array(read.need(data, "requirements"),
                                                            "requirements"))),
        host=read.strings_map(data.get("host") or {}, "host"),
        interrupted=read.flag(data.get("interrupted", False), "interrupted"),
        lang=read.language(data.get("lang", "en"), "lang"),
        tool_version=read.string(tool.get("version", ""), "tool.version"),
        catalogue={read.string(k, "checks"): read.catalogue_entry(v, f"checks.{k}")
                   for k, v in read.obj(data.get("checks") or {}, "checks").items()},
        # results written before self-checks existed were all the engineer's
        vantage=read.string(data["vantage"], "vantage") if data.get("vantage") not in
        (None, "") else "engineer",
        self_check=read.flag(data.get("self_check", False), "self_check"),
        basis={k: read.strings(v, f"verdict_basis.{k}")
               for k, v in read.obj(data.get("verdict_basis") or {}, "verdict_basis").items()},
        sources=tuple(read.merged_source(s, f"merged_from[{i}]") for i, s in enumerate(
            read.array(data.get("merged_from") or [], "merged_from"))),
    )


def load(data: bytes, source: str = "result") -> Run:
    """Parse a result file's bytes (at most :data:`MAX_RESULT_BYTES`) into a run whose
    verdict is decided again from its own results (:func:`accessready.agent.core.merge.redecide`).

    Result files come from customers (``accessready report`` and ``merge`` read them), so
    everything is checked and every problem is one :class:`ResultFileError` line.
    """
    if len(data) > MAX_RESULT_BYTES:
        raise ResultFileError(f"{source}: {len(data)} bytes is more than any result file "
                              f"({MAX_RESULT_BYTES // (1024 * 1024)} MiB at most) — pass the "
                              ".json file written by `accessready run --json`")
    # Python holds each parsed value in 50+ bytes: 16 MB of "[]," would take gigabytes.
    # Every value but the first follows a comma or opens a container, so this bounds them.
    values = data.count(b",") + data.count(b"[") + data.count(b"{")
    if values > MAX_JSON_VALUES:
        raise ResultFileError(f"{source}: more than {MAX_JSON_VALUES:,} values, more than any "
                              "result file holds — pass the .json file written by "
                              "`accessready run --json`")
    try:
        parsed = json.loads(data.decode("utf-8"), parse_constant=_no_constant,
                            parse_float=_finite_float)
    except UnicodeDecodeError:
        raise ResultFileError(f"{source}: not UTF-8 text — pass the .json file written by "
                              "`accessready run --json`") from None
    except json.JSONDecodeError as exc:
        raise ResultFileError(f"{source}:{exc.lineno}: not valid JSON ({exc.msg}) — pass the "
                              ".json file written by `accessready run --json`") from None
    except RecursionError:
        raise ResultFileError(f"{source}: broken result file: nested too deeply to read — "
                              "re-create it with `accessready run --json`") from None
    except ValueError as exc:  # NaN/Infinity, a 1e999 float, an integer of 5,000 digits
        raise ResultFileError(f"{source}: not valid JSON ({str(exc)[:120]}) — pass the .json "
                              "file written by `accessready run --json`") from None
    return redecide(from_dict(parsed, source))


def load_file(path: str | os.PathLike[str]) -> Run:
    """:func:`load` the result file at ``path``, reading no more than the cap allows."""
    try:
        data = read_capped(path, MAX_RESULT_BYTES)
    except OSError as exc:
        raise ResultFileError(f"{path}: cannot read: {exc.strerror or exc} — check the "
                              "path") from None
    return load(data, str(path))


# -- reading untrusted documents ------------------------------------------------------

MAX_RESULT_BYTES = 16 * 1024 * 1024
"""Largest result file read. A run of 5,000 results with rich evidence is 3–10 MB; more is
not a result, and reading it must stay well under 300 MB of memory."""

MAX_JSON_VALUES = 500_000
"""Most JSON values (an upper bound: commas and opening brackets) in a result file; a
5,000-result run has about 100,000."""

MAX_RESULTS = 10_000
"""Most results in one result file (a large estate's run has a few thousand)."""

MAX_SECONDS = 1e9
"""Longest duration accepted (about 30 years): more is not a run, and a 400-digit number
must not reach the renderers' float arithmetic."""

EARLIEST_YEAR, LATEST_YEAR = 1970, 9998
"""Years a result's times may fall in (UTC), far enough from datetime's limits that
converting zones and adding days stays in range."""

MAX_DEPTH = 64
"""Deepest nesting accepted anywhere in a result (evidence nests a handful of levels)."""


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is out of range")
    return value


def _nesting_within(value: Any, limit: int) -> bool:
    """True when no object or list in ``value`` is nested deeper than ``limit`` (iterative:
    a hostile depth must not exhaust the stack here either)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else \
            item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return False
        stack.extend((child, depth + 1) for child in children)
    return True


_JSON_KINDS = {dict: "an object", list: "a list", str: "a string", bool: "true/false",
               int: "a number", float: "a number", type(None): "null"}


class _Reader:
    """Type checks for one document; each failure is one ResultFileError naming the field."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, expected: str, value: Any) -> NoReturn:
        found = _JSON_KINDS.get(type(value), type(value).__name__)
        shown = f" {value!r}"[:60] if isinstance(value, str | int | float) else ""
        raise ResultFileError(f"{self.source}: broken result file: {where} should be "
                              f"{expected}, not {found}{shown} — re-create it with "
                              "`accessready run --json`")

    def need(self, data: dict[str, Any], key: str) -> Any:
        if key not in data:
            raise ResultFileError(f"{self.source}: broken result file: missing key "
                                  f"{key!r} — re-create it with `accessready run --json`")
        return data[key]

    def obj(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(where, "an object", value)
        return value

    def array(self, value: Any, where: str, most: int | None = None) -> list[Any]:
        if not isinstance(value, list):
            self.fail(where, "a list", value)
        if most is not None and len(value) > most:
            self.fail(where, f"a list of at most {most:,} (more than any run has)", value)
        return value

    def string(self, value: Any, where: str) -> str:
        if not isinstance(value, str):
            self.fail(where, "a string", value)
        return value

    def optional_string(self, value: Any, where: str) -> str | None:
        return None if value is None else self.string(value, where)

    def strings(self, value: Any, where: str) -> list[str]:
        return [self.string(v, f"{where}[{i}]")
                for i, v in enumerate(self.array(value, where))]

    def strings_map(self, value: Any, where: str) -> dict[str, str]:
        return {k: self.string(v, f"{where}.{k}") for k, v in self.obj(value, where).items()}

    def flag(self, value: Any, where: str) -> bool:
        if not isinstance(value, bool):
            self.fail(where, "true or false", value)
        return value

    def seconds(self, value: Any, where: str) -> float:
        # a 400-digit integer overflows float(); 1e400 is parsed as infinity
        if isinstance(value, bool) or not isinstance(value, int | float) or not (
                0 <= value <= MAX_SECONDS):
            self.fail(where, f"a number of seconds from 0 to {MAX_SECONDS:.0e}", value)
        return float(value)

    def timestamp(self, value: Any, where: str) -> str:
        text = self.string(value, where)
        try:
            stamp = dt.datetime.fromisoformat(text)
            # renderers convert to UTC and step by days: year 1 with an offset overflows
            utc = stamp.astimezone(dt.UTC) if stamp.tzinfo else stamp
            if not EARLIEST_YEAR <= utc.year <= LATEST_YEAR:
                raise ValueError
        except (ValueError, OverflowError):
            self.fail(where, f"an ISO 8601 time from {EARLIEST_YEAR} to {LATEST_YEAR} such as "
                      "2025-01-31T08:00:00+00:00", value)
        return text

    def choice(self, enum_cls: Any, value: Any, where: str) -> Any:
        try:
            return enum_cls(self.string(value, where))
        except ValueError:
            self.fail(where, "one of " + ", ".join(m.value for m in enum_cls), value)

    def language(self, value: Any, where: str) -> str:
        if value not in LANGUAGES:
            self.fail(where, "one of " + ", ".join(LANGUAGES), value)
        return value

    def text(self, value: Any, where: str) -> dict[str, str] | str:
        """A text in both languages (or one string for both, as older files have)."""
        if isinstance(value, str):
            return value
        entry = self.obj(value, where)
        english = self.string(entry.get("en", ""), f"{where}.en")
        return {"en": english, "sv": self.string(entry.get("sv", english), f"{where}.sv")}

    def result(self, value: Any, where: str) -> dict[str, Any]:
        item = self.obj(value, where)
        remediation = item.get("remediation")
        return {
            "check": self.string(self.need(item, "check"), f"{where}.check"),
            "requirement": self.choice(Requirement, self.need(item, "requirement"),
                                       f"{where}.requirement").value,
            "method": self.optional_string(item.get("method"), f"{where}.method"),
            "target": self.string(self.need(item, "target"), f"{where}.target"),
            "status": self.choice(Status, self.need(item, "status"), f"{where}.status").value,
            "summary": self.text(self.need(item, "summary"), f"{where}.summary"),
            "details": self.obj(item.get("details") or {}, f"{where}.details"),
            "remediation": None if remediation is None else
            self.text(remediation, f"{where}.remediation"),
            "duration_s": self.seconds(item.get("duration_s", 0.0), f"{where}.duration_s"),
            "vantage": self.optional_string(item.get("vantage"), f"{where}.vantage"),
            # findings only (absent in results written before owners existed); severity is
            # not read back: the reports work it out again from the run
            "owner": None if item.get("owner") is None else
            self.one_of(OWNERS, item["owner"], f"{where}.owner"),
            "due": None if item.get("due") is None else
            self.day(item["due"], f"{where}.due"),
            "waiver": None if item.get("waiver") is None else
            self.waiver(item["waiver"], f"{where}.waiver"),
        }

    def one_of(self, allowed: tuple[str, ...], value: Any, where: str) -> str:
        if value not in allowed:
            self.fail(where, "one of " + ", ".join(allowed), value)
        return str(value)

    def day(self, value: Any, where: str) -> str:
        text = self.string(value, where)
        try:
            dt.date.fromisoformat(text)
        except ValueError:
            self.fail(where, "a date such as 2026-06-30", value)
        return text

    def waiver(self, value: Any, where: str) -> dict[str, Any]:
        item = self.obj(value, where)
        return {"reason": self.string(self.need(item, "reason"), f"{where}.reason"),
                "until": self.day(self.need(item, "until"), f"{where}.until"),
                "expired": self.flag(item.get("expired", False), f"{where}.expired")}

    def outcome(self, value: Any, where: str) -> dict[str, Any]:
        item = self.obj(value, where)
        return {
            "requirement": self.choice(Requirement, self.need(item, "requirement"),
                                       f"{where}.requirement").value,
            "status": self.choice(Status, self.need(item, "status"), f"{where}.status").value,
            "blocking": self.flag(self.need(item, "blocking"), f"{where}.blocking"),
            "reason": self.text(self.need(item, "reason"), f"{where}.reason"),
            "undecided": self.flag(item.get("undecided", False), f"{where}.undecided"),
            "decides": (self.text(item["decides"], f"{where}.decides")
                        if item.get("decides") is not None else None),
        }

    def catalogue_entry(self, value: Any, where: str) -> dict[str, Any]:
        """A check's catalogue entry; only the keys renderers read are kept."""
        item = self.obj(value, where)
        entry: dict[str, Any] = {}
        if "id" in item:
            entry["id"] = self.string(item["id"], f"{where}.id")
        for key in ("title", "description"):
            if item.get(key) is not None:
                entry[key] = Text.from_json(self.text(item[key], f"{where}.{key}")).to_json()
        if "requirement" in item:  # not read back: any string is left as written
            entry["requirement"] = self.string(item["requirement"], f"{where}.requirement")
        if "method" in item:
            entry["method"] = self.optional_string(item["method"], f"{where}.method")
        if "needs" in item:
            entry["needs"] = self.strings(item["needs"], f"{where}.needs")
        if "vantages" in item:
            entry["vantages"] = self.strings(item["vantages"], f"{where}.vantages")
        if "owner" in item:
            entry["owner"] = self.one_of(OWNERS, item["owner"], f"{where}.owner")
        return entry

    def merged_source(self, value: Any, where: str) -> dict[str, Any]:
        """One ``merged_from`` entry; only the documented keys are kept."""
        item = self.obj(value, where)
        out: dict[str, Any] = {}
        for key in ("vantage", "file"):
            if key in item:
                out[key] = self.string(item[key], f"{where}.{key}")
        for key in ("started_at", "finished_at"):
            if key in item:
                out[key] = self.timestamp(item[key], f"{where}.{key}")
        for key in ("self_check", "interrupted"):
            if key in item:
                out[key] = self.flag(item[key], f"{where}.{key}")
        if "verdict" in item:
            out["verdict"] = self.choice(Verdict, item["verdict"], f"{where}.verdict").value
        if "host" in item:
            out["host"] = self.strings_map(item["host"], f"{where}.host")
        return out
