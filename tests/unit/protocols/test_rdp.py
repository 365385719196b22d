"""Tests for the RDP negotiation codec ([MS-RDPBCGR] 2.2.1.1 / 2.2.1.2) and its verdict."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accessready.checks.protocols import ProtocolError, rdp
from accessready.checks.protocols.rdp import ConnectionConfirm, RdpParseError


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


CC_PREFIX = "03 00 00 13 0e d0 00 00 12 34 00"

# xrdp 0.9.21.1 captures (reference C.2), security_layer=negotiate unless noted.
XRDP_REQ_NONE = h("03 00 00 0b 06 d0 00 00 12 34 00")
XRDP_REQ_00 = h(CC_PREFIX + "02 01 08 00 00 00 00 00")
XRDP_REQ_01 = h(CC_PREFIX + "02 01 08 00 01 00 00 00")
XRDP_REQ_03 = h(CC_PREFIX + "02 01 08 00 01 00 00 00")
XRDP_REQ_0B = h(CC_PREFIX + "02 01 08 00 01 00 00 00")
XRDP_TLS_REQ_00 = h(CC_PREFIX + "03 00 08 00 01 00 00 00")

# Constructed Windows-like answers: NLA required, and the nmap "Microsoft Terminal
# Services" signature (RSP selecting HYBRID, flags 0x1f).
WIN_HYBRID_REQUIRED = h(CC_PREFIX + "03 00 08 00 05 00 00 00")
WIN_USER_AUTH_REQUIRED = h(CC_PREFIX + "03 00 08 00 06 00 00 00")
WIN_RSP_HYBRID_EX = h(CC_PREFIX + "02 1f 08 00 08 00 00 00")
WIN_RSP_HYBRID = h(CC_PREFIX + "02 1f 08 00 02 00 00 00")
WIN_RSP_SSL = h(CC_PREFIX + "02 0f 08 00 01 00 00 00")
WIN_RSP_RDP = h(CC_PREFIX + "02 0f 08 00 00 00 00 00")


# --------------------------------------------------------------------------- builder


@pytest.mark.parametrize(
    ("requested", "tail"),
    [
        (0x00, "00 00 00 00"),
        (0x01, "01 00 00 00"),
        (0x03, "03 00 00 00"),
        (0x0B, "0b 00 00 00"),
    ],
)
def test_connection_request_with_cookie_matches_reference(requested: int, tail: str) -> None:
    expected = h(
        "03 00 00 2a 25 e0 00 00 00 00 00"
        "43 6f 6f 6b 69 65 3a 20 6d 73 74 73 68 61 73 68 3d 6e 6d 61 70 0d 0a"
        "01 00 08 00" + tail
    )
    assert rdp.build_connection_request(requested, cookie="nmap") == expected


def test_connection_request_without_cookie_matches_reference() -> None:
    assert rdp.build_connection_request(0x0B) == h(
        "03 00 00 13 0e e0 00 00 00 00 00 01 00 08 00 0b 00 00 00"
    )


def test_constants() -> None:
    assert (rdp.PROTOCOL_RDP, rdp.PROTOCOL_SSL, rdp.PROTOCOL_HYBRID) == (0, 1, 2)
    assert (rdp.PROTOCOL_RDSTLS, rdp.PROTOCOL_HYBRID_EX) == (4, 8)
    assert rdp.PROBE_REQUESTS == (0x00, 0x01, 0x0B)


@pytest.mark.parametrize("cookie", ["", "two words", "line\r\nbreak", "å", "x" * 300])
def test_bad_cookies_are_refused(cookie: str) -> None:
    with pytest.raises(ValueError):
        rdp.build_connection_request(0, cookie=cookie)


@pytest.mark.parametrize("requested", [-1, 1 << 32])
def test_requested_protocols_must_fit_32_bits(requested: int) -> None:
    with pytest.raises(ValueError):
        rdp.build_connection_request(requested)


def test_protocol_names() -> None:
    assert rdp.protocol_names(0) == ("RDP",)
    assert rdp.protocol_names(0x0B) == ("SSL", "HYBRID", "HYBRID_EX")
    assert rdp.protocol_names(0x40) == ("0x40",)


# --------------------------------------------------------------------------- parser


def test_xrdp_without_negotiation_request() -> None:
    cc = rdp.parse_connection_confirm(XRDP_REQ_NONE)
    assert cc == ConnectionConfirm(kind="none")


def test_xrdp_selects_classic_rdp_for_request_00() -> None:
    cc = rdp.parse_connection_confirm(XRDP_REQ_00)
    assert cc.kind == "response"
    assert cc.selected_protocol == rdp.PROTOCOL_RDP
    assert cc.selected_protocol_name == "RDP"
    assert cc.flags == 0x01
    assert cc.flag_names == ("EXTENDED_CLIENT_DATA_SUPPORTED",)
    assert cc.failure_code is None


@pytest.mark.parametrize("data", [XRDP_REQ_01, XRDP_REQ_03, XRDP_REQ_0B])
def test_xrdp_selects_ssl(data: bytes) -> None:
    cc = rdp.parse_connection_confirm(data)
    assert cc.kind == "response"
    assert cc.selected_protocol == rdp.PROTOCOL_SSL
    assert cc.selected_protocol_name == "SSL"


def test_xrdp_tls_only_refuses_classic_rdp() -> None:
    cc = rdp.parse_connection_confirm(XRDP_TLS_REQ_00)
    assert cc.kind == "failure"
    assert cc.failure_code == 1
    assert cc.failure_name == "SSL_REQUIRED_BY_SERVER"
    assert cc.selected_protocol is None


@pytest.mark.parametrize(
    ("code", "name"),
    [
        (1, "SSL_REQUIRED_BY_SERVER"),
        (2, "SSL_NOT_ALLOWED_BY_SERVER"),
        (3, "SSL_CERT_NOT_ON_SERVER"),
        (4, "INCONSISTENT_FLAGS"),
        (5, "HYBRID_REQUIRED_BY_SERVER"),
        (6, "SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER"),
        (77, "UNKNOWN(77)"),
    ],
)
def test_failure_codes(code: int, name: str) -> None:
    data = h(CC_PREFIX + "03 00 08 00") + code.to_bytes(4, "little")
    assert rdp.parse_connection_confirm(data).failure_name == name


def test_windows_signature_flags() -> None:
    cc = rdp.parse_connection_confirm(WIN_RSP_HYBRID)
    assert cc.selected_protocol_name == "HYBRID"
    assert cc.flag_names == (
        "EXTENDED_CLIENT_DATA_SUPPORTED",
        "DYNVC_GFX_PROTOCOL_SUPPORTED",
        "NEGRSP_FLAG_RESERVED",
        "RESTRICTED_ADMIN_MODE_SUPPORTED",
        "REDIRECTED_AUTHENTICATION_MODE_SUPPORTED",
    )
    assert rdp.parse_connection_confirm(WIN_RSP_HYBRID_EX).selected_protocol_name == "HYBRID_EX"


def test_unknown_selected_protocol_is_named_not_fatal() -> None:
    cc = rdp.parse_connection_confirm(h(CC_PREFIX + "02 00 08 00 00 01 00 00"))
    assert cc.selected_protocol == 0x100
    assert cc.selected_protocol_name == "UNKNOWN(0x100)"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (h("02 00 00 13 0e d0 00 00 12 34 00 02 01 08 00 00 00 00 00"), "TPKT version"),
        (XRDP_REQ_00[:-1], "TPKT length says 19"),
        (XRDP_REQ_00 + b"\0", "TPKT length says 19"),
        (h("03 00 00 13 0e e0 00 00 12 34 00 02 01 08 00 00 00 00 00"), "not a Connection"),
        (h("03 00 00 0b 06 80 00 00 12 34 00"), "not a Connection"),
        (h("03 00 00 13 0d d0 00 00 12 34 00 02 01 08 00 00 00 00 00"), "length indicator"),
        (h("03 00 00 13 0e d0 00 00 12 34 00 02 01 09 00 00 00 00 00"), "length field is 9"),
        (h("03 00 00 13 0e d0 00 00 12 34 00 01 00 08 00 00 00 00 00"), "type 1"),
        (h("03 00 00 10 0b d0 00 00 12 34 00 02 01 08 00 00"), "is 5 bytes"),
        (h("03 00 00 0a 05 d0 00 00 12 34"), "outside"),
        (h("03 00"), "need 4 bytes"),
        (b"SSH-2.0-OpenSSH_9.2\r\n", "TPKT version"),
    ],
)
def test_malformed_confirms_are_rejected(data: bytes, message: str) -> None:
    with pytest.raises(RdpParseError, match=message):
        rdp.parse_connection_confirm(data)


def test_parse_error_is_a_protocol_error() -> None:
    assert issubclass(RdpParseError, ProtocolError)


@pytest.mark.parametrize(("header", "length"), [(XRDP_REQ_00, 19), (XRDP_REQ_NONE, 11)])
def test_tpkt_length(header: bytes, length: int) -> None:
    assert rdp.tpkt_length(header[:4]) == length


@pytest.mark.parametrize(
    "header", [b"", b"\x03\x00\x00", h("04 00 00 13"), h("03 00 00 0a"), h("03 00 04 01")]
)
def test_tpkt_length_rejects(header: bytes) -> None:
    with pytest.raises(RdpParseError):
        rdp.tpkt_length(header)


# --------------------------------------------------------------------------- assess


def _cc(data: bytes) -> ConnectionConfirm:
    return rdp.parse_connection_confirm(data)


def test_assess_xrdp_negotiate_is_not_nla() -> None:
    result = rdp.assess({0x00: _cc(XRDP_REQ_00), 0x01: _cc(XRDP_REQ_01), 0x0B: _cc(XRDP_REQ_0B)})
    assert result.speaks_rdp
    assert result.accepted_protocols == (0, 1)
    assert result.accepted_protocol_names == ("RDP", "SSL")
    # nmap's rdp-enum-encryption reports CredSSP SUCCESS here (reference C.3); we do not.
    assert result.nla_supported is False
    assert result.nla_required is False
    assert result.classic_rdp_security_allowed is True
    assert result.legacy_server is False
    assert result.mismatches == ()


def test_assess_xrdp_tls_only() -> None:
    result = rdp.assess(
        {0x00: _cc(XRDP_TLS_REQ_00), 0x01: _cc(XRDP_REQ_01), 0x0B: _cc(XRDP_REQ_0B)}
    )
    assert result.accepted_protocols == (1,)
    assert result.classic_rdp_security_allowed is False
    assert result.nla_required is False
    assert result.nla_supported is False
    assert result.failures == ((0x00, "SSL_REQUIRED_BY_SERVER"),)


def test_assess_windows_nla_required() -> None:
    result = rdp.assess(
        {
            0x00: _cc(WIN_HYBRID_REQUIRED),
            0x01: _cc(WIN_HYBRID_REQUIRED),
            0x0B: _cc(WIN_RSP_HYBRID_EX),
        }
    )
    assert result.speaks_rdp
    assert result.nla_required is True
    assert result.nla_supported is True
    assert result.classic_rdp_security_allowed is False
    assert result.accepted_protocols == (8,)
    assert result.accepted_protocol_names == ("HYBRID_EX",)
    assert result.failures == (
        (0x00, "HYBRID_REQUIRED_BY_SERVER"),
        (0x01, "HYBRID_REQUIRED_BY_SERVER"),
    )


def test_assess_windows_nla_offered_but_not_required() -> None:
    result = rdp.assess({0x00: _cc(WIN_RSP_RDP), 0x01: _cc(WIN_RSP_SSL), 0x0B: _cc(WIN_RSP_HYBRID)})
    assert result.nla_required is False
    assert result.nla_supported is True
    assert result.classic_rdp_security_allowed is True
    assert result.accepted_protocols == (0, 1, 2)


def test_assess_user_auth_required_counts_as_required() -> None:
    result = rdp.assess({0x01: _cc(WIN_USER_AUTH_REQUIRED)})
    assert result.nla_required is True
    assert result.nla_supported is None
    assert result.classic_rdp_security_allowed is None


def test_assess_legacy_server_without_negotiation() -> None:
    result = rdp.assess({0x00: _cc(XRDP_REQ_NONE), 0x0B: _cc(XRDP_REQ_NONE)})
    assert result.legacy_server
    assert result.classic_rdp_security_allowed is True
    assert result.nla_supported is False
    assert result.nla_required is False
    assert result.accepted_protocols == (0,)


def test_assess_nothing_answered() -> None:
    result = rdp.assess({})
    assert not result.speaks_rdp
    assert result.accepted_protocols == ()
    assert result.nla_required is None
    assert result.nla_supported is None
    assert result.classic_rdp_security_allowed is None


def test_assess_unknown_failure_code_decides_nothing_about_nla() -> None:
    """A refusal with a code [MS-RDPBCGR] does not define is named, never read as NLA."""
    odd = _cc(h(CC_PREFIX + "03 00 08 00 2a 00 00 00"))
    assert odd.failure_name == "UNKNOWN(42)"
    result = rdp.assess({0x00: odd, 0x01: odd, 0x0B: _cc(WIN_RSP_HYBRID_EX)})
    assert result.speaks_rdp
    assert result.nla_required is None  # neither "required" nor "not required"
    assert result.nla_supported is True
    assert result.unknown_failure_codes == (42,)
    assert rdp.assess({0x00: odd}).nla_required is None
    # a known NLA refusal beside it still decides
    assert rdp.assess({0x00: odd, 0x01: _cc(WIN_HYBRID_REQUIRED)}).nla_required is True


def test_assess_ignores_protocol_that_was_not_offered() -> None:
    # Selecting HYBRID for a TLS-only request is a violation: evidence, not acceptance.
    result = rdp.assess({0x01: _cc(WIN_RSP_HYBRID)})
    assert result.accepted_protocols == ()
    assert result.mismatches == ((0x01, 0x02),)
    assert result.nla_supported is None
    assert result.nla_required is None


def test_assess_ssl_not_allowed_means_classic_only() -> None:
    data = h(CC_PREFIX + "03 00 08 00 02 00 00 00")
    result = rdp.assess({0x0B: _cc(data)})
    assert result.classic_rdp_security_allowed is True
    assert result.nla_supported is False


def test_assess_acceptance_outweighs_refusal() -> None:
    result = rdp.assess({0x00: _cc(WIN_HYBRID_REQUIRED), 0x01: _cc(WIN_RSP_SSL)})
    assert result.nla_required is False


# --------------------------------------------------------------------------- properties

_SEEDS = [
    XRDP_REQ_NONE,
    XRDP_REQ_00,
    XRDP_REQ_0B,
    XRDP_TLS_REQ_00,
    WIN_RSP_HYBRID_EX,
    WIN_HYBRID_REQUIRED,
]


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(_SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["truncate", "flip", "tpkt_length", "li", "set", "append"]))
        if op == "truncate":
            del data[draw(st.integers(0, len(data))) :]
        elif op == "flip" and data:
            index = draw(st.integers(0, len(data) - 1))
            data[index] ^= 1 << draw(st.integers(0, 7))
        elif op == "tpkt_length" and len(data) >= 4:
            data[2:4] = draw(st.integers(0, 0xFFFF)).to_bytes(2, "big")
        elif op == "li" and len(data) >= 5:
            data[4] = draw(st.integers(0, 255))
        elif op == "set" and data:
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        elif op == "append":
            data += draw(st.binary(max_size=8))
    return bytes(data)


def _parse_or_parse_error(data: bytes) -> ConnectionConfirm | None:
    try:
        cc = rdp.parse_connection_confirm(data)
    except RdpParseError:
        return None
    assert cc.kind in ("response", "failure", "none")
    return cc


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_arbitrary_bytes_never_escape(data: bytes) -> None:
    _parse_or_parse_error(data)
    with contextlib.suppress(RdpParseError):
        rdp.tpkt_length(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=16).map(lambda tail: h("03 00 00") + bytes([11 + len(tail)]) + tail))
def test_well_framed_garbage_never_escapes(data: bytes) -> None:
    _parse_or_parse_error(data)


@settings(max_examples=300, deadline=None)
@given(_mutated())
def test_mutated_confirms_never_escape(data: bytes) -> None:
    _parse_or_parse_error(data)


_CONFIRMS = st.one_of(
    st.just(ConnectionConfirm(kind="none")),
    st.integers(0, 0x20).map(
        lambda p: ConnectionConfirm(kind="response", selected_protocol=p, selected_protocol_name="")
    ),
    st.integers(0, 8).map(lambda c: ConnectionConfirm(kind="failure", failure_code=c)),
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.integers(0, 0x1F), _CONFIRMS, max_size=5))
def test_assess_is_total_and_consistent(replies: dict[int, ConnectionConfirm]) -> None:
    result = rdp.assess(replies)
    assert result.speaks_rdp == bool(replies)
    assert list(result.accepted_protocols) == sorted(set(result.accepted_protocols))
    for protocol in result.accepted_protocols:
        assert protocol == 0 or protocol & (protocol - 1) == 0
    if result.nla_required:
        assert not ({0, 1} & set(result.accepted_protocols))
