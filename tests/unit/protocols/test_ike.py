"""Tests for the IKE probe codec (IKEv2 RFC 7296, IKEv1 RFC 2408/2409, NAT-T RFC 3948)."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accessready.checks.protocols import ProtocolError, ike
from accessready.checks.protocols.ike import IkeParseError

SPI_I = bytes.fromhex("1122334455667788")
SPI_R = bytes.fromhex("a1a2a3a4a5a6a7a8")
NONCE = bytes(range(32))
KE_14 = bytes([0x5A]) * 256
KE_2 = bytes([0x3C]) * 128

MS_NT5 = "1e2b516905991c7d7c96fcbfb587e461"


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


def payload(next_type: int, body: bytes, flags: int = 0) -> bytes:
    return struct.pack(">BBH", next_type, flags, 4 + len(body)) + body


def message(
    first: int,
    body: bytes,
    *,
    version: int = 0x20,
    exchange: int = 34,
    flags: int = 0x20,
    spi_i: bytes = SPI_I,
    spi_r: bytes = SPI_R,
) -> bytes:
    header = struct.pack(">BBBBII", first, version, exchange, flags, 0, 28 + len(body))
    return spi_i + spi_r + header + body


def v2_notify(notify_type: int, data: bytes = b"") -> bytes:
    return struct.pack(">BBH", 0, 0, notify_type) + data


def v1_notify(notify_type: int, data: bytes = b"", doi: int = 1) -> bytes:
    return struct.pack(">IBBH", doi, 1, 0, notify_type) + data


# strongSwan 5.9.8 IKE_SA_INIT response (reference E.2): the proposal bytes are the capture;
# SA/KE/Nonce/Notify payload headers are rebuilt around them with the captured sizes.
STRONGSWAN_PROPOSAL = h(
    "00 00 00 2c 01 01 00 04"
    "03 00 00 0c 01 00 00 0c 80 0e 00 80"
    "03 00 00 08 03 00 00 0c"
    "03 00 00 08 02 00 00 05"
    "00 00 00 08 04 00 00 0e"
)
STRONGSWAN_SA_INIT = message(
    33,
    payload(34, STRONGSWAN_PROPOSAL)
    + payload(40, struct.pack(">HH", 14, 0) + bytes([0xC3]) * 256)
    + payload(41, bytes([0x7E]) * 32)
    + payload(41, v2_notify(16418))
    + payload(0, v2_notify(16404)),
)


# --------------------------------------------------------------------------- vendor IDs


@pytest.mark.parametrize(
    ("text", "hex_value"),
    [
        ("MS NT5 ISAKMPOAKLEY", MS_NT5),
        ("RFC 3947", "4a131c81070358455c5728f20e95452f"),
        ("FRAGMENTATION", "4048b7d56ebce88525e7de7f00d6c2d3"),
        ("Vid-Initial-Contact", "26244d38eddb61b3172a36e3d0cfb819"),
        ("MS-Negotiation Discovery Capable", "fb1de3cdf341b7ea16b7e5be0855f120"),
        ("IKE CGA version 1", "e3a5966a76379fe707228231e5ce8652"),
        ("strongSwan 5.9.8", "5cf0e60c586b849204e149b4b7ddcadc"),
    ],
)
def test_md5_vendor_ids_match_reference(text: str, hex_value: str) -> None:
    assert hashlib.md5(text.encode(), usedforsecurity=False).hexdigest() == hex_value
    # The table is computed at import; it must hold exactly the reference value.
    assert bytes.fromhex(hex_value) in {prefix for prefix, _ in ike.KNOWN_VENDOR_IDS}


@pytest.mark.parametrize(
    ("vid_hex", "name"),
    [
        (MS_NT5 + "00000002", "MS NT5 ISAKMPOAKLEY (Windows 2000)"),
        (MS_NT5 + "00000007", "MS NT5 ISAKMPOAKLEY (Windows 7)"),
        (MS_NT5 + "00000008", "MS NT5 ISAKMPOAKLEY (Windows Server 2008 R2)"),
        (MS_NT5 + "00000009", "MS NT5 ISAKMPOAKLEY (Windows 8)"),
        (MS_NT5 + "00000010", "MS NT5 ISAKMPOAKLEY (Windows Server 2012)"),
        (MS_NT5 + "00000013", "MS NT5 ISAKMPOAKLEY (Windows, version word 0x00000013)"),
        (MS_NT5, "MS NT5 ISAKMPOAKLEY (Windows)"),
        ("4a131c81070358455c5728f20e95452f", "RFC 3947 NAT-T"),
        ("90cb80913ebb696e086381b5ec427b1f", "draft-ietf-ipsec-nat-t-ike-02\\n"),
        ("4048b7d56ebce88525e7de7f00d6c2d380000000", "IKE Fragmentation"),
        ("12f5f28c457168a9702d9fe274cc0100", "Cisco Unity 1.0"),
        ("afcad71368a1f1c96b8696fc77570100", "Dead Peer Detection (RFC 3706)"),
        ("09002689dfd6b712", "XAUTH"),
        ("f4ed19e0c114eb516faaac0ee37daf2807b4381f", "Check Point"),
        (
            "f4ed19e0c114eb516faaac0ee37daf2807b4381f000000010000138d",
            "Check Point Firewall-1/VPN-1",
        ),
        (
            "f4ed19e0c114eb516faaac0ee37daf2807b4381f00000002",
            "Check Point SecuRemote/SecureClient",
        ),
        ("5cf0e60c586b849204e149b4b7ddcadc", "strongSwan 5.9.8"),
    ],
)
def test_identify_vendor_id(vid_hex: str, name: str) -> None:
    assert ike.identify_vendor_id(bytes.fromhex(vid_hex)) == name


@pytest.mark.parametrize("vid", [b"", b"\x00" * 16, b"unknown vendor", bytes.fromhex(MS_NT5)[:15]])
def test_unknown_vendor_ids(vid: bytes) -> None:
    assert ike.identify_vendor_id(vid) is None


# --------------------------------------------------------------------------- IKEv2 builder


def test_ikev2_sa_init_header_and_lengths() -> None:
    pkt = ike.build_ikev2_sa_init(SPI_I, NONCE, KE_14)
    # 28 header + SA (4 + 8 + 3*12... see below) + KE 264 + Nonce 36
    assert len(pkt) == 420
    assert pkt[:8] == SPI_I
    assert pkt[8:16] == bytes(8)
    assert pkt[16:28] == h("21 20 22 08 00000000 000001a4")
    assert pkt[-36:] == payload(0, NONCE)


def test_ikev2_sa_init_round_trip() -> None:
    pkt = ike.build_ikev2_sa_init(SPI_I, NONCE, KE_14)
    req = ike.parse_ike_reply(pkt)
    assert req.version == 2
    assert req.header.length == len(pkt)
    assert req.header.exchange_name == "IKE_SA_INIT"
    assert req.payload_names == ("SA", "KE", "Nonce")
    assert req.kind == "sa"
    assert [t.label for t in req.chosen] == [
        "ENCR AES_CBC-256",
        "ENCR AES_CBC-128",
        "ENCR 3DES",
        "PRF HMAC_SHA2_256",
        "PRF HMAC_SHA1",
        "INTEG HMAC_SHA2_256_128",
        "INTEG HMAC_SHA1_96",
        "DH MODP2048",
        "DH MODP1024",
    ]
    assert req.proposals[0].protocol == "IKE"
    assert req.ke_group == 14
    assert req.nonce_length == 32
    # Our own request echoed back (I flag, no R flag) is not a responder.
    assert not req.responder_alive
    assert ike.matches_request(req, SPI_I)


def test_ikev2_sa_init_with_group_2_puts_it_first() -> None:
    pkt = ike.build_ikev2_sa_init(SPI_I, NONCE, KE_2, dh_group=2)
    req = ike.parse_ike_reply(pkt)
    assert [t.name for t in req.chosen if t.kind == "DH"] == ["MODP1024", "MODP2048"]
    assert req.ke_group == 2
    assert len(pkt) == 420 - 128


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"spi_i": bytes(8)}, "spi_i"),
        ({"spi_i": b"short"}, "spi_i"),
        ({"nonce": bytes(15)}, "nonce"),
        ({"nonce": bytes(257)}, "nonce"),
        ({"ke_value": bytes(255)}, "256 bytes"),
        ({"dh_group": 19}, "MODP group"),
    ],
)
def test_ikev2_builder_rejects_bad_arguments(kwargs: dict, message: str) -> None:
    args = {"spi_i": SPI_I, "nonce": NONCE, "ke_value": KE_14, **kwargs}
    with pytest.raises(ValueError, match=message):
        ike.build_ikev2_sa_init(**args)


def test_new_sa_init_inputs_are_injectable() -> None:
    counter = itertools.count(0xF0)

    def fake(n: int) -> bytes:
        return bytes([next(counter) & 0xFF]) * n

    spi, nonce, ke = ike.new_sa_init_inputs(14, randbytes=fake)
    assert spi == b"\xf0" * 8
    assert ke == b"\x71" + b"\xf1" * 255  # top bit cleared: below the MODP prime
    assert nonce == b"\xf2" * 32
    assert len(ike.build_ikev2_sa_init(spi, nonce, ke)) == 420


def test_new_sa_init_inputs_never_yields_zero_spi() -> None:
    spi, _, ke = ike.new_sa_init_inputs(2, randbytes=bytes)
    assert spi == bytes(7) + b"\x01"
    assert len(ke) == 128
    with pytest.raises(ValueError):
        ike.new_sa_init_inputs(20)


def test_new_sa_init_inputs_default_random() -> None:
    first, second = ike.new_sa_init_inputs(), ike.new_sa_init_inputs()
    assert first[0] != second[0]
    assert first[2][0] < 0x80


# --------------------------------------------------------------------------- IKEv1 builder


def test_ikev1_main_mode_round_trip() -> None:
    pkt = ike.build_ikev1_main_mode(SPI_I)
    assert pkt[:16] == SPI_I + bytes(8)
    assert pkt[16:20] == h("01 10 02 00")
    assert struct.unpack(">I", pkt[24:28])[0] == len(pkt)
    req = ike.parse_ike_reply(pkt)
    assert req.version == 1
    assert req.header.exchange_name == "Identity Protection (Main Mode)"
    assert req.payload_names == ("SA",) + ("VID",) * 6
    proposal = req.proposals[0]
    assert proposal.protocol == "IKE"
    assert proposal.lifetime_seconds == 28800
    # 12 transforms x (ENCR, HASH, AUTH, DH)
    assert len(proposal.transforms) == 48
    offers = [proposal.transforms[i : i + 4] for i in range(0, 48, 4)]
    assert [t.label for t in offers[0]] == [
        "ENCR AES_CBC-256",
        "HASH SHA2_256",
        "AUTH PSK",
        "DH MODP2048",
    ]
    assert [t.label for t in offers[-1]] == [
        "ENCR 3DES_CBC",
        "HASH SHA1",
        "AUTH PSK",
        "DH MODP1024",
    ]
    combos = {(o[0].label, o[1].name, o[3].name) for o in offers}
    assert len(combos) == 12
    assert [v.name for v in req.vendor_ids] == [
        "MS NT5 ISAKMPOAKLEY (Windows 8)",
        "RFC 3947 NAT-T",
        "draft-ietf-ipsec-nat-t-ike-02\\n",
        "IKE Fragmentation",
        "MS-Negotiation Discovery Capable",
        "IKE CGA version 1",
    ]
    # A copy of our own Main Mode request has no responder cookie: not an answer.
    assert not req.responder_alive


@pytest.mark.parametrize("cookie", [bytes(8), b"1234567", b"123456789"])
def test_ikev1_builder_rejects_bad_cookie(cookie: bytes) -> None:
    with pytest.raises(ValueError):
        ike.build_ikev1_main_mode(cookie)


# --------------------------------------------------------------------------- NAT-T framing


def test_non_esp_marker_round_trip() -> None:
    pkt = ike.build_ikev2_sa_init(SPI_I, NONCE, KE_14)
    framed = ike.add_non_esp_marker(pkt)
    assert framed[:4] == bytes(4)
    assert ike.strip_non_esp_marker(framed) == pkt


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff", "keepalive"),
        (b"\x00\x00\x00", "too short"),
        (h("c0ffee01 00000001") + bytes(16), "ESP"),
    ],
)
def test_strip_non_esp_marker_rejects(data: bytes, message: str) -> None:
    with pytest.raises(IkeParseError, match=message):
        ike.strip_non_esp_marker(data)


# --------------------------------------------------------------------------- replies


def test_strongswan_sa_init_response() -> None:
    assert len(STRONGSWAN_SA_INIT) == 0x188  # the length in the captured header
    assert STRONGSWAN_SA_INIT[16:28] == h("21 20 22 20 00000000 00000188")
    reply = ike.parse_ike_reply(STRONGSWAN_SA_INIT)
    assert reply.kind == "sa"
    assert reply.responder_alive
    assert reply.header.is_response
    assert reply.header.spi_r == SPI_R
    assert [t.label for t in reply.chosen] == [
        "ENCR AES_CBC-128",
        "INTEG HMAC_SHA2_256_128",
        "PRF HMAC_SHA2_256",
        "DH MODP2048",
    ]
    assert reply.ke_group == 14
    assert reply.nonce_length == 32
    # 16418 is CHILDLESS_IKEV2_SUPPORTED (RFC 6023), not fragmentation (16430, RFC 7383).
    assert [(n.type, n.name) for n in reply.notifies] == [
        (16418, "CHILDLESS_IKEV2_SUPPORTED"),
        (16404, "MULTIPLE_AUTH_SUPPORTED"),
    ]
    assert reply.errors == ()
    assert reply.vendor_ids == ()
    assert ike.matches_request(reply, SPI_I)
    assert not ike.matches_request(reply, SPI_R)


def test_strongswan_reply_over_nat_t() -> None:
    reply = ike.parse_ike_reply(ike.strip_non_esp_marker(bytes(4) + STRONGSWAN_SA_INIT))
    assert reply.kind == "sa"


def test_ikev2_no_proposal_chosen() -> None:
    data = message(41, payload(0, v2_notify(14)), spi_r=bytes(8))
    reply = ike.parse_ike_reply(data)
    assert reply.kind == "notify"
    assert reply.responder_alive
    assert [n.name for n in reply.errors] == ["NO_PROPOSAL_CHOSEN"]
    assert reply.chosen == ()
    assert reply.preferred_dh_group is None


def test_ikev2_invalid_ke_payload_names_preferred_group() -> None:
    data = message(41, payload(0, v2_notify(17, b"\x00\x0e")), spi_r=bytes(8))
    reply = ike.parse_ike_reply(data)
    assert reply.kind == "notify"
    assert reply.notifies[0].name == "INVALID_KE_PAYLOAD"
    assert reply.preferred_dh_group == 14
    assert reply.responder_alive


def test_ikev2_invalid_ke_payload_with_odd_data_has_no_group() -> None:
    data = message(41, payload(0, v2_notify(17, b"\x0e")), spi_r=bytes(8))
    assert ike.parse_ike_reply(data).preferred_dh_group is None


def test_ikev2_cookie_demand_proves_a_live_responder() -> None:
    cookie = bytes(range(20))
    data = message(41, payload(0, v2_notify(16390, cookie)), spi_r=bytes(8))
    reply = ike.parse_ike_reply(data)
    assert reply.kind == "notify"
    assert reply.cookie == cookie
    assert reply.notifies[0].name == "COOKIE"
    assert not reply.notifies[0].is_error
    assert reply.responder_alive


def test_ikev2_invalid_syntax_and_unknown_notifies() -> None:
    body = payload(41, v2_notify(7)) + payload(41, v2_notify(40000)) + payload(0, v2_notify(9000))
    reply = ike.parse_ike_reply(message(41, body))
    assert [n.name for n in reply.notifies] == ["INVALID_SYNTAX", "UNKNOWN_40000", "PRIVATE_USE"]


def test_ikev2_notify_with_spi() -> None:
    body = struct.pack(">BBH", 3, 4, 11) + b"\xde\xad\xbe\xef" + b"extra"
    reply = ike.parse_ike_reply(message(41, payload(0, body)))
    notify = reply.notifies[0]
    assert (notify.name, notify.protocol_id, notify.spi, notify.data) == (
        "INVALID_SPI",
        3,
        b"\xde\xad\xbe\xef",
        b"extra",
    )


def test_ikev2_encrypted_informational() -> None:
    # An SK payload: its "next payload" names the first inner payload; the rest is ciphertext.
    data = message(46, payload(41, bytes(40)), exchange=37)
    reply = ike.parse_ike_reply(data)
    assert reply.kind == "informational"
    assert reply.encrypted
    assert reply.payload_names == ("SK",)
    assert reply.header.exchange_name == "INFORMATIONAL"


def test_ikev1_notify_no_proposal_chosen() -> None:
    # Like ike-scan's captured notify response: Informational, responder cookie still zero.
    data = message(
        11, payload(0, v1_notify(14, doi=0)), version=0x10, exchange=5, flags=0, spi_r=bytes(8)
    )
    reply = ike.parse_ike_reply(data)
    assert reply.version == 1
    assert reply.header.exchange_name == "Informational"
    assert reply.kind == "notify"
    assert reply.responder_alive
    assert [n.name for n in reply.errors] == ["NO-PROPOSAL-CHOSEN"]
    # 17 in IKEv1 is INVALID-KEY-INFORMATION and carries no group.
    assert reply.preferred_dh_group is None


def test_ikev1_checkpoint_private_notify() -> None:
    data = message(
        11,
        payload(0, v1_notify(9101, b"User testing unknown.\x00")),
        version=0x10,
        exchange=5,
        flags=0,
    )
    notify = ike.parse_ike_reply(data).notifies[0]
    assert notify.name == "CHECKPOINT-PRIVATE-9101"
    assert notify.data.startswith(b"User testing")


def _v1_transform(number: int, attrs: bytes, last: bool = True) -> bytes:
    return payload(0 if last else 3, struct.pack(">BBH", number, 1, 0) + attrs)


def _tv(attr: int, value: int) -> bytes:
    return struct.pack(">HH", 0x8000 | attr, value)


def test_ikev1_main_mode_response_from_windows() -> None:
    attrs = (
        _tv(1, 7)
        + _tv(14, 256)
        + _tv(2, 4)
        + _tv(3, 1)
        + _tv(4, 14)
        + _tv(11, 1)
        + struct.pack(">HHI", 12, 4, 28800)
    )
    proposal = payload(0, struct.pack(">BBBB", 1, 1, 0, 1) + _v1_transform(1, attrs))
    sa = struct.pack(">II", 1, 1) + proposal
    vids = [bytes.fromhex(MS_NT5 + "00000010"), hashlib.md5(b"RFC 3947").digest()]
    body = payload(13, sa) + payload(13, vids[0]) + payload(0, vids[1])
    data = message(1, body, version=0x10, exchange=2, flags=0)
    reply = ike.parse_ike_reply(data)
    assert reply.kind == "sa"
    assert reply.responder_alive
    assert [t.label for t in reply.chosen] == [
        "ENCR AES_CBC-256",
        "HASH SHA2_256",
        "AUTH PSK",
        "DH MODP2048",
    ]
    assert reply.proposals[0].lifetime_seconds == 28800
    assert [v.name for v in reply.vendor_ids] == [
        "MS NT5 ISAKMPOAKLEY (Windows Server 2012)",
        "RFC 3947 NAT-T",
    ]
    assert reply.vendor_ids[0].hex == MS_NT5 + "00000010"


def test_ikev1_unknown_vendor_id_is_listed_as_hex() -> None:
    data = message(13, payload(0, b"\x01\x02"), version=0x10, exchange=2, flags=0)
    reply = ike.parse_ike_reply(data)
    assert reply.vendor_ids == (ike.VendorId("0102", None),)
    assert reply.kind == "informational"


def test_ikev1_encrypted_message_is_not_walked() -> None:
    data = message(8, bytes(48), version=0x10, exchange=5, flags=0x01)
    reply = ike.parse_ike_reply(data)
    assert reply.encrypted
    assert reply.kind == "informational"
    assert reply.payload_types == ()


def test_ikev1_sa_with_other_doi_is_not_decoded() -> None:
    data = message(1, payload(0, struct.pack(">II", 0, 1)), version=0x10, exchange=2, flags=0)
    reply = ike.parse_ike_reply(data)
    assert reply.kind == "sa"
    assert reply.proposals == ()


def test_bytes_after_the_message_are_ignored() -> None:
    reply = ike.parse_ike_reply(STRONGSWAN_SA_INIT + b"\0\0\0\0")
    assert reply.kind == "sa"


def test_parse_error_is_a_protocol_error() -> None:
    assert issubclass(IkeParseError, ProtocolError)


def _sa_body(transform: bytes, count: int = 1) -> bytes:
    return struct.pack(">BBHBBBB", 0, 0, 8 + len(transform), 1, 1, 0, count) + transform


@pytest.mark.parametrize(
    ("data", "message_text"),
    [
        (b"", "shorter than the 28-byte"),
        (STRONGSWAN_SA_INIT[:27], "shorter than the 28-byte"),
        (STRONGSWAN_SA_INIT[:16] + b"\x21\x30" + STRONGSWAN_SA_INIT[18:], "major version 3"),
        (STRONGSWAN_SA_INIT[:-1], "does not fit"),
        (message(41, b""), "needs 1 bytes"),
        (message(41, struct.pack(">BBH", 0, 0, 3)), "below the 4-byte"),
        (message(41, struct.pack(">BBH", 0, 0, 9) + bytes(4)), "needs 5 bytes"),
        (message(41, payload(0, v2_notify(14)) + b"\0"), "1 bytes left"),
        (message(43, payload(43, b"x") * 64 + payload(0, b"x")), "more than 64 payloads"),
        (message(41, payload(0, b"\x00\x08\x00")), "notify"),
        (message(41, payload(0, struct.pack(">BBH", 0, 9, 14))), "notify"),
        (message(34, payload(0, b"\x00")), "KE payload"),
        (message(33, payload(0, _sa_body(struct.pack(">BBHBBH", 0, 0, 8, 1, 0, 12), 2))), "says 2"),
        (message(33, payload(0, _sa_body(struct.pack(">BBHBBH", 0, 0, 4, 1, 0, 12)))), "below 8"),
        (
            message(33, payload(0, _sa_body(struct.pack(">BBHBBHH", 0, 0, 10, 1, 0, 12, 14)))),
            "IKEv2 transform: needs 2 bytes",
        ),
        (
            message(
                33,
                payload(
                    0,
                    _sa_body(
                        struct.pack(">BBHBBH", 0, 0, 268, 1, 0, 12)
                        + struct.pack(">HH", 0x800E, 128) * 65
                    ),
                ),
            ),
            "more than 64 attributes",
        ),
        (message(33, payload(0, _sa_body(b"", 0) * 65)), "more than 64 proposals"),
        (
            message(1, payload(0, struct.pack(">II", 1, 1) + _sa_body(b"", 1)), version=0x10),
            "says 1 transforms, holds 0",
        ),
    ],
)
def test_malformed_messages_are_rejected(data: bytes, message_text: str) -> None:
    with pytest.raises(IkeParseError, match=message_text):
        ike.parse_ike_reply(data)


# --------------------------------------------------------------------------- properties

_SEEDS = [
    STRONGSWAN_SA_INIT,
    ike.build_ikev2_sa_init(SPI_I, NONCE, KE_14),
    ike.build_ikev1_main_mode(SPI_I),
    message(41, payload(0, v2_notify(17, b"\x00\x0e"))),
    message(11, payload(0, v1_notify(14)), version=0x10, exchange=5, flags=0),
]


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(_SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["truncate", "flip", "header_length", "u16", "set", "append"]))
        if op == "truncate":
            del data[draw(st.integers(0, len(data))) :]
        elif op == "flip" and data:
            index = draw(st.integers(0, len(data) - 1))
            data[index] ^= 1 << draw(st.integers(0, 7))
        elif op == "header_length" and len(data) >= 28:
            data[24:28] = draw(st.integers(0, 0xFFFFFFFF)).to_bytes(4, "big")
        elif op == "u16" and len(data) >= 30:
            # Corrupt a payload/proposal/transform/attribute length anywhere in the body.
            index = draw(st.integers(28, len(data) - 2))
            data[index : index + 2] = draw(st.integers(0, 0xFFFF)).to_bytes(2, "big")
        elif op == "set" and data:
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        elif op == "append":
            data += draw(st.binary(max_size=16))
    return bytes(data)


@st.composite
def _framed_garbage(draw: st.DrawFn) -> bytes:
    """Valid header and payload framing around random payload bodies, to reach the decoders."""
    version = draw(st.sampled_from([0x10, 0x20]))
    types = [1, 4, 10, 11, 13] if version == 0x10 else [33, 34, 40, 41, 43, 46]
    chosen = draw(st.lists(st.sampled_from(types), min_size=1, max_size=6))
    bodies = [draw(_substructured()) for _ in chosen]
    chain = b"".join(
        payload(chosen[i + 1] if i + 1 < len(chosen) else 0, body) for i, body in enumerate(bodies)
    )
    return message(chosen[0], chain, version=version, flags=draw(st.integers(0, 255)))


@st.composite
def _substructured(draw: st.DrawFn) -> bytes:
    """Random bytes or a run of length-prefixed substructures with plausible lengths."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=40))
    prefix = draw(st.sampled_from([b"", struct.pack(">II", 1, 1)]))
    items = []
    for _ in range(draw(st.integers(0, 4))):
        inner = draw(st.binary(max_size=24))
        length = draw(st.one_of(st.just(4 + len(inner)), st.integers(0, 40)))
        items.append(struct.pack(">BBH", draw(st.sampled_from([0, 2, 3])), 0, length) + inner)
    return prefix + b"".join(items)


def _parse_or_parse_error(data: bytes) -> None:
    try:
        reply = ike.parse_ike_reply(data)
    except IkeParseError:
        return
    assert reply.kind in ("sa", "notify", "informational")
    assert len(reply.payload_types) <= ike.MAX_PAYLOADS
    assert reply.header.length <= len(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_arbitrary_bytes_never_escape(data: bytes) -> None:
    _parse_or_parse_error(data)
    with contextlib.suppress(IkeParseError):
        ike.strip_non_esp_marker(data)


@settings(max_examples=300, deadline=None)
@given(_mutated())
def test_mutated_messages_never_escape(data: bytes) -> None:
    _parse_or_parse_error(data)


@settings(max_examples=300, deadline=None)
@given(_framed_garbage())
def test_framed_garbage_never_escapes(data: bytes) -> None:
    _parse_or_parse_error(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=8, max_size=8).filter(any))
def test_builders_produce_parseable_messages(spi: bytes) -> None:
    for pkt in (ike.build_ikev2_sa_init(spi, NONCE, KE_14), ike.build_ikev1_main_mode(spi)):
        reply = ike.parse_ike_reply(pkt)
        assert ike.matches_request(reply, spi)
        assert reply.header.length == len(pkt)
