"""HTML rendering stays linear in the number of results (issue 16 item 3): thousands of
check ids that reduce to one anchor once cost quadratic time (20,000 → 47 s)."""

from __future__ import annotations

import re

from accessready.agent.core.model import Requirement, Result, Run, Status, Verdict, t
from accessready.reports.html import _Anchors, render


class _CountingSet(set[str]):
    """A set that counts membership tests: the work the anchor maker does."""

    lookups = 0

    def __contains__(self, item: object) -> bool:
        _CountingSet.lookups += 1
        return super().__contains__(item)


def test_anchors_that_slug_alike_cost_linear_lookups() -> None:
    anchors = _Anchors()
    anchors._unique._used = _CountingSet()
    _CountingSet.lookups = 0
    count = 5_000
    # half of them plain repeats, half spelled so they collide with the numbered forms
    made = [anchors.make("check", "x." + "a" * 60 + str(i)) for i in range(count)]
    made += [anchors.make("check", f"x-{'a' * 46}-{i}") for i in range(2, count)]
    assert len(set(made)) == len(made)
    # quadratic was count²/2 = 12.5 million lookups; linear is a few per anchor
    assert _CountingSet.lookups <= 3 * len(made), _CountingSet.lookups


def test_a_run_of_ids_with_one_anchor_renders_every_result_with_unique_ids() -> None:
    results = tuple(
        Result(check_id="sample." + "z" * 60 + f"{i}", target=f"host{i}", status=Status.WARN,
               summary=t(f"warned {i}", f"varnade {i}"), details={},
               requirement=Requirement.SERVERS) for i in range(2_000))
    run = Run(customer="Kund", profile_path="p.toml", started_at="2026-05-01T02:00:00+00:00",
              finished_at="2026-05-01T02:00:01+00:00", duration_s=1.0, results=results,
              verdict=Verdict.READY_WITH_WARNINGS, requirements=(), host={},
              tool_version="test")
    html = render(run, "en").decode()
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids))
    assert sum(1 for i in ids if i.startswith("check-sample-zzz")) == 2_000
