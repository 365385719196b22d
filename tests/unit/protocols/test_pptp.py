"""Tests for the PPTP control-connection codec (RFC 2637)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accessready.checks.protocols import ProtocolError, pptp
from accessready.checks.protocols.pptp import PptpParseError


def _name(text: bytes) -> bytes:
    return text.ljust(64, b"\0")


# Start-Control-Connection-Reply captured from pptpd 1.4.0 (reference D.2).
PPTPD_SCCRP = (
    bytes.fromhex("009c00011a2b3c4d00020000010001000000000000000000000100 01".replace(" ", ""))
    + _name(b"local")
    + _name(b"linux")
)


def _sccrp(**fields: int | bytes) -> bytes:
    """A well-formed SCCRP with selected fields overridden."""
    values = {
        "length": 156,
        "message_type": 1,
        "magic": 0x1A2B3C4D,
        "control_type": 2,
        "version": 0x0100,
        "result": 1,
        "error": 0,
        "framing": 1,
        "bearer": 1,
        "channels": 0,
        "firmware": 0x0600,
        "host": _name(b"RRAS01"),
        "vendor": _name(b"Microsoft"),
    }
    values.update(fields)
    return struct.pack(
        ">HHIHHHBBIIHH64s64s",
        values["length"],
        values["message_type"],
        values["magic"],
        values["control_type"],
        0,
        values["version"],
        values["result"],
        values["error"],
        values["framing"],
        values["bearer"],
        values["channels"],
        values["firmware"],
        values["host"],
        values["vendor"],
    )


# --------------------------------------------------------------------------- builders


def test_sccrq_layout_matches_rfc_2637() -> None:
    msg = pptp.build_sccrq()
    assert len(msg) == pptp.SCCRQ_LENGTH == 156
    # Same fixed part as nmap's pptp-version probe in the reference (D.1).
    assert msg[:28] == bytes.fromhex(
        "009c00011a2b3c4d0001000001000000000000010000 0001ffff0001".replace(" ", "")
    )
    assert msg[28:92] == _name(b"accessready")
    assert msg[92:156] == _name(b"accessready")


def test_sccrq_names_are_truncated_and_padded() -> None:
    msg = pptp.build_sccrq(host_name="h" * 100, vendor="v")
    assert len(msg) == 156
    assert msg[28:92] == b"h" * 64
    assert msg[92:156] == _name(b"v")


def test_sccrq_unencodable_name_is_replaced_not_fatal() -> None:
    msg = pptp.build_sccrq(host_name="värd-☃")
    assert msg[28:92] == _name("värd-?".encode("latin-1"))


def test_stop_ccrq() -> None:
    msg = pptp.build_stop_ccrq()
    assert msg == bytes.fromhex("001000011a2b3c4d0003000001000000")
    assert pptp.expected_reply_length(msg) == 16


@pytest.mark.parametrize("reason", [0, 4, -1])
def test_stop_ccrq_rejects_unknown_reason(reason: int) -> None:
    with pytest.raises(ValueError):
        pptp.build_stop_ccrq(reason)


# --------------------------------------------------------------------------- parser


def test_parse_captured_pptpd_reply() -> None:
    reply = pptp.parse_sccrp(PPTPD_SCCRP)
    assert reply.accepted
    assert reply.result_code == 1
    assert reply.result_text == "success"
    assert reply.error_code == 0
    assert reply.error_text == "none"
    assert reply.protocol_version == 0x0100
    assert reply.version_text == "1.0"
    assert reply.framing_capabilities == 0
    assert reply.bearer_capabilities == 0
    assert reply.max_channels == 1
    assert reply.firmware_revision == 1
    assert reply.host_name == "local"
    assert reply.vendor == "linux"


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (2, "general error"),
        (3, "command channel already exists"),
        (4, "requester is not authorized"),
        (5, "protocol version not supported"),
        (99, "unknown result code 99"),
    ],
)
def test_result_code_meanings(code: int, text: str) -> None:
    reply = pptp.parse_sccrp(_sccrp(result=code, error=4 if code == 2 else 0))
    assert not reply.accepted
    assert reply.result_text == text


def test_general_error_code_is_decoded() -> None:
    reply = pptp.parse_sccrp(_sccrp(result=2, error=4))
    assert reply.error_text == "no resource"


def test_windows_like_reply_fields() -> None:
    reply = pptp.parse_sccrp(_sccrp())
    assert reply.host_name == "RRAS01"
    assert reply.vendor == "Microsoft"
    assert reply.firmware_revision == 0x0600
    assert reply.framing_capabilities == pptp.FRAMING_ASYNC
    assert reply.bearer_capabilities == pptp.BEARER_ANALOG


def test_names_stop_at_nul_and_hide_control_characters() -> None:
    reply = pptp.parse_sccrp(_sccrp(host=_name(b"a\x1b[31mb\x00junk"), vendor=b"\xe5\x85" * 32))
    assert reply.host_name == "a?[31mb"
    assert reply.vendor == "å?" * 32  # latin-1; 0x85 is a C1 control character


def test_full_length_name_without_nul() -> None:
    reply = pptp.parse_sccrp(_sccrp(vendor=b"x" * 64))
    assert reply.vendor == "x" * 64


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_sccrp(magic=0x1A2B3C4E), "magic cookie"),
        (_sccrp(message_type=2), "message type"),
        (_sccrp(control_type=3), "Stop-Control-Connection-Request"),
        (_sccrp(control_type=99), "unknown"),
        (PPTPD_SCCRP[:-1], "length field says 156"),
        (PPTPD_SCCRP + b"\0", "length field says 156"),
        (_sccrp(length=157) + b"\0", "must be 156"),
        (b"\x00", "need 2 bytes"),
        (b"", "need 2 bytes"),
    ],
)
def test_malformed_replies_are_rejected(data: bytes, message: str) -> None:
    with pytest.raises(PptpParseError, match=message):
        pptp.parse_sccrp(data)


def test_stop_request_from_server_is_a_parse_error() -> None:
    with pytest.raises(PptpParseError, match="Stop-Control-Connection-Request"):
        pptp.parse_sccrp(pptp.build_stop_ccrq())


def test_parse_error_is_a_protocol_error() -> None:
    assert issubclass(PptpParseError, ProtocolError)
    assert issubclass(PptpParseError, ValueError)


@pytest.mark.parametrize(
    ("header", "expected"),
    [(b"\x00\x9c", 156), (b"\x00\x10\x00\x01", 16), (b"\x10\x00", 4096)],
)
def test_expected_reply_length(header: bytes, expected: int) -> None:
    assert pptp.expected_reply_length(header) == expected


@pytest.mark.parametrize("header", [b"", b"\x00", b"\x00\x0f", b"\x10\x01", b"\xff\xff", b"HT"])
def test_expected_reply_length_rejects(header: bytes) -> None:
    with pytest.raises(PptpParseError):
        pptp.expected_reply_length(header)


def test_http_server_on_1723_is_rejected_by_length() -> None:
    # "HT" = 0x4854 = 18516 bytes: beyond any PPTP message.
    with pytest.raises(PptpParseError, match="outside"):
        pptp.expected_reply_length(b"HTTP/1.1 400 Bad Request\r\n")


# --------------------------------------------------------------------------- properties

_SEEDS = [PPTPD_SCCRP, _sccrp(), _sccrp(result=2, error=6), pptp.build_stop_ccrq()]


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(_SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["truncate", "flip", "length", "set", "append"]))
        if op == "truncate":
            del data[draw(st.integers(0, len(data))) :]
        elif op == "flip" and data:
            index = draw(st.integers(0, len(data) - 1))
            data[index] ^= 1 << draw(st.integers(0, 7))
        elif op == "length" and len(data) >= 2:
            data[0:2] = draw(st.integers(0, 0xFFFF)).to_bytes(2, "big")
        elif op == "set" and data:
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        elif op == "append":
            data += draw(st.binary(max_size=8))
    return bytes(data)


def _parse_or_parse_error(data: bytes) -> None:
    try:
        reply = pptp.parse_sccrp(data)
    except PptpParseError:
        return
    assert isinstance(reply, pptp.SccrpReply)
    assert len(reply.host_name) <= 64
    assert reply.host_name.isprintable()
    assert reply.vendor.isprintable()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_escape(data: bytes) -> None:
    _parse_or_parse_error(data)
    try:
        length = pptp.expected_reply_length(data)
    except PptpParseError:
        return
    assert pptp.MIN_MESSAGE_LENGTH <= length <= pptp.MAX_MESSAGE_LENGTH


@settings(max_examples=300, deadline=None)
@given(_mutated())
def test_mutated_messages_never_escape(data: bytes) -> None:
    _parse_or_parse_error(data)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=100), st.text(max_size=100))
def test_sccrq_is_always_156_bytes(host: str, vendor: str) -> None:
    msg = pptp.build_sccrq(host, vendor)
    assert len(msg) == 156
    assert pptp.expected_reply_length(msg) == 156
