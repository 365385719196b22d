"""What every network probe returns: one :class:`ProbeOutcome`.

A probe (a TCP exchange, a UDP datagram, a TLS handshake, an HTTP request, a protocol's
own exchange such as IKE or PPTP) never raises for a failure of the target or the path to
it and never returns a tuple: it says what it sent, what came back, how long it took, and
— when it did not complete — one *kind* from :data:`accessready.agent.core.failures.FAILURES`.
Protocol findings (a parsed answer, the TLS facts, how the name was resolved) go in
``facts``. A check turns an outcome into a result with :meth:`ProbeOutcome.describe` and
:attr:`ProbeOutcome.status`, so every family words and grades a failure the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from accessready.agent.core.failures import describe, failure
from accessready.agent.core.model import Status, Text

EVIDENCE_BYTES = 256


def hex_excerpt(data: bytes, limit: int = EVIDENCE_BYTES) -> str:
    """Bytes as spaced hex, cut at ``limit`` bytes with a note — bounded evidence."""
    text = data[:limit].hex(" ")
    return text + (f" … (+{len(data) - limit} bytes)" if len(data) > limit else "")


@dataclass(frozen=True)
class ProbeOutcome:
    """One probe of ``target`` (``host:port``): both directions, timings, and a failure
    kind when it did not complete (``None`` when it did)."""

    target: str
    sent: bytes = b""
    received: bytes = b""
    connect_ms: float | None = None
    total_ms: float = 0.0
    kind: str | None = None
    message: str = ""  # the probe's own words (English), for the evidence
    facts: Mapping[str, Any] = field(default_factory=dict)
    # The decoded answer a check decides on (an HTTP response, an IKE reply, …): not
    # evidence itself — what of it is evidence goes in ``facts``.
    answer: Any = field(default=None, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        """The probe completed (which says nothing yet about what came back)."""
        return self.kind is None

    @property
    def status(self) -> Status:
        """PASS for a completed probe; else the failure table's status for its kind."""
        return Status.PASS if self.kind is None else failure(self.kind).status

    def describe(self, *, detail: bool = False, where: str | None = None) -> Text:
        """``"host:port refused the connection …."``; only for a failed probe."""
        return describe(where or self.target, self.kind or "error", self.message,
                        detail=detail)

    def failed(self, kind: str, message: str, **facts: Any) -> ProbeOutcome:
        """This outcome, turned into a failure of ``kind`` (e.g. an answer that parsed as
        the wrong protocol), keeping what was sent and received."""
        return replace(self, kind=kind, message=message, facts={**self.facts, **facts})

    def fact(self, key: str, default: Any = None) -> Any:
        """One of the probe's ``facts`` (``tls``, ``resolved``, …), or ``default``."""
        return self.facts.get(key, default)

    def to_json(self) -> dict[str, Any]:
        """Bounded evidence for a result's details."""
        out: dict[str, Any] = {"target": self.target}
        if self.sent:
            out.update(sent_hex=hex_excerpt(self.sent), sent_bytes=len(self.sent))
        if self.received:
            out.update(received_hex=hex_excerpt(self.received),
                       received_bytes=len(self.received))
        if self.connect_ms is not None:
            out["connect_ms"] = round(self.connect_ms, 1)
        out["total_ms"] = round(self.total_ms, 1)
        if self.kind is not None:
            out.update(failure=self.kind, message=self.message)
        for key, value in self.facts.items():
            out[key] = value.to_json() if hasattr(value, "to_json") else value
        return out
