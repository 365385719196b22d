"""The hostile corpus of ``bench/bench_hostile.py`` (issue 16 item 3): servers on loopback
that answer a gzip bomb, an endless chunked body or a byte-at-a-time drip to WinRM; a
300 MB known_hosts; a 200 MB CA file; profiles whose lines once cost cubic or quadratic
time; a result whose thousands of check ids reduce to one anchor.

Each case runs the real ``accessready`` in a child process (CPU time capped, so a
regression to super-linear time is killed rather than waited for) and must produce its
named outcome with a peak RSS under 300 MB. Wall times are the bench's to print, not
asserted here.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_hostile.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_hostile", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_hostile"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


bench = _bench()


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return bench.tls_files(tmp_path_factory.mktemp("tls"))


@pytest.mark.parametrize("name", list(bench.CASES))
def test_hostile_input_is_refused_by_name_within_memory(name: str, tls, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    measured, wrong = bench.run_case(bench.CASES[name], tmp_path / name, tls)
    assert wrong == "", (wrong, measured.stderr[-500:])
    assert "Traceback" not in measured.stderr and "internal error" not in measured.stderr
    assert measured.peak_rss_mb < bench.RSS_LIMIT_MB, measured
