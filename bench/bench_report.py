"""Report benchmark (issue 3): a 5,000-result run through every renderer; prints numbers.

    python bench/bench_report.py [--results N] [--repeat R]
    python bench/bench_report.py --per-customer [--repeat R] [--customers K]

Goal: the HTML report of 5,000 results renders in under 1 s and stays under 3 MB. The
run is synthetic but shaped like a large estate: every requirement, ~70 % pass, the rest
warn/fail/error/skip, evidence like the real checks write (DNS answers, TLS facts,
timings), remediation on every warn/fail/error. Exit status 1 when a goal is missed.

``--per-customer`` (issue 13) measures what an audit pays per customer for the HTML
report: CPU milliseconds (``time.process_time``) per render, the median of R rounds of K
customers, for two real runs saved by the tests (``tests/reports/golden``): the audit
benchmark's shape (5 servers, ``only = ["remote.ssh", "remote.winrm"]``: 37 results, 32
"not selected") and ``accessready demo`` (57 results). Each render is of a different
customer (its name, and the durations of its checked results, differ), as in an audit, so
nothing one customer's report keeps can stand in for another's unless it prints the same.
Prints numbers, asserts nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from accessready.agent.core.model import (
    Requirement,
    RequirementOutcome,
    Result,
    Run,
    Status,
    Verdict,
    t,
)

GOAL_SECONDS = 1.0
GOAL_BYTES = 3_000_000

CHECKS = {
    Requirement.ADMIN: ["admin.contacts", "admin.agreement"],
    Requirement.WORKSTATION: ["workstation.os", "workstation.clients"],
    Requirement.ACCESS: ["anyconnect.gateway", "teamviewer.network", "winvpn.ikev2"],
    Requirement.ACCOUNT: ["account.login", "account.status"],
    Requirement.REMOTE: ["remote.rdp", "remote.winrm", "remote.ssh"],
    Requirement.ADFS: ["adfs.tls", "adfs.probe", "adfs.clock_skew"],
    Requirement.SERVERS: ["service.running"],
}
STATUSES = [Status.PASS] * 70 + [Status.WARN] * 10 + [Status.FAIL] * 8 + \
           [Status.ERROR] * 4 + [Status.SKIP] * 8


def _evidence(rng: random.Random, i: int) -> dict:
    kind = i % 3
    if kind == 0:
        return {"query": {"name": f"srv{i:04}.exempel.local", "type": "A"},
                "answer": [f"192.0.2.{i % 250}"], "server": "192.0.2.53:53",
                "elapsed_ms": round(rng.uniform(0.3, 40), 1)}
    if kind == 1:
        return {"connect": f"192.0.2.{i % 250}:443", "tls": "TLSv1.3",
                "subject": f"CN=srv{i:04}.exempel.se", "days_left": rng.randint(-5, 400),
                "elapsed_ms": round(rng.uniform(1, 300), 1)}
    return {"sent": "Identify", "status": 200, "vendor": "Microsoft Corporation",
            "elapsed_ms": round(rng.uniform(1, 120), 1)}


def make_run(n: int, seed: int = 3) -> Run:
    """A finished run of ``n`` results."""
    rng = random.Random(seed)
    pairs = [(req, cid) for req, ids in CHECKS.items() for cid in ids]
    fix = {cid: t(f"Fix {cid}: open the port to the supplier, renew what expired, and "
                  "tell the supplier when it is done.",
                  f"Åtgärda {cid}: öppna porten för leverantören, förnya det som gått ut "
                  "och meddela leverantören när det är klart.") for _, cid in pairs}
    results = []
    for i in range(n):
        req, cid = pairs[i % len(pairs)]
        status = rng.choice(STATUSES)
        results.append(Result(
            check_id=cid, target=f"srv{i:04}.exempel.local", status=status,
            summary=t(f"{cid} on srv{i:04}: {status.value}, answered in {i % 97} ms.",
                      f"{cid} på srv{i:04}: {status.value}, svar efter {i % 97} ms."),
            details=_evidence(rng, i),
            remediation=fix[cid] if status in (Status.WARN, Status.FAIL, Status.ERROR)
            else None,
            duration_s=rng.uniform(0.001, 2.0), requirement=req))
    outcomes = tuple(RequirementOutcome(r, Status.FAIL, r is Requirement.ACCOUNT,
                                        t("Problems found.", "Problem hittades."))
                     for r in Requirement)
    catalogue = {cid: {"title": {"en": cid.replace(".", " "), "sv": cid.replace(".", " ")},
                       "description": {"en": "", "sv": ""}} for _, cid in pairs}
    return Run(customer="Bench kommun", profile_path="bench.toml",
               started_at="2026-11-25T02:00:00+01:00", finished_at="2026-11-25T02:03:10+01:00",
               duration_s=190.0, results=tuple(results), verdict=Verdict.NOT_READY,
               requirements=outcomes, host={"hostname": "audit01", "user": "audit",
                                            "platform": "Linux 6.1"},
               lang="sv", tool_version="bench", catalogue=catalogue)


def best_of(fn: Callable[[], bytes], repeat: int) -> tuple[float, bytes]:
    """The fastest of ``repeat`` calls, and the output."""
    best, out = float("inf"), b""
    for _ in range(repeat):
        started = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - started)
    return best, out


SAVED = Path(__file__).resolve().parents[1] / "tests" / "reports" / "golden"


def customers(name: str, first: int, count: int, every: bool) -> list[Run]:
    """``count`` customers' runs shaped like the saved run ``name``: customer ``first``
    onwards, each with its own name and durations (of every result when ``every``, else
    of the checked ones: an audit's "not selected" results all take 0 s)."""
    from accessready.reports.json_report import load

    run = load(gzip.decompress((SAVED / f"{name}-run.json.gz").read_bytes()), name)
    out = []
    for n in range(first, first + count):
        results = tuple(
            dataclasses.replace(r, duration_s=r.duration_s + n / 1000)
            if every or r.status is not Status.SKIP else r for r in run.results)
        out.append(dataclasses.replace(run, customer=f"Kund {n:05d}", results=results))
    return out


def per_customer(repeat: int, count: int) -> None:
    """Print CPU ms per HTML render for the audit's shape and the demo."""
    from accessready.reports import RENDERERS

    html = RENDERERS["html"]
    print(f"HTML report, CPU ms per customer (median of {repeat} rounds of {count} "
          "customers, each rendered once):")
    for name, words, every in (
            ("bench", "audit benchmark's shape, 37 results, 32 not selected", False),
            ("demo", "accessready demo, 57 results, every check's durations differ", True)):
        html(customers(name, 0, 1, every)[0], "sv")  # compile the templates first
        rounds = []
        for r in range(repeat):
            runs = customers(name, 1 + r * count, count, every)
            started = time.process_time()
            for run in runs:
                html(run, "sv")
            rounds.append((time.process_time() - started) / count * 1000)
        print(f"  {name:<6} {statistics.median(rounds):6.2f} ms  "
              f"(min {min(rounds):.2f}, max {max(rounds):.2f}; {words})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--per-customer", action="store_true",
                        help="CPU per HTML render of an audit's customer (issue 13)")
    parser.add_argument("--customers", type=int, default=50)
    args = parser.parse_args(argv)
    if args.per_customer:
        per_customer(max(args.repeat, 1), max(args.customers, 1))
        return 0

    from accessready.reports import RENDERERS

    run = make_run(args.results)
    RENDERERS["html"](run, "sv")  # first call compiles the templates: report it apart
    started = time.perf_counter()
    from accessready.reports.html import _environment

    _environment.cache_clear()
    RENDERERS["html"](run, "sv")
    cold = time.perf_counter() - started
    print(f"{args.results} results, best of {args.repeat}:")
    ok = True
    for fmt in ("html", "json", "junit", "prometheus", "nagios"):
        seconds, data = best_of(lambda fmt=fmt: RENDERERS[fmt](run, "sv"), args.repeat)
        line = f"  {fmt:<10} {seconds * 1000:7.0f} ms  {len(data) / 1e6:6.2f} MB"
        if fmt == "html":
            met = seconds < GOAL_SECONDS and len(data) < GOAL_BYTES
            ok = ok and met
            line += (f"  (goal < {GOAL_SECONDS:.0f} s, < {GOAL_BYTES / 1e6:.0f} MB: "
                     f"{'met' if met else 'MISSED'}; first render incl. template compile "
                     f"{cold * 1000:.0f} ms)")
        print(line)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
