"""The JSON result (``accessready.result/1``): complete enough to re-render any report."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from typing import Any

from accessready.agent.model import (
    ExitCode,
    RequirementOutcome,
    Result,
    Run,
    Status,
    Verdict,
)

SCHEMA_ID = "accessready.result/1"


class ResultFileError(Exception):
    """A result file that is not an accessready result; the text says what and how to fix."""


def to_dict(run: Run) -> dict[str, Any]:
    """The run as the JSON document's data."""
    counts = Counter(r.status.value for r in run.results)
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
        "counts": {s.value: counts.get(s.value, 0) for s in Status},
        "checks": run.catalogue,
        "results": [r.to_json() for r in run.results],
        "vantage": run.vantage,
        "self_check": run.self_check,
    }
    if run.basis:
        data["verdict_basis"] = run.basis
    if run.sources:
        data["merged_from"] = list(run.sources)
    return data


def render(run: Run, lang: str | None = None) -> bytes:
    """The JSON result file's bytes (UTF-8, indented, stable key order).

    ``lang`` only sets the document's preferred language; every text holds both.
    """
    if lang:
        run = dataclasses.replace(run, lang=lang)
    return (json.dumps(to_dict(run), indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def from_dict(data: Any, source: str = "result") -> Run:
    """Rebuild a :class:`Run` from a parsed result document."""
    if not isinstance(data, dict) or data.get("schema") != SCHEMA_ID:
        found = data.get("schema") if isinstance(data, dict) else type(data).__name__
        raise ResultFileError(f"{source}: not an accessready result (schema is {found!r}, "
                              f"expected {SCHEMA_ID!r}) — pass a file written by "
                              "`accessready run --json`")
    try:
        return Run(
            customer=str(data["customer"]),
            profile_path=str(data.get("profile", "")),
            started_at=str(data["started_at"]),
            finished_at=str(data["finished_at"]),
            duration_s=float(data.get("duration_s", 0.0)),
            results=tuple(Result.from_json(r) for r in data["results"]),
            verdict=Verdict(data["verdict"]),
            requirements=tuple(RequirementOutcome.from_json(o) for o in data["requirements"]),
            host=dict(data.get("host") or {}),
            interrupted=bool(data.get("interrupted", False)),
            lang=str(data.get("lang", "en")),
            tool_version=str((data.get("tool") or {}).get("version", "")),
            catalogue=dict(data.get("checks") or {}),
            # results written before self-checks existed were all the engineer's
            vantage=str(data.get("vantage") or "engineer"),
            self_check=bool(data.get("self_check", False)),
            basis={str(k): [str(x) for x in v]
                   for k, v in (data.get("verdict_basis") or {}).items()},
            sources=tuple(dict(s) for s in data.get("merged_from") or ()),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        what = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ResultFileError(f"{source}: broken result file: {what} — re-create it with "
                              "`accessready run --json`") from None


def load(data: bytes, source: str = "result") -> Run:
    """Parse a result file's bytes."""
    try:
        parsed = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ResultFileError(f"{source}: not UTF-8 text — pass the .json file written by "
                              "`accessready run --json`") from None
    except json.JSONDecodeError as exc:
        raise ResultFileError(f"{source}:{exc.lineno}: not valid JSON ({exc.msg}) — pass the "
                              ".json file written by `accessready run --json`") from None
    return from_dict(parsed, source)
