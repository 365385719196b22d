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


def evidence_bounded(result: Result, limit: int = 20000) -> bool:
    """The result's evidence serialises to at most ``limit`` characters."""
    import json

    return len(json.dumps(result.to_json())) <= limit
