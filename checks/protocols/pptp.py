"""PPTP control-connection codec (RFC 2637), enough to prove a PPTP server answers on TCP 1723.

The probe sends a Start-Control-Connection-Request (SCCRQ), reads the
Start-Control-Connection-Reply (SCCRP) and then politely closes with a
Stop-Control-Connection-Request, so the server frees the control-connection slot.

Wire layout of the SCCRP (RFC 2637 section 2.2; all integers big-endian)::

    0  Length (2) = 156        2  PPTP Message Type (2) = 1 (control)
    4  Magic Cookie (4) = 0x1A2B3C4D
    8  Control Message Type (2) = 2                    10 Reserved0 (2)
    12 Protocol Version (2)    14 Result Code (1)      15 Error Code (1)
    16 Framing Capabilities (4)                        20 Bearer Capabilities (4)
    24 Maximum Channels (2)    26 Firmware Revision (2)
    28 Host Name (64)          92 Vendor String (64)

A successful control connection says nothing about GRE (IP protocol 47), which carries the
data and which a userspace probe cannot test; the check reports that separately.

Every problem in bytes from the peer raises :class:`PptpParseError` and nothing else.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from . import ProtocolError

__all__ = [
    "BEARER_ANALOG",
    "BEARER_DIGITAL",
    "CONTROL_MESSAGE_NAMES",
    "ERROR_TEXT",
    "FRAMING_ASYNC",
    "FRAMING_SYNC",
    "MAGIC_COOKIE",
    "MAX_MESSAGE_LENGTH",
    "MIN_MESSAGE_LENGTH",
    "PPTP_PORT",
    "RESULT_TEXT",
    "SCCRP_LENGTH",
    "SCCRQ_LENGTH",
    "STOP_CCRQ_LENGTH",
    "PptpParseError",
    "SccrpReply",
    "build_sccrq",
    "build_stop_ccrq",
    "expected_reply_length",
    "parse_sccrp",
]

PPTP_PORT = 1723
"""TCP port of the PPTP control connection."""

MAGIC_COOKIE = 0x1A2B3C4D
"""Constant in every PPTP message; lets a receiver spot a lost stream alignment."""

PROTOCOL_VERSION = 0x0100
"""PPTP version 1.0 (major in the high byte, revision in the low byte)."""

CONTROL_MESSAGE = 1
"""PPTP Message Type of every control message (2 would be management, never used)."""

SCCRQ_LENGTH = 156
SCCRP_LENGTH = 156
STOP_CCRQ_LENGTH = 16

MIN_MESSAGE_LENGTH = 16
"""Shortest PPTP control message (Echo and Stop-Control-Connection messages)."""

MAX_MESSAGE_LENGTH = 4096
"""Longest message we agree to read; the longest RFC 2637 message is 220 bytes."""

FRAMING_ASYNC = 0x1
FRAMING_SYNC = 0x2
BEARER_ANALOG = 0x1
BEARER_DIGITAL = 0x2

# Control Message Types, RFC 2637 section 1.4.
_SCCRQ = 1
_SCCRP = 2
_STOP_CCRQ = 3

CONTROL_MESSAGE_NAMES: dict[int, str] = {
    1: "Start-Control-Connection-Request",
    2: "Start-Control-Connection-Reply",
    3: "Stop-Control-Connection-Request",
    4: "Stop-Control-Connection-Reply",
    5: "Echo-Request",
    6: "Echo-Reply",
    7: "Outgoing-Call-Request",
    8: "Outgoing-Call-Reply",
    9: "Incoming-Call-Request",
    10: "Incoming-Call-Reply",
    11: "Incoming-Call-Connected",
    12: "Call-Clear-Request",
    13: "Call-Disconnect-Notify",
    14: "WAN-Error-Notify",
    15: "Set-Link-Info",
}
"""Control Message Type numbers to their RFC 2637 names."""

RESULT_TEXT: dict[int, str] = {
    1: "success",
    2: "general error",
    3: "command channel already exists",
    4: "requester is not authorized",
    5: "protocol version not supported",
}
"""SCCRP Result Code meanings (RFC 2637 section 2.2)."""

ERROR_TEXT: dict[int, str] = {
    0: "none",
    1: "not connected",
    2: "bad format",
    3: "bad value",
    4: "no resource",
    5: "bad call ID",
    6: "PAC error",
}
"""General Error Codes (RFC 2637 section 2.16), meaningful when the result code is 2."""

_NAME_FIELD = 64
_HEADER = struct.Struct(">HHIHH")  # length, message type, magic, control type, reserved0
_SCCRQ_BODY = struct.Struct(">HHIIHH64s64s")
_SCCRP_BODY = struct.Struct(">HBBIIHH64s64s")


class PptpParseError(ProtocolError):
    """The bytes are not a well-formed PPTP control message of the expected kind."""


@dataclass(frozen=True)
class SccrpReply:
    """A decoded Start-Control-Connection-Reply.

    ``host_name`` and ``vendor`` are the peer's own free-text fields, decoded as latin-1 up
    to the first NUL with non-printable characters replaced by ``?``; treat them as claims.
    """

    protocol_version: int
    result_code: int
    result_text: str
    error_code: int
    error_text: str
    framing_capabilities: int
    bearer_capabilities: int
    max_channels: int
    firmware_revision: int
    host_name: str
    vendor: str

    @property
    def accepted(self) -> bool:
        """True when the server accepted the control connection (result code 1)."""
        return self.result_code == 1

    @property
    def version_text(self) -> str:
        """The protocol version as ``major.revision``, e.g. ``1.0``."""
        return f"{self.protocol_version >> 8}.{self.protocol_version & 0xFF}"


def _name_field(text: str) -> bytes:
    """Encode ``text`` as a fixed 64-byte, NUL-padded field, truncating if needed."""
    return text.encode("latin-1", errors="replace")[:_NAME_FIELD].ljust(_NAME_FIELD, b"\0")


def build_sccrq(host_name: str = "accessready", vendor: str = "accessready") -> bytes:
    """Build the 156-byte Start-Control-Connection-Request a PPTP client opens with.

    We announce what a Windows client does: version 1.0, asynchronous framing, analog
    bearer, no channel limit. Names longer than 64 bytes are truncated.
    """
    body = _SCCRQ_BODY.pack(
        PROTOCOL_VERSION,
        0,  # reserved1
        FRAMING_ASYNC,
        BEARER_ANALOG,
        0xFFFF,  # maximum channels: no limit on our side (a PNS ignores it anyway)
        1,  # firmware revision
        _name_field(host_name),
        _name_field(vendor),
    )
    header = _HEADER.pack(SCCRQ_LENGTH, CONTROL_MESSAGE, MAGIC_COOKIE, _SCCRQ, 0)
    return header + body


def build_stop_ccrq(reason: int = 1) -> bytes:
    """Build the 16-byte Stop-Control-Connection-Request that closes the control connection.

    Reason 1 is "general request to clear control connection" (RFC 2637 section 2.3).
    """
    if not 1 <= reason <= 3:
        raise ValueError(f"reason must be 1, 2 or 3, not {reason}")
    header = _HEADER.pack(STOP_CCRQ_LENGTH, CONTROL_MESSAGE, MAGIC_COOKIE, _STOP_CCRQ, 0)
    return header + struct.pack(">BBH", reason, 0, 0)


def expected_reply_length(header: bytes) -> int:
    """Return the total length of the message whose first bytes are ``header``.

    Needs at least the 2-byte Length field; lets the caller read exactly one message.
    Lengths below 16 or above 4096 cannot be PPTP and raise :class:`PptpParseError`.
    """
    if len(header) < 2:
        raise PptpParseError(f"need 2 bytes to read the PPTP length field, got {len(header)}")
    (length,) = struct.unpack_from(">H", header)
    if not MIN_MESSAGE_LENGTH <= length <= MAX_MESSAGE_LENGTH:
        raise PptpParseError(
            f"PPTP length field {length} is outside {MIN_MESSAGE_LENGTH}..{MAX_MESSAGE_LENGTH}"
        )
    return length


def _decode_name(raw: bytes) -> str:
    """Decode a NUL-terminated latin-1 name field, replacing non-printable characters."""
    text = raw.split(b"\0", 1)[0].decode("latin-1")
    return "".join(ch if ch.isprintable() else "?" for ch in text)


def _check_header(data: bytes, expected_type: int, expected_length: int) -> None:
    """Validate the common control-message header of one complete message."""
    length = expected_reply_length(data)
    if length != len(data):
        raise PptpParseError(f"PPTP length field says {length} bytes, got {len(data)}")
    _, message_type, magic, control_type, _ = _HEADER.unpack_from(data)
    if message_type != CONTROL_MESSAGE:
        raise PptpParseError(f"PPTP message type {message_type} is not 1 (control message)")
    if magic != MAGIC_COOKIE:
        raise PptpParseError(f"bad PPTP magic cookie 0x{magic:08X}, expected 0x1A2B3C4D")
    if control_type != expected_type:
        name = CONTROL_MESSAGE_NAMES.get(control_type, "unknown")
        raise PptpParseError(
            f"expected control message type {expected_type}, got {control_type} ({name})"
        )
    if length != expected_length:
        name = CONTROL_MESSAGE_NAMES[expected_type]
        raise PptpParseError(f"{name} must be {expected_length} bytes, not {length}")


def parse_sccrp(data: bytes) -> SccrpReply:
    """Decode one complete Start-Control-Connection-Reply (exactly 156 bytes).

    Raises :class:`PptpParseError` if the length field, message type, magic cookie or
    control message type are wrong, e.g. when the server answers with a
    Stop-Control-Connection-Request instead.
    """
    data = bytes(data)
    _check_header(data, _SCCRP, SCCRP_LENGTH)
    (version, result, error, framing, bearer, channels, firmware, host, vendor) = (
        _SCCRP_BODY.unpack_from(data, _HEADER.size)
    )
    return SccrpReply(
        protocol_version=version,
        result_code=result,
        result_text=RESULT_TEXT.get(result, f"unknown result code {result}"),
        error_code=error,
        error_text=ERROR_TEXT.get(error, f"unknown error code {error}"),
        framing_capabilities=framing,
        bearer_capabilities=bearer,
        max_channels=channels,
        firmware_revision=firmware,
        host_name=_decode_name(host),
        vendor=_decode_name(vendor),
    )
