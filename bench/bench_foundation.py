"""Foundation benchmarks (issue 2): prints numbers; asserts nothing.

    python bench/bench_foundation.py

1. cold start of ``accessready --help`` against ``python -c "import click"`` (goal ≤ 2×);
2. runner overhead for 1,000 trivial checks (goal < 0.5 s);
3. 200 checks that block until their 2 s deadline, concurrency 50 (goal: waves, i.e.
   < 4 × 2 s + 0.5 s, not the 400 s sum).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import threading
import time

from bytecode import compile_package  # the same folder

from accessready.agent.core.model import Requirement, Status, t
from accessready.agent.core.profile import parse_profile
from accessready.agent.plugin.checkapi import Check, Target
from accessready.agent.plugin.runner import ContextFactory, RunOptions, execute, plan

PROFILE = parse_profile('[customer]\nname = "Bench"\n[access]\nmethods = ["teamviewer"]\n')


def _median_seconds(argv: list[str], runs: int = 15) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, timeout=60)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bench_cold_start() -> None:
    print(compile_package())
    baseline = _median_seconds([sys.executable, "-c", "import click"])
    ours = _median_seconds([sys.executable, "-m", "accessready", "--help"])
    print(f"cold start: accessready --help {ours * 1000:.0f} ms, import click "
          f"{baseline * 1000:.0f} ms, ratio {ours / baseline:.2f}x (goal <= 2x)")
    heavy = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "accessready", "--help"],
        capture_output=True, text=True, check=True).stderr
    loaded = [m for m in ("paramiko", "winrm", "cryptography", "jinja2", "dns", "psutil")
              if f" {m}\n" in heavy or f" {m}." in heavy]
    print(f"cold start: heavy modules imported by --help: {loaded or 'none'}")


class Trivial(Check):
    id = "bench.trivial"
    title = t("Trivial", "Trivial")
    requirement = Requirement.ADMIN

    def __init__(self, n: int = 1000) -> None:
        self.n = n

    def targets(self, profile):  # type: ignore[no-untyped-def]
        return [Target(f"t{i}") for i in range(self.n)]

    def run(self, ctx, target):  # type: ignore[no-untyped-def]
        return self.result(target, Status.PASS, t("ok", "ok"))


class Blocking(Trivial):
    id = "bench.blocking"
    gate = threading.Event()

    def run(self, ctx, target):  # type: ignore[no-untyped-def]
        self.gate.wait(ctx.remaining() + 1)  # holds its slot past the deadline
        return self.result(target, Status.PASS, t("late", "sent"))


def _timed_run(check: Check, options: RunOptions) -> tuple[float, int]:
    started = time.perf_counter()
    results = execute(plan([check], PROFILE, options), ContextFactory(PROFILE), options)
    return time.perf_counter() - started, len(results)


def bench_runner_overhead() -> None:
    samples = [_timed_run(Trivial(1000), RunOptions(timeout=5, concurrency=32))[0]
               for _ in range(5)]
    print(f"runner: 1,000 trivial checks, median {statistics.median(samples) * 1000:.0f} ms "
          f"(min {min(samples) * 1000:.0f} ms; goal < 500 ms)")


def bench_deadline_waves() -> None:
    try:
        wall, count = _timed_run(Blocking(200), RunOptions(timeout=2.0, concurrency=50))
    finally:
        Blocking.gate.set()
    print(f"runner: 200 checks blocking to their 2 s deadline at concurrency 50: "
          f"{wall:.2f} s for {count} results (goal < 8.5 s; the sum would be 400 s)")


if __name__ == "__main__":
    bench_cold_start()
    bench_runner_overhead()
    bench_deadline_waves()
