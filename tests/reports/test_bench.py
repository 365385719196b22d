"""The report benchmark's goals as a test: 5,000 results render in under 1 s, under 3 MB."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

from accessready.reports.html import render

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_report.py"


def _bench_module():
    spec = importlib.util.spec_from_file_location("bench_report", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_5000_results_render_fast_and_small() -> None:
    bench = _bench_module()
    run = bench.make_run(5_000)
    render(run, "sv")  # compile the templates first
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        data = render(run, "sv")
        best = min(best, time.perf_counter() - started)
    assert len(data) < bench.GOAL_BYTES, f"{len(data) / 1e6:.2f} MB"
    assert best < bench.GOAL_SECONDS, f"{best:.2f} s"
    assert data.count(b'<li class="r"') == 5_000
