"""What the ``remote`` checks share: one result for a failed probe or a failed SSH
handshake, under the one failure table (:mod:`accessready.agent.core.failures`)."""

from __future__ import annotations

from typing import Any

from accessready.agent.core.failures import ENDPOINT, describe, failure
from accessready.agent.core.model import Result, Status
from accessready.agent.core.outcome import ProbeOutcome
from accessready.agent.io.transports.base import TransportError
from accessready.agent.plugin.checkapi import Check, Target
from accessready.agent.plugin.probekit import describe_failure
from accessready.agent.plugin.transport_texts import failure_details

# The failures that mean "something else, or nothing, speaks here": one remediation key.
PROTOCOL_KINDS = frozenset({"protocol", "closed", "reset", "too_big", "silent"})


def _fix(kind: str, status: Status) -> str:
    if status is Status.ERROR:
        return "error"
    return "protocol" if kind in PROTOCOL_KINDS else kind


def probe_failure_result(check: Check, target: Target, outcome: ProbeOutcome, what: str,
                         extra: dict[str, Any]) -> Result:
    """One result for a failed probe: the one table decides status and words."""
    kind = outcome.kind or "error"
    return check.result(target, outcome.status, describe_failure(what, outcome, detail=True),
                        {**extra, **outcome.to_json()}, fix=_fix(kind, outcome.status))


def transport_failure_result(check: Check, target: Target, exc: TransportError,
                             what: str) -> Result:
    """A failed SSH handshake under the same rule as the other probes: a failure of the
    endpoint is a finding about the server (FAIL); the account's kinds and this machine's
    decide nothing about whether it is reachable (ERROR). An unknown host key is a
    finding here: the server answered with a key known_hosts does not vouch for."""
    about_server = failure(exc.kind).about == ENDPOINT or exc.kind == "host_key_unknown"
    status = Status.FAIL if about_server else Status.ERROR
    return check.result(target, status, describe(what, exc.kind, str(exc), detail=True),
                        failure_details(exc), fix=_fix(exc.kind, status))
