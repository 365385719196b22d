"""Counting a run's results the way every output shows them.

One rule for every report (terminal, HTML, JSON, Nagios, Prometheus, the audit): a result
an unexpired waiver accepts counts as ``waived``, not under its raw status — the verdict
already treats it as passed, so counting it as ``fail`` beside a "Ready" would contradict
it. JUnit is the exception on purpose: a waived test is ``skipped`` with the reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from accessready.agent.findings import waived
from accessready.agent.model import Result, Status

WAIVED = "waived"
COUNT_KEYS = (*(s.value for s in Status), WAIVED)
"""Every bucket a count has: the statuses (``pass``, ``skip``, ``warn``, ``error``,
``fail``) and ``waived``."""


def count_key(result: Result) -> str:
    """The bucket ``result`` counts in: ``waived`` for a waived finding, else its status."""
    return WAIVED if waived(result) else result.status.value


def status_counts(results: Iterable[Result]) -> dict[str, int]:
    """How many results fall in each bucket of :data:`COUNT_KEYS` (zeros included)."""
    counter = Counter(count_key(r) for r in results)
    return {key: counter.get(key, 0) for key in COUNT_KEYS}


def waived_count(results: Iterable[Result]) -> int:
    """How many of ``results`` an unexpired waiver keeps out of the verdict."""
    return sum(1 for r in results if waived(r))
