"""Per-profile CPU of an audit outside the checks (issue 13): prints numbers; asserts nothing.

    python bench/bench_profile.py [--repeat 400] [--rounds 7]

Times, with ``time.process_time`` (the median of ``--rounds`` rounds of ``--repeat`` calls):

* ``load_profile`` of the scale benchmark's profile shape (5 servers; made by
  ``bench_scale.write_profiles``) and of each profile in ``tests/profiles/valid``, with its
  parts (TOML, line index, validation, building) beside it;
* a finished run of that bench profile: its results sanitised and cleaned as the runner does,
  and its compact JSON (``json_report.render(..., compact=True)``) as an audit writes it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from bench_scale import write_profiles  # noqa: E402

from accessready.agent.core.model import Result, Run, Status, Verdict, t  # noqa: E402
from accessready.agent.core.profile import load_profile  # noqa: E402
from accessready.agent.core.profile_build import build_profile  # noqa: E402
from accessready.agent.core.profile_spec import SPEC  # noqa: E402
from accessready.agent.core.profile_text import LineIndex, read_toml  # noqa: E402
from accessready.agent.core.profile_validate import Validator, cross_check  # noqa: E402
from accessready.agent.plugin.checkapi import Check  # noqa: E402
from accessready.agent.plugin.registry import load_registry  # noqa: E402
from accessready.agent.plugin.results import clean, sanitise  # noqa: E402
from accessready.reports import json_report  # noqa: E402


def per_call_ms(work: Callable[[], object], repeat: int, rounds: int) -> float:
    """Median over ``rounds`` of the CPU milliseconds per call of ``work``."""
    samples = []
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(repeat):
            work()
        samples.append((time.process_time() - start) * 1000 / repeat)
    return statistics.median(samples)


def profile_rows(path: Path, repeat: int, rounds: int) -> list[tuple[str, float]]:
    text = path.read_text(encoding="utf-8")
    raw = read_toml(text, str(path))

    def validate() -> object:
        validator = Validator(str(path), LineIndex(text))
        data = validator.table("", raw, SPEC)
        cross_check(validator, data)
        return data

    data = validate()
    return [
        ("load_profile", per_call_ms(lambda: load_profile(path, allow_expired_waivers=True),
                                     repeat, rounds)),
        ("  read_toml", per_call_ms(lambda: read_toml(text, str(path)), repeat, rounds)),
        ("  LineIndex scan (for a line)", per_call_ms(lambda: LineIndex(text).lines,
                                                       repeat, rounds)),
        ("  validate", per_call_ms(validate, repeat, rounds)),
        ("  build_profile", per_call_ms(lambda: build_profile(str(path), data),
                                        repeat, rounds)),
    ]


CHECKS = {c.id: c for c in load_registry().checks if c.id in ("remote.ssh", "remote.winrm")}


def bench_results() -> list[tuple[Check, Result]]:
    """The ten results a bench profile's run has (5 servers, remote.ssh and remote.winrm),
    with evidence shaped like the real checks'."""
    out = []
    for s in range(5):
        for check in CHECKS.values():
            applies = (check.id == "remote.ssh") == (s < 3)
            status = (Status.FAIL if check.id == "remote.ssh" else Status.PASS) if applies \
                else Status.SKIP
            details = {"address": "127.0.0.1", "port": 2222 if s < 3 else 5986,
                       "elapsed_ms": 3.2 + s, "kind": "closed" if s < 3 else None,
                       "banner": "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3",
                       "tls": {"version": "TLSv1.3", "subject": "CN=127.0.0.1",
                               "days_left": 364, "chain": ["CN=bench CA"]}} if applies else {}
            out.append((check, Result(
                check_id=check.id, target=f"srv{s}", status=status,
                summary=t(f"srv{s}: answered ({status.value})", f"srv{s}: svarade"),
                details=details,
                remediation=t("Open the port for us.", "Öppna porten för oss.")
                if status is Status.FAIL else None,
                duration_s=0.0, requirement=check.requirement, method=check.method)))
    return out


def bench_run(results: list[Result]) -> Run:
    return Run(customer="Kund 00000", profile_path="/tmp/kund00000.toml",
               started_at="2026-12-03T10:00:00+00:00", finished_at="2026-12-03T10:00:05+00:00",
               duration_s=5.0, results=tuple(results), verdict=Verdict.READY_WITH_WARNINGS,
               requirements=(), host={"os": "Linux"}, lang="en",
               catalogue={c.id: {"id": c.id, "title": c.title.to_json()}
                          for c in CHECKS.values()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_profiles(folder, 5, 5.0, folder / "ca.pem", folder / "known_hosts")
        paths = [folder / "kund00000.toml", *sorted((ROOT / "tests/profiles/valid").glob(
            "*.toml"))]
        print(f"CPU ms per call (median of {args.rounds} rounds x {args.repeat}):")
        for path in paths:
            name = "bench profile (5 servers)" if path.parent == folder else path.name
            print(f"{name}:")
            for label, ms in profile_rows(path, args.repeat, args.rounds):
                print(f"  {label:<32} {ms:8.3f}")
    pairs = bench_results()
    cleaned = [clean(sanitise(check, r), 0.01) for check, r in pairs]
    run = bench_run(cleaned)
    print("bench run (10 results):")
    rows = [("sanitise + clean (10 results)",
             lambda: [clean(sanitise(c, r), 0.01) for c, r in pairs]),
            ("json_report.render compact", lambda: json_report.render(run, "en", compact=True)),
            ("json_report.render indented", lambda: json_report.render(run, "en"))]
    for label, work in rows:
        print(f"  {label:<32} {per_call_ms(work, args.repeat, args.rounds):8.3f}")


if __name__ == "__main__":
    main()
