"""One IKE exchange over UDP, shared by the families that probe an IKE responder (the
Windows built-in VPN's IKEv2 and L2TP/IPsec, Check Point's IKEv1 on UDP 500).

The bytes are the codec's (:mod:`accessready.checks.protocols.ike`); the datagrams move
through :func:`accessready.agent.io.net.udp_exchange`; the result is one
:class:`~accessready.agent.core.outcome.ProbeOutcome`.
"""

from __future__ import annotations

from typing import Any

from accessready.agent.core.outcome import ProbeOutcome, hex_excerpt
from accessready.agent.io import net
from accessready.checks.protocols import ike

IKE_ATTEMPTS = 3


def reply_outcome(reply: ike.IkeReply) -> str:
    """``sa``, ``cookie``, ``invalid_ke``, ``no_proposal``, ``notify`` or ``other``."""
    if reply.kind == "sa":
        return "sa"
    if reply.cookie is not None:
        return "cookie"
    codes = {n.type for n in reply.errors}
    if 14 in codes:
        return "no_proposal"
    if reply.preferred_dh_group is not None:
        return "invalid_ke"
    return "notify" if reply.errors else "other"


def reply_json(reply: ike.IkeReply) -> dict[str, Any]:
    """The decoded reply as evidence (bounded: real replies carry a handful of items)."""
    return {
        "version": reply.version,
        "exchange": reply.header.exchange_name,
        "kind": reply.kind,
        "payloads": list(reply.payload_names[:32]),
        "chosen": [tr.label for tr in reply.chosen[:16]],
        "notifies": [f"{n.type} {n.name}" for n in reply.notifies[:16]],
        "vendor_ids": [{"hex": v.hex[:80], "name": v.name} for v in reply.vendor_ids[:16]],
        "preferred_dh_group": reply.preferred_dh_group,
        "responder_spi": reply.header.spi_r.hex(),
    }


def probe_name(port: int, natt: bool) -> str:
    """``udp/500`` or ``NAT-T udp/4500``: how the evidence names one IKE probe."""
    return f"{'NAT-T ' if natt else ''}udp/{port}"


def ike_exchange(host: str, port: int, payload: bytes, spi_i: bytes, *, natt: bool,
                 timeout: float, attempts: int = IKE_ATTEMPTS) -> ProbeOutcome:
    """Send one IKE message (with the non-ESP marker when ``natt``) and parse the answer.

    ``answer`` is the :class:`~accessready.checks.protocols.ike.IkeReply`; ``facts`` hold
    its evidence (``reply``) and what it means (``outcome``: :func:`reply_outcome`).
    Datagrams that are not a response to *our* SPI — garbage, strays, a reflected copy of
    the request — are ignored but kept as evidence; if only such datagrams came, the
    probe failed with ``protocol``.
    """
    wire = ike.add_non_esp_marker(payload) if natt else payload
    ignored: list[bytes] = []
    parsed: list[ike.IkeReply] = []

    def accept(datagram: bytes) -> bool:
        try:
            body = ike.strip_non_esp_marker(datagram) if natt else datagram
            reply = ike.parse_ike_reply(body)
        except ike.IkeParseError:
            ignored.append(datagram)
            return False
        if not ike.matches_request(reply, spi_i) or not reply.responder_alive:
            ignored.append(datagram)
            return False
        parsed.append(reply)
        return True

    outcome = net.udp_exchange(host, port, wire, accept, timeout, attempts)
    facts: dict[str, Any] = {"probe": probe_name(port, natt), **outcome.facts}
    if not outcome.ok:
        if ignored:
            facts.update(ignored_replies=len(ignored), ignored_hex=hex_excerpt(ignored[-1]))
            if outcome.kind == "timeout":
                return outcome.failed("protocol", f"{len(ignored)} datagram(s) came back, "
                                      "none a valid IKE response to this request", **facts)
        return outcome.failed(outcome.kind or "error", outcome.message, **facts)
    reply = parsed[-1]
    return ProbeOutcome(outcome.target, outcome.sent, outcome.received, None,
                        outcome.total_ms, facts={**facts, "reply": reply_json(reply),
                                                 "outcome": reply_outcome(reply)},
                        answer=reply)
