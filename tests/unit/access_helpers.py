"""Running access-method checks against loopback peers, for the access families' tests."""

from __future__ import annotations

import time
from typing import Any

from accessready.agent.app.run import run_checks
from accessready.agent.core.model import Result
from accessready.agent.core.profile import parse_profile
from accessready.agent.io.dns import Resolvers
from accessready.agent.plugin.runner import RunOptions

CUSTOMER = '[customer]\nname = "Testkund"\n'


def run_access(toml: str, checks: list, *, timeout: float = 3.0,
               services: dict[str, Any] | None = None,
               **run: Any) -> tuple[dict[str, Result], float]:
    """Run ``checks`` (classes) over the profile ``CUSTOMER + toml``; ``run`` goes to
    :func:`run_checks` (``self_check=True``, ``vantage="audit"``).

    Returns the results by check id (the last target wins) and the wall time taken.
    """
    profile = parse_profile(CUSTOMER + toml)
    shared = {"dns": Resolvers(profile.network), **(services or {})}
    started = time.monotonic()
    finished = run_checks(profile, RunOptions(timeout=timeout), checks=[c() for c in checks],
                          services=shared, **run)
    return {r.check_id: r for r in finished.results}, time.monotonic() - started


def ended_by_their_deadline(results: dict[str, Result], took: float, deadline: float) -> None:
    """Each result is the check's own, not the runner's stand-in for one still running
    (``reason: deadline``, delivered at ``deadline`` + ``overdue_patience``), and the run
    took about the deadline. The hostile peers hold on far longer; the 2.5 s is slack for a
    busy machine."""
    stood_in = [r.check_id for r in results.values() if r.details.get("reason") == "deadline"]
    assert not stood_in, f"the runner stood in for {stood_in}"
    assert took < deadline + 2.5, f"took {took:.1f} s"


def evidence_bounded(result: Result, limit: int = 20000) -> bool:
    """The result's evidence serialises to at most ``limit`` characters."""
    import json

    return len(json.dumps(result.to_json())) <= limit
