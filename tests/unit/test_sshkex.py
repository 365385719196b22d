"""The SSH key exchange codec (checks/protocols/sshkex.py): golden vectors from the RFCs,
round trips, signatures made here with the cryptography package, and fuzzing (any bytes
raise SshCodecError or nothing). That the exchange hash is the one servers sign is proved
against real servers in test_ssh_native.py (a wrong H would not verify there)."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import struct

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils, x25519
from hypothesis import given, settings
from hypothesis import strategies as st

from accessready.checks.protocols import ProtocolError, sshkex
from accessready.checks.protocols.sshkex import (
    EcdhReply,
    KexInit,
    Reader,
    SshCodecError,
)

# --- RFC 4251 §5's own examples ------------------------------------------------------------

MPINT_EXAMPLES = [
    (0, "00000000"),
    (0x9A378F9B2E332A7, "0000000809a378f9b2e332a7"),
    (0x80, "000000020080"),
    (-0x1234, "00000002edcc"),
    (-0xDEADBEEF, "00000005ff21524111"),
]


@pytest.mark.parametrize(("value", "wire"), MPINT_EXAMPLES)
def test_mpint_matches_rfc4251_examples(value: int, wire: str) -> None:
    assert sshkex.mpint(value).hex() == wire
    read = Reader(bytes.fromhex(wire), "test")
    assert read.mpint() == value
    read.end()


@pytest.mark.parametrize(("names", "wire"), [
    ((), "00000000"), (("zlib",), "000000047a6c6962"),
    (("zlib", "none"), "000000097a6c69622c6e6f6e65")])
def test_name_list_matches_rfc4251_examples(names: tuple[str, ...], wire: str) -> None:
    assert sshkex.name_list(names).hex() == wire
    assert Reader(bytes.fromhex(wire), "test").name_list() == names


def test_string_matches_rfc4251_example() -> None:
    assert sshkex.string(b"testing") == bytes.fromhex("00000007") + b"testing"


@given(st.integers(min_value=-(2 ** 600), max_value=2 ** 600))
@settings(max_examples=300, deadline=None)
def test_mpint_round_trips_with_fewest_bytes(value: int) -> None:
    wire = sshkex.mpint(value)
    assert Reader(wire, "test").mpint() == value
    body = wire[4:]
    # RFC 4251: no unnecessary leading 0x00 or 0xff byte
    if len(body) > 1:
        assert not (body[0] == 0 and body[1] < 0x80)
        assert not (body[0] == 0xFF and body[1] >= 0x80)


def test_name_lists_refuse_empty_names_and_non_ascii() -> None:
    for raw in (b"a,,b", b",a", b"a\xffb", b"a b"):
        with pytest.raises(SshCodecError):
            Reader(sshkex.string(raw), "test").name_list()


# --- identification line -------------------------------------------------------------------

def test_identification_skips_a_greeting_and_keeps_what_follows() -> None:
    data = b"Welcome\r\nauthorised use only\r\nSSH-2.0-OpenSSH_9.2p1 Debian\r\n\x00\x00\x01"
    found = sshkex.identification(data)
    assert found is not None
    assert found.line == b"SSH-2.0-OpenSSH_9.2p1 Debian"
    assert (found.protocol, found.software, found.comments) == ("2.0", "OpenSSH_9.2p1",
                                                                "Debian")
    assert data[found.consumed:] == b"\x00\x00\x01"


def test_identification_accepts_1_99_and_a_bare_lf() -> None:
    found = sshkex.identification(b"SSH-1.99-Cisco-1.25\n")
    assert found is not None and found.protocol == "1.99" and found.software == "Cisco-1.25"
    assert found.text == "SSH-1.99-Cisco-1.25"


@pytest.mark.parametrize("partial", [b"", b"SS", b"SSH-2.0-Open", b"hello\r\nSSH-2.0-x"])
def test_identification_waits_for_the_whole_line(partial: bytes) -> None:
    assert sshkex.identification(partial) is None


@pytest.mark.parametrize(("data", "said"), [
    (b"SSH-1.5-OldServer\r\n", "protocol 1.5"),
    (b"SSH-2.0-" + b"x" * 250 + b"\r\n", "identification line longer than 255"),
    # refused before the line ends:
    (b"SSH-2.0-" + b"x" * 250, "identification line longer than 255"),
    (b"SSH-2.0\r\n", "malformed"),
    (b"SSH-2.0-a\x00b\r\n", "NUL"),
    (b"x" * 2000, "greeting has a line longer than 1024"),
    (b"hello\r\n" * 3000, "before its identification"),
])
def test_identification_refuses(data: bytes, said: str) -> None:
    with pytest.raises(SshCodecError, match=said):
        sshkex.identification(data)


def test_the_longest_allowed_identification_line_is_accepted() -> None:
    line = b"SSH-2.0-" + b"x" * (255 - 2 - 8)
    found = sshkex.identification(line + b"\r\n")
    assert found is not None and found.line == line


# --- binary packets ------------------------------------------------------------------------

@given(st.binary(min_size=1, max_size=3000), st.binary(max_size=16))
@settings(max_examples=200, deadline=None)
def test_packets_round_trip_with_valid_padding(payload: bytes, fill: bytes) -> None:
    packet = sshkex.frame(payload, fill)
    assert len(packet) % 8 == 0 and 4 <= packet[4] <= 11
    assert sshkex.unframe(packet + b"next") == (payload, len(packet))
    assert sshkex.unframe(packet[:-1]) is None


def _packet(length: int, pad: int, body: bytes = b"") -> bytes:
    return struct.pack(">IB", length, pad) + body


@pytest.mark.parametrize(("data", "said"), [
    (_packet(40000, 4), "announced a packet of 40000"),
    (_packet(0xFFFFFFFF, 4), "announced a packet"),
    (_packet(13, 4), "not a valid unencrypted packet"),  # 17 bytes: not a multiple of 8
    (_packet(8, 4), "not a valid unencrypted packet"),   # shorter than 16 in all
    (_packet(12, 3), "padding of 3"),
    (_packet(12, 11), "padding of 11"),                  # no room for a message number
])
def test_unframe_refuses_before_buffering(data: bytes, said: str) -> None:
    with pytest.raises(SshCodecError, match=said):
        sshkex.unframe(data)


def test_a_packet_too_big_to_send_is_refused() -> None:
    with pytest.raises(SshCodecError):
        sshkex.frame(b"x" * sshkex.MAX_PACKET)
    with pytest.raises(SshCodecError):
        sshkex.frame(b"")


# --- messages ------------------------------------------------------------------------------

_NAMES = st.lists(st.from_regex(r"[a-z0-9@.\-]{1,20}", fullmatch=True), max_size=6).map(tuple)


@given(st.binary(min_size=16, max_size=16), st.lists(_NAMES, min_size=10, max_size=10),
       st.booleans())
@settings(max_examples=150, deadline=None)
def test_kexinit_round_trips(cookie: bytes, lists: list[tuple[str, ...]],
                             follows: bool) -> None:
    message = KexInit(cookie, *lists, first_kex_follows=follows)
    assert sshkex.parse_kexinit(message.build()) == message


def test_kexinit_wire_layout() -> None:
    message = KexInit(bytes(range(16)), ("k",), ("h",), ("c",), ("c",), ("m",), ("m",),
                      ("none",), ("none",))
    wire = message.build()
    assert wire[0] == 20 and wire[1:17] == bytes(range(16))
    assert wire.endswith(b"\x00" + b"\x00\x00\x00\x00")  # false, reserved 0
    assert wire[17:17 + 5] == b"\x00\x00\x00\x01k"


def test_negotiation_takes_the_clients_first_choice_the_server_has() -> None:
    assert sshkex.negotiate(["a", "b", "c"], ["c", "b"]) == "b"
    assert sshkex.negotiate(["a"], ["b"]) is None
    assert sshkex.negotiate([], ["b"]) is None


def test_a_wrong_guess_is_detected() -> None:
    ours = KexInit(bytes(16), ("curve25519-sha256",), ("ssh-ed25519",), (), (), (), (), (),
                   ())
    right = KexInit(bytes(16), ("curve25519-sha256", "x"), ("ssh-ed25519",), (), (), (),
                    (), (), (), first_kex_follows=True)
    wrong = KexInit(bytes(16), ("x", "curve25519-sha256"), ("ssh-ed25519",), (), (), (),
                    (), (), (), first_kex_follows=True)
    assert not sshkex.guess_was_wrong(ours, right)
    assert sshkex.guess_was_wrong(ours, wrong)
    assert not sshkex.guess_was_wrong(ours, KexInit(bytes(16), ("x",), (), (), (), (), (),
                                                    (), ()))


def test_ecdh_messages_round_trip() -> None:
    assert sshkex.ecdh_init(b"Q" * 32) == b"\x1e\x00\x00\x00\x20" + b"Q" * 32
    reply = EcdhReply(b"key", b"q" * 32, b"sig")
    assert sshkex.parse_ecdh_reply(reply.build()) == reply
    with pytest.raises(SshCodecError, match="too many"):
        sshkex.parse_ecdh_reply(reply.build() + b"x")


def test_disconnect_round_trips_and_tolerates_a_missing_language() -> None:
    message = sshkex.Disconnect(11, "bye — hej då", "en")
    assert sshkex.parse_disconnect(message.build()) == message
    bare = b"\x01" + struct.pack(">I", 2) + sshkex.string(b"Too many")
    assert sshkex.parse_disconnect(bare) == sshkex.Disconnect(2, "Too many", "")


def test_exchange_hash_uses_the_methods_hash_over_rfc5656_fields() -> None:
    fields = (b"SSH-2.0-c", b"SSH-2.0-s", b"\x14ic", b"\x14is", b"ks", b"qc", b"qs")
    data = b"".join(sshkex.string(f) for f in fields) + sshkex.mpint(0x80)
    for kex, name in (("curve25519-sha256", "sha256"), ("curve25519-sha256@libssh.org",
                                                         "sha256"),
                      ("ecdh-sha2-nistp256", "sha256"), ("ecdh-sha2-nistp384", "sha384"),
                      ("ecdh-sha2-nistp521", "sha512")):
        assert sshkex.exchange_hash(kex, *fields, 0x80) == hashlib.new(name, data).digest()
    with pytest.raises(SshCodecError):
        sshkex.exchange_hash("diffie-hellman-group14-sha256", *fields, 1)


# --- key agreement -------------------------------------------------------------------------

def test_x25519_secret_is_the_output_read_as_an_unsigned_number() -> None:
    ours = sshkex.Agreement("curve25519-sha256")
    peer = x25519.X25519PrivateKey.generate()
    q_s = peer.public_key().public_bytes(serialization.Encoding.Raw,
                                         serialization.PublicFormat.Raw)
    shared = peer.exchange(x25519.X25519PublicKey.from_public_bytes(ours.public))
    assert ours.secret(q_s) == int.from_bytes(shared, "big")


@pytest.mark.parametrize(("kex", "curve"), [("ecdh-sha2-nistp256", ec.SECP256R1()),
                                            ("ecdh-sha2-nistp384", ec.SECP384R1()),
                                            ("ecdh-sha2-nistp521", ec.SECP521R1())])
def test_nist_secret_is_the_shared_x_coordinate(kex: str, curve: ec.EllipticCurve) -> None:
    ours = sshkex.Agreement(kex)
    assert ours.public[0] == 4  # SEC1 uncompressed point (RFC 5656 §4)
    peer = ec.generate_private_key(curve)
    q_s = peer.public_key().public_bytes(serialization.Encoding.X962,
                                         serialization.PublicFormat.UncompressedPoint)
    mine = ec.EllipticCurvePublicKey.from_encoded_point(curve, ours.public)
    assert ours.secret(q_s) == int.from_bytes(peer.exchange(ec.ECDH(), mine), "big")


@pytest.mark.parametrize(("kex", "q_s"), [
    ("curve25519-sha256", bytes(32)),        # a low-order point: all-zero secret
    ("curve25519-sha256", b"\x09" * 31),     # wrong length
    ("ecdh-sha2-nistp256", b"\x04" + bytes(64)),  # not on the curve
    ("ecdh-sha2-nistp384", b""),
])
def test_a_bad_server_key_is_a_codec_error(kex: str, q_s: bytes) -> None:
    with pytest.raises(SshCodecError):
        sshkex.Agreement(kex).secret(q_s)


# --- host keys and signatures --------------------------------------------------------------

def _blob(*fields: bytes) -> bytes:
    return b"".join(map(sshkex.string, fields))


def _ed25519() -> tuple[ed25519.Ed25519PrivateKey, bytes]:
    key = ed25519.Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes(serialization.Encoding.Raw,
                                        serialization.PublicFormat.Raw)
    return key, _blob(b"ssh-ed25519", raw)


def _rsa(bits: int = 2048) -> tuple[rsa.RSAPrivateKey, bytes]:
    key = rsa.generate_private_key(65537, bits)
    numbers = key.public_key().public_numbers()
    return key, sshkex.string(b"ssh-rsa") + sshkex.mpint(numbers.e) + sshkex.mpint(numbers.n)


def _ecdsa(curve_name: str, curve: ec.EllipticCurve) -> tuple[ec.EllipticCurvePrivateKey,
                                                              bytes]:
    key = ec.generate_private_key(curve)
    point = key.public_key().public_bytes(serialization.Encoding.X962,
                                          serialization.PublicFormat.UncompressedPoint)
    return key, _blob(f"ecdsa-sha2-{curve_name}".encode(), curve_name.encode(), point)


def _sign(key: object, algorithm: str, data: bytes) -> bytes:
    if algorithm == "ssh-ed25519":
        raw = key.sign(data)  # type: ignore[attr-defined]
    elif algorithm.startswith("rsa-sha2-"):
        digest = hashes.SHA256() if algorithm.endswith("256") else hashes.SHA512()
        raw = key.sign(data, padding.PKCS1v15(), digest)  # type: ignore[attr-defined]
    else:
        digest = {"nistp256": hashes.SHA256(), "nistp384": hashes.SHA384(),
                  "nistp521": hashes.SHA512()}[algorithm.rsplit("-", 1)[1]]
        r, s = utils.decode_dss_signature(key.sign(data, ec.ECDSA(digest)))  # type: ignore
        raw = sshkex.mpint(r) + sshkex.mpint(s)
    return _blob(algorithm.encode(), raw)


def _keys() -> list[tuple[str, object, bytes]]:
    ed_key, ed_blob = _ed25519()
    rsa_key, rsa_blob = _rsa()
    found = [("ssh-ed25519", ed_key, ed_blob), ("rsa-sha2-256", rsa_key, rsa_blob),
             ("rsa-sha2-512", rsa_key, rsa_blob)]
    for name, curve in (("nistp256", ec.SECP256R1()), ("nistp384", ec.SECP384R1()),
                        ("nistp521", ec.SECP521R1())):
        key, blob = _ecdsa(name, curve)
        found.append((f"ecdsa-sha2-{name}", key, blob))
    return found


KEYS = _keys()


@pytest.mark.parametrize(("algorithm", "key", "blob"), KEYS, ids=[k[0] for k in KEYS])
def test_signatures_verify_and_a_flipped_byte_does_not(algorithm: str, key: object,
                                                       blob: bytes) -> None:
    data = hashlib.sha256(b"exchange hash").digest()
    host_key = sshkex.parse_host_key(blob)
    assert host_key.get_name() == sshkex.HOST_KEY_TYPES[algorithm]
    assert host_key.asbytes() == blob
    signature = _sign(key, algorithm, data)
    sshkex.verify(host_key, algorithm, signature, data)
    with pytest.raises(SshCodecError, match="does not verify"):
        sshkex.verify(host_key, algorithm, signature, data[:-1] + bytes([data[-1] ^ 1]))
    forged = bytearray(signature)
    forged[-3] ^= 0x40
    with pytest.raises(SshCodecError):
        sshkex.verify(host_key, algorithm, bytes(forged), data)


def test_a_signature_in_another_algorithm_than_negotiated_is_refused() -> None:
    _, key, blob = next(k for k in KEYS if k[0] == "rsa-sha2-256")
    data = b"h" * 32
    signature = _sign(key, "rsa-sha2-512", data)
    with pytest.raises(SshCodecError, match="not 'rsa-sha2-256'"):
        sshkex.verify(sshkex.parse_host_key(blob), "rsa-sha2-256", signature, data)
    ed = sshkex.parse_host_key(_ed25519()[1])
    with pytest.raises(SshCodecError, match="not a key for"):
        sshkex.verify(ed, "rsa-sha2-256", signature, data)


def test_an_rsa_signature_without_its_leading_zero_byte_verifies() -> None:
    """RFC 8332 §3: some signers drop the leading zero bytes; a verifier may accept it."""
    _, key, blob = next(k for k in KEYS if k[0] == "rsa-sha2-256")
    for attempt in range(5000):  # about 1 in 256 signatures starts with a zero byte
        data = attempt.to_bytes(4, "big")
        raw = key.sign(data, padding.PKCS1v15(), hashes.SHA256())  # type: ignore
        if raw[0] == 0:
            break
    else:
        pytest.fail("no signature with a leading zero byte in 5000 tries")
    short = _blob(b"rsa-sha2-256", raw.lstrip(b"\x00"))
    sshkex.verify(sshkex.parse_host_key(blob), "rsa-sha2-256", short, data)


@pytest.mark.parametrize("blob", [
    _blob(b"ssh-ed25519", b"short"),
    _blob(b"ssh-rsa") + sshkex.mpint(65537) + sshkex.mpint(2 ** 512 + 1),  # too small
    _blob(b"ssh-rsa") + sshkex.mpint(65536) + sshkex.mpint(2 ** 2047 + 1),  # even e
    _blob(b"ssh-rsa") + sshkex.mpint(2 ** 2000 + 1) + sshkex.mpint(2 ** 2047 + 1),  # huge e
    _blob(b"ssh-rsa") + sshkex.mpint(65537) + sshkex.mpint(2 ** 16400 + 1),  # huge n
    _blob(b"ecdsa-sha2-nistp256", b"nistp384", b"\x04" + bytes(96)),
    _blob(b"ecdsa-sha2-nistp256", b"nistp256", b"\x04" + bytes(64)),  # not on the curve
])
def test_unusable_host_keys_are_codec_errors(blob: bytes) -> None:
    host_key = sshkex.parse_host_key(blob)
    algorithm = {"ssh-ed25519": "ssh-ed25519", "ssh-rsa": "rsa-sha2-256"}.get(
        host_key.key_type, host_key.key_type)
    with pytest.raises(SshCodecError):
        sshkex.verify(host_key, algorithm, _blob(algorithm.encode(), b"x" * 64), b"h")


# --- fuzzing: any bytes give a result or SshCodecError, nothing else -----------------------

@given(st.binary(max_size=2048))
@settings(max_examples=400, deadline=None)
def test_parsers_raise_only_the_codec_error(data: bytes) -> None:
    for parse in (sshkex.identification, sshkex.unframe, sshkex.parse_kexinit,
                  sshkex.parse_ecdh_reply, sshkex.parse_disconnect, sshkex.parse_host_key,
                  sshkex.message_type):
        with contextlib.suppress(SshCodecError):
            parse(data)


@given(st.sampled_from(KEYS), st.binary(max_size=600), st.binary(max_size=300))
@settings(max_examples=200, deadline=None)
def test_verification_raises_only_the_codec_error(key: tuple[str, object, bytes],
                                                  signature: bytes, tail: bytes) -> None:
    algorithm, _, blob = key
    for sig in (signature, _blob(algorithm.encode(), signature),
                _blob(algorithm.encode(), signature) + tail):
        with pytest.raises(SshCodecError):
            sshkex.verify(sshkex.parse_host_key(blob), algorithm, sig, b"h" * 32)
    with contextlib.suppress(SshCodecError):
        sshkex.verify(sshkex.parse_host_key(blob[:4] + tail), algorithm, signature, b"h")


@given(st.sampled_from(sshkex.KEX_METHODS), st.binary(max_size=200))
@settings(max_examples=200, deadline=None)
def test_agreement_raises_only_the_codec_error(kex: str, q_s: bytes) -> None:
    with contextlib.suppress(SshCodecError):
        sshkex.Agreement(kex).secret(q_s)


def test_the_codec_error_is_a_protocol_error() -> None:
    assert issubclass(SshCodecError, ProtocolError)


@given(st.lists(st.integers(min_value=0, max_value=120), max_size=8))
@settings(max_examples=150, deadline=None)
def test_identification_fed_in_pieces_is_the_same(cuts: list[int]) -> None:
    data = b"Hello\r\nthere\n" + b"SSH-2.0-OpenSSH_9.2p1 Debian\r\n" + b"\x00\x00\x00\x1c"
    whole = sshkex.identification(data)
    bounds = [0, *sorted(cuts), len(data)]
    pieces = [data[a:b] for a, b in itertools.pairwise(bounds)]
    reader = sshkex.IdentificationReader()
    index, found = 0, None
    while found is None:
        found = reader.feed(pieces[index])
        index += 1
    assert whole is not None and found == whole
    assert bytes(reader.buffer) + b"".join(pieces[index:]) == data[whole.consumed:]


def test_a_library_without_the_curve_is_not_the_servers_fault(monkeypatch) -> None:
    """An OpenSSL built without X25519 (UnsupportedAlgorithm): NotAvailable, so the probe
    falls back instead of blaming the server."""
    from cryptography.exceptions import UnsupportedAlgorithm

    def missing() -> None:
        raise UnsupportedAlgorithm("X25519 is not supported by this version of OpenSSL")

    monkeypatch.setattr(x25519.X25519PrivateKey, "generate", staticmethod(missing))
    with pytest.raises(sshkex.NotAvailable):
        sshkex.Agreement("curve25519-sha256")
    assert issubclass(sshkex.NotAvailable, SshCodecError)  # fuzzing contract still holds
