"""Lab benchmark: how long the namespace lab of tests/lab takes to start; prints numbers.

    sudo python bench/bench_lab.py [--repeat 3] [--hosts client,inet,ssh]

Goal: the whole lab — every namespace, veth and daemon, each answering — up in under 30 s,
so a test session's ``lab`` fixture costs little. Also prints how long teardown took.
Needs root and the Debian daemons (``.ci/run`` installs them). Exit status 1 when the goal
is missed, 2 when the lab cannot run here. (The lab tests only check that it starts and
works; speed is measured here, not asserted there.)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

# The lab lives in the test tree, not in the package: import it from the checkout.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.lab import Lab
from tests.lab.fixtures import lab_problems

GOAL_SECONDS = 30.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="start and stop N times")
    parser.add_argument("--hosts", default=None,
                        help="comma-separated subset of the lab's hosts (default: all)")
    args = parser.parse_args(argv)
    problems = lab_problems()
    if problems:
        print(f"bench_lab: the lab cannot run here: needs {'; '.join(problems)}",
              file=sys.stderr)
        return 2
    hosts = args.hosts.split(",") if args.hosts else None
    starts, stops = [], []
    for i in range(max(1, args.repeat)):
        lab = Lab(hosts)
        lab.start()
        started = lab.start_seconds or 0.0
        before = time.monotonic()
        lab.stop()
        stopped = time.monotonic() - before
        starts.append(started)
        stops.append(stopped)
        print(f"run {i + 1}: {len(lab.daemons)} daemons in {len(lab.topology.namespaces)} "
              f"namespaces; start {started:.2f} s, stop {stopped:.2f} s")
    worst = max(starts)
    met = worst < GOAL_SECONDS
    print(f"lab start: median {statistics.median(starts):.2f} s, worst {worst:.2f} s "
          f"(goal < {GOAL_SECONDS:.0f} s: {'met' if met else 'MISSED'}); stop: median "
          f"{statistics.median(stops):.2f} s")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
