"""The report benchmark's fixture renders completely and stays under 3 MB.

Speed is measured by ``bench/bench_report.py`` (printed numbers), not asserted here.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from accessready.reports.html import render

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_report.py"


def _bench_module():
    spec = importlib.util.spec_from_file_location("bench_report", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_5000_results_render_completely_and_small() -> None:
    bench = _bench_module()
    data = render(bench.make_run(5_000), "sv")
    assert len(data) < bench.GOAL_BYTES, f"{len(data) / 1e6:.2f} MB"
    assert data.count(b'<li class="r"') == 5_000
