"""Counting a run's results the way every output shows them.

One rule for every report (terminal, HTML, JSON, Nagios, Prometheus, the audit): a result
an unexpired waiver accepts counts as ``waived``, not under its raw status — the verdict
already treats it as passed, so counting it as ``fail`` beside a "Ready" would contradict
it. JUnit is the exception on purpose: a waived test is ``skipped`` with the reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from accessready.agent.core.findings import Finding, findings, overruled, waived
from accessready.agent.core.model import Run, Status

WAIVED = "waived"
COUNT_KEYS = (*(s.value for s in Status), WAIVED)
"""Every bucket a count has: the statuses (``pass``, ``skip``, ``warn``, ``error``,
``fail``) and ``waived``."""


def count_keys(run: Run, found: Iterable[Finding] | None = None) -> list[str]:
    """The bucket of each of ``run``'s results: ``waived`` for a finding a waiver lifts,
    else its status. A waived failure that still blocks support (a waiver never lifts a
    gating rule) counts as the failure it is. ``found``: ``findings(run)``, when the
    caller has it already."""
    lifts_nothing = overruled(findings(run) if found is None else found)
    return [WAIVED if waived(r) and i not in lifts_nothing else r.status.value
            for i, r in enumerate(run.results)]


def status_counts(run: Run | None) -> dict[str, int]:
    """How many of ``run``'s results fall in each bucket of :data:`COUNT_KEYS` (zeros
    included; all zero without a run)."""
    return tally(count_keys(run) if run is not None else ())


def tally(keys: Iterable[str]) -> dict[str, int]:
    """How many of ``keys`` (from :func:`count_keys`) fall in each bucket, zeros included."""
    counter = Counter(keys)
    return {key: counter.get(key, 0) for key in COUNT_KEYS}


def waived_count(run: Run | None) -> int:
    """How many of ``run``'s findings a waiver lifts (keeps out of the verdict)."""
    return status_counts(run)[WAIVED]
