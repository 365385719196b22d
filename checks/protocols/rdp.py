"""RDP security negotiation codec ([MS-RDPBCGR] 2.2.1.1 and 2.2.1.2) and its verdict.

The probe opens TCP 3389, sends an X.224 Connection Request carrying an RDP Negotiation
Request (RDP_NEG_REQ) and reads the X.224 Connection Confirm. Nothing else of RDP is
spoken, so the probe needs no credentials and leaves no session behind. Wire layout::

    TPKT (T.123 section 8)   03 00 <length u16 BE, whole packet>
    X.224 CR TPDU            <LI> E0 <dst-ref 2> <src-ref 2> <class 1>
    optional cookie          "Cookie: mstshash=<name>\\r\\n"
    RDP_NEG_REQ              01 <flags> 08 00 <requestedProtocols u32 LE>

    X.224 CC TPDU            <LI> D0 <dst-ref 2> <src-ref 2> <class 1>
    optional rdpNegData      02 <flags> 08 00 <selectedProtocol u32 LE>   (RDP_NEG_RSP)
                             03 <flags> 08 00 <failureCode u32 LE>        (RDP_NEG_FAILURE)

:func:`assess` turns the answers to three probes into a verdict. It compares the selected
protocol with what was asked: xrdp answers a request for CredSSP by selecting TLS, which a
tool that only looks at the response type misreads as "NLA supported".

Every problem in bytes from the peer raises :class:`RdpParseError` and nothing else.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass

from . import ProtocolError

__all__ = [
    "FAILURE_NAMES",
    "FLAG_NAMES",
    "PROBE_REQUESTS",
    "PROTOCOL_HYBRID",
    "PROTOCOL_HYBRID_EX",
    "PROTOCOL_NAMES",
    "PROTOCOL_RDP",
    "PROTOCOL_RDSTLS",
    "PROTOCOL_SSL",
    "RDP_PORT",
    "ConnectionConfirm",
    "RdpAssessment",
    "RdpParseError",
    "assess",
    "build_connection_request",
    "parse_connection_confirm",
    "protocol_names",
    "tpkt_length",
]

RDP_PORT = 3389

PROTOCOL_RDP = 0x00
"""Standard ("classic") RDP Security: RC4 with a server key, no TLS. Weak."""
PROTOCOL_SSL = 0x01
"""TLS ("Enhanced RDP Security" without user authentication up front)."""
PROTOCOL_HYBRID = 0x02
"""CredSSP, i.e. Network Level Authentication (NLA); always on top of TLS."""
PROTOCOL_RDSTLS = 0x04
"""RDSTLS (server redirection with a cookie)."""
PROTOCOL_HYBRID_EX = 0x08
"""CredSSP plus the Early User Authorization Result PDU (Windows 8 / 2012 and later)."""

PROTOCOL_NAMES: dict[int, str] = {
    PROTOCOL_RDP: "RDP",
    PROTOCOL_SSL: "SSL",
    PROTOCOL_HYBRID: "HYBRID",
    PROTOCOL_RDSTLS: "RDSTLS",
    PROTOCOL_HYBRID_EX: "HYBRID_EX",
    0x10: "RDSAAD",
}
"""Protocol identifiers (RDP_NEG_REQ requestedProtocols / RDP_NEG_RSP selectedProtocol)."""

FLAG_NAMES: dict[int, str] = {
    0x01: "EXTENDED_CLIENT_DATA_SUPPORTED",
    0x02: "DYNVC_GFX_PROTOCOL_SUPPORTED",
    0x04: "NEGRSP_FLAG_RESERVED",
    0x08: "RESTRICTED_ADMIN_MODE_SUPPORTED",
    0x10: "REDIRECTED_AUTHENTICATION_MODE_SUPPORTED",
}
"""RDP_NEG_RSP flag bits ([MS-RDPBCGR] 2.2.1.2.1)."""

FAILURE_NAMES: dict[int, str] = {
    1: "SSL_REQUIRED_BY_SERVER",
    2: "SSL_NOT_ALLOWED_BY_SERVER",
    3: "SSL_CERT_NOT_ON_SERVER",
    4: "INCONSISTENT_FLAGS",
    5: "HYBRID_REQUIRED_BY_SERVER",
    6: "SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER",
}
"""RDP_NEG_FAILURE failure codes ([MS-RDPBCGR] 2.2.1.2.2)."""

PROBE_REQUESTS: tuple[int, ...] = (
    PROTOCOL_RDP,
    PROTOCOL_SSL,
    PROTOCOL_SSL | PROTOCOL_HYBRID | PROTOCOL_HYBRID_EX,
)
"""The requestedProtocols values :func:`assess` expects to have been probed, in order."""

_TPKT_VERSION = 3
_X224_CR = 0xE0
_X224_CC = 0xD0
_NEG_REQ = 0x01
_NEG_RSP = 0x02
_NEG_FAILURE = 0x03
_NEG_LENGTH = 8
_X224_FIXED = 6  # code, dst-ref, src-ref, class: what LI counts besides rdpNegData
_MIN_CONFIRM = 4 + 1 + _X224_FIXED  # 11: TPKT header, LI and the fixed part
_MAX_CONFIRM = 1024  # a Connection Confirm is 11 or 19 bytes; anything huge is not RDP
_MAX_LI = 254  # X.224 reserves LI 255
_HYBRID_BITS = PROTOCOL_HYBRID | PROTOCOL_HYBRID_EX
_NLA_FAILURES = frozenset({5, 6})
_SSL_NOT_ALLOWED = 2


class RdpParseError(ProtocolError):
    """The bytes are not a well-formed X.224 Connection Confirm with RDP negotiation data."""


@dataclass(frozen=True)
class ConnectionConfirm:
    """A decoded X.224 Connection Confirm.

    ``kind`` is ``"response"`` (RDP_NEG_RSP: the server picked ``selected_protocol``),
    ``"failure"`` (RDP_NEG_FAILURE: see ``failure_code``) or ``"none"`` (no negotiation
    data: a server from before RDP 5.2 that only knows classic RDP security).
    """

    kind: str
    selected_protocol: int | None = None
    selected_protocol_name: str | None = None
    flags: int = 0
    flag_names: tuple[str, ...] = ()
    failure_code: int | None = None
    failure_name: str | None = None


@dataclass(frozen=True)
class RdpAssessment:
    """What the server's answers to the probes in :data:`PROBE_REQUESTS` say.

    A ``None`` means the probes given could not decide the question.

    * ``accepted_protocols``: protocols the server selected *in answer to a request that
      offered them* (classic RDP counts whenever selected: a client always allows it).
    * ``nla_required``: a request without CredSSP was refused with
      HYBRID_REQUIRED_BY_SERVER (5) or SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER (6) and no
      such request was accepted. (6 strictly means TLS plus a client certificate: the
      server still authenticates the user before a session exists.)
    * ``failures``: ``(requested, failure name)`` for every refused probe.
    * ``unknown_failure_codes``: failure codes [MS-RDPBCGR] does not define; such a refusal
      says nothing about NLA, so it never decides ``nla_required``.
    * ``nla_supported``: a request offering CredSSP got CredSSP selected.
    * ``classic_rdp_security_allowed``: the server agreed to classic RDP security (weak),
      or refused TLS with SSL_NOT_ALLOWED_BY_SERVER (configured for classic only).
    * ``legacy_server``: the server ignored the negotiation request (pre-RDP 5.2).
    * ``mismatches``: ``(requested, selected)`` pairs where the server selected a protocol
      that was not offered, a protocol violation worth showing as evidence.
    """

    speaks_rdp: bool
    accepted_protocols: tuple[int, ...]
    accepted_protocol_names: tuple[str, ...]
    nla_required: bool | None
    nla_supported: bool | None
    classic_rdp_security_allowed: bool | None
    legacy_server: bool
    failures: tuple[tuple[int, str], ...]
    mismatches: tuple[tuple[int, int], ...]
    unknown_failure_codes: tuple[int, ...] = ()


def protocol_names(protocols: int) -> tuple[str, ...]:
    """Name the protocol bits set in ``protocols`` (``("RDP",)`` for zero)."""
    if protocols == PROTOCOL_RDP:
        return (PROTOCOL_NAMES[PROTOCOL_RDP],)
    names = []
    for bit in range(32):
        value = 1 << bit
        if protocols & value:
            names.append(PROTOCOL_NAMES.get(value, f"0x{value:X}"))
    return tuple(names)


def _protocol_name(value: int) -> str:
    """Name one selected protocol value (a single bit or zero)."""
    return PROTOCOL_NAMES.get(value, f"UNKNOWN(0x{value:X})")


def _flag_names(flags: int) -> tuple[str, ...]:
    """Name the RDP_NEG_RSP flag bits set in ``flags``."""
    return tuple(
        FLAG_NAMES.get(1 << bit, f"0x{1 << bit:02X}") for bit in range(8) if flags & (1 << bit)
    )


def build_connection_request(requested_protocols: int, cookie: str | None = None) -> bytes:
    """Build a TPKT-framed X.224 Connection Request carrying an RDP_NEG_REQ.

    ``requested_protocols`` is a bit mask of the ``PROTOCOL_*`` constants. ``cookie``, when
    given, is sent as ``Cookie: mstshash=<cookie>`` (mstsc sends the user name there; load
    balancers route on it). It must be printable ASCII without spaces.
    """
    if not 0 <= requested_protocols <= 0xFFFFFFFF:
        raise ValueError(f"requested_protocols must fit in 32 bits, not {requested_protocols}")
    variable = b""
    if cookie is not None:
        if not cookie or not all("!" <= ch <= "~" for ch in cookie):
            raise ValueError("cookie must be non-empty printable ASCII without spaces")
        variable = b"Cookie: mstshash=" + cookie.encode("ascii") + b"\r\n"
    neg_req = struct.pack("<BBHI", _NEG_REQ, 0, _NEG_LENGTH, requested_protocols)
    li = _X224_FIXED + len(variable) + len(neg_req)
    if li > _MAX_LI:
        raise ValueError("cookie is too long for an X.224 Connection Request")
    tpdu = struct.pack(">BBHHB", li, _X224_CR, 0, 0, 0) + variable + neg_req
    return struct.pack(">BBH", _TPKT_VERSION, 0, 4 + len(tpdu)) + tpdu


def tpkt_length(header4: bytes) -> int:
    """Return the total packet length from the first 4 bytes (the TPKT header).

    Lets the caller read exactly one Connection Confirm. Raises :class:`RdpParseError`
    if the bytes are not a TPKT header or announce a length no Connection Confirm has.
    """
    if len(header4) < 4:
        raise RdpParseError(f"need 4 bytes for a TPKT header, got {len(header4)}")
    version, _, length = struct.unpack_from(">BBH", header4)
    if version != _TPKT_VERSION:
        raise RdpParseError(f"TPKT version {version} is not 3: not an RDP/X.224 server")
    if not _MIN_CONFIRM <= length <= _MAX_CONFIRM:
        raise RdpParseError(
            f"TPKT length {length} is outside {_MIN_CONFIRM}..{_MAX_CONFIRM} "
            "for a Connection Confirm"
        )
    return length


def _parse_neg_data(neg: bytes) -> ConnectionConfirm:
    """Decode the 8-byte rdpNegData of a Connection Confirm."""
    neg_type, flags, length, value = struct.unpack("<BBHI", neg)
    if length != _NEG_LENGTH:
        raise RdpParseError(f"rdpNegData length field is {length}, must be 8")
    if neg_type == _NEG_RSP:
        return ConnectionConfirm(
            kind="response",
            selected_protocol=value,
            selected_protocol_name=_protocol_name(value),
            flags=flags,
            flag_names=_flag_names(flags),
        )
    if neg_type == _NEG_FAILURE:
        return ConnectionConfirm(
            kind="failure",
            flags=flags,
            failure_code=value,
            failure_name=FAILURE_NAMES.get(value, f"UNKNOWN({value})"),
        )
    raise RdpParseError(f"rdpNegData type {neg_type} is neither RSP (2) nor FAILURE (3)")


def parse_connection_confirm(data: bytes) -> ConnectionConfirm:
    """Decode one complete TPKT packet holding an X.224 Connection Confirm.

    ``data`` must be exactly the packet (``tpkt_length`` bytes). Raises
    :class:`RdpParseError` on a bad TPKT version or length, a TPDU that is not a Connection
    Confirm (e.g. a Disconnect Request), or malformed negotiation data.
    """
    data = bytes(data)
    length = tpkt_length(data)
    if length != len(data):
        raise RdpParseError(f"TPKT length says {length} bytes, got {len(data)}")
    li, code = data[4], data[5]
    if code & 0xF0 != _X224_CC:
        raise RdpParseError(f"X.224 TPDU code 0x{code:02X} is not a Connection Confirm (0xD0)")
    if li != length - 5:
        raise RdpParseError(f"X.224 length indicator {li} does not match TPKT length {length}")
    neg = data[4 + 1 + _X224_FIXED :]
    if not neg:
        return ConnectionConfirm(kind="none")
    if len(neg) != _NEG_LENGTH:
        raise RdpParseError(f"rdpNegData is {len(neg)} bytes, must be 8")
    return _parse_neg_data(neg)


def _accepts(requested: int, selected: int) -> bool:
    """True when ``selected`` is a protocol the request offered.

    Classic RDP security (0) is always acceptable to a client, so a server that selects it
    has accepted it whatever was requested.
    """
    if selected == PROTOCOL_RDP:
        return True
    single_bit = selected & (selected - 1) == 0
    return single_bit and selected & requested == selected


def _sorted_names(protocols: set[int]) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """Return the protocols in numeric order with their names."""
    ordered = tuple(sorted(protocols))
    return ordered, tuple(_protocol_name(p) for p in ordered)


def _tri_state(yes: bool, no: bool) -> bool | None:
    """``True`` if there is evidence for, else ``False`` if evidence against, else ``None``."""
    if yes:
        return True
    return False if no else None


def assess(replies: Mapping[int, ConnectionConfirm]) -> RdpAssessment:
    """Decide what the server allows from its answers, keyed by requestedProtocols sent.

    Probes that got no Connection Confirm (connection reset, timeout, garbage) are left out
    of ``replies``; with none at all, ``speaks_rdp`` is False and every question is open.
    Meant for :data:`PROBE_REQUESTS` (0x00, 0x01, 0x0B) but takes any request values.
    """
    accepted: set[int] = set()
    mismatches: list[tuple[int, int]] = []
    failures: list[tuple[int, str]] = []
    unknown_codes: dict[int, None] = {}
    non_nla_accepted = nla_refusal = False
    nla_asked = nla_selected = False
    classic_asked = classic_refused = False
    legacy = classic_only = False

    for requested, reply in sorted(replies.items()):
        offers_nla = bool(requested & _HYBRID_BITS)
        nla_asked = nla_asked or offers_nla
        classic_asked = classic_asked or requested == PROTOCOL_RDP
        if reply.kind == "none":
            # No negotiation data at all: the server only knows classic RDP security.
            legacy = True
            accepted.add(PROTOCOL_RDP)
            non_nla_accepted = True
        elif reply.kind == "response" and reply.selected_protocol is not None:
            selected = reply.selected_protocol
            if not _accepts(requested, selected):
                mismatches.append((requested, selected))
                continue
            accepted.add(selected)
            if selected & _HYBRID_BITS:
                nla_selected = True
            else:
                non_nla_accepted = True
        elif reply.kind == "failure" and reply.failure_code is not None:
            failures.append((requested, reply.failure_name or str(reply.failure_code)))
            if reply.failure_code not in FAILURE_NAMES:
                unknown_codes.setdefault(reply.failure_code)
            if not offers_nla and reply.failure_code in _NLA_FAILURES:
                nla_refusal = True
            if requested == PROTOCOL_RDP:
                classic_refused = True
            if reply.failure_code == _SSL_NOT_ALLOWED:
                # The server is set to classic RDP security only.
                classic_only = True

    ordered, names = _sorted_names(accepted)
    classic = PROTOCOL_RDP in accepted or classic_only
    return RdpAssessment(
        speaks_rdp=bool(replies),
        accepted_protocols=ordered,
        accepted_protocol_names=names,
        # Being let in without CredSSP outweighs a refusal seen on another probe.
        nla_required=False if non_nla_accepted else (True if nla_refusal else None),
        nla_supported=_tri_state(nla_selected, nla_asked or legacy),
        classic_rdp_security_allowed=_tri_state(classic, classic_asked and classic_refused),
        legacy_server=legacy,
        failures=tuple(failures),
        mismatches=tuple(mismatches),
        unknown_failure_codes=tuple(unknown_codes),
    )
