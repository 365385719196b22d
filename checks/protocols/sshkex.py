"""The SSH transport layer up to the server's signed key exchange reply: a pure codec.

What ``remote.ssh`` needs to prove a server speaks SSH-2 and owns its host key, without a
login: the identification line (RFC 4253 §4.2), the unencrypted binary packet (§6),
SSH_MSG_KEXINIT and algorithm negotiation (§7.1), the elliptic-curve key exchange messages
and exchange hash (RFC 5656 §4, RFC 8731), the host key blobs and their signatures over
the hash (RFC 8709 Ed25519, RFC 5656 §3 ECDSA, RFC 8332 RSA with SHA-2) and
SSH_MSG_DISCONNECT. Bytes in, bytes or typed values out: no sockets, no clock. Every
malformed input raises :class:`SshCodecError`, whatever the bytes.

Not covered: anything after the key exchange reply (NEWKEYS, encryption, authentication),
finite-field Diffie-Hellman and post-quantum hybrids, host certificates. A caller that meets
those falls back to a full SSH library.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from . import ByteReader, ProtocolError

MSG_DISCONNECT, MSG_IGNORE, MSG_UNIMPLEMENTED, MSG_DEBUG, MSG_KEXINIT, MSG_NEWKEYS = \
    1, 2, 3, 4, 20, 21
MSG_KEX_ECDH_INIT, MSG_KEX_ECDH_REPLY = 30, 31
SKIPPABLE = frozenset({MSG_IGNORE, MSG_UNIMPLEMENTED, MSG_DEBUG})
"""Messages a peer may send at any time that carry nothing for the key exchange."""

DISCONNECT_BY_APPLICATION = 11

MAX_PACKET = 35000
"""Largest packet (length field included) accepted: RFC 4253 §6.1's minimum every
implementation must handle. More is refused rather than buffered."""
MAX_IDENT_LINE = 255
"""RFC 4253 §4.2: the identification line, CR LF included."""
MAX_OTHER_LINE, MAX_PRE_IDENT = 1024, 16384
"""Longest greeting line, and most greeting bytes, accepted before the identification."""

KEX_HASHES = {"curve25519-sha256": "sha256", "curve25519-sha256@libssh.org": "sha256",
              "ecdh-sha2-nistp256": "sha256", "ecdh-sha2-nistp384": "sha384",
              "ecdh-sha2-nistp521": "sha512"}
"""Key exchange methods implemented here, and their hash (RFC 5656 §6.2.1, RFC 8731 §3)."""
KEX_METHODS = tuple(KEX_HASHES)

HOST_KEY_TYPES = {**{name: name for name in ("ssh-ed25519", "ecdsa-sha2-nistp256",
                                              "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521")},
                  "rsa-sha2-512": "ssh-rsa", "rsa-sha2-256": "ssh-rsa"}
"""Host key algorithms whose signatures are verified here, and the key blob type each
signs with (RFC 8332: the rsa-sha2 algorithms use "ssh-rsa" keys)."""

_NAME_BYTES = bytes(range(0x21, 0x7F))  # printable US-ASCII without space
_CURVES = {"nistp256": ("SECP256R1", "sha256"), "nistp384": ("SECP384R1", "sha384"),
           "nistp521": ("SECP521R1", "sha512")}


class SshCodecError(ProtocolError):
    """The bytes are not what SSH allows here (the message says what and where)."""


class NotAvailable(SshCodecError):
    """This machine's cryptography library cannot do what the server chose (an OpenSSL
    built without a curve): no fault of the server's; a caller falls back."""


# --- primitive types (RFC 4251 §5) ---------------------------------------------------------

def uint32(value: int) -> bytes:
    """``uint32``: four bytes, big-endian."""
    return struct.pack(">I", value)


def string(data: bytes) -> bytes:
    """``string``: a uint32 length, then the bytes."""
    return uint32(len(data)) + data


def name_list(names: Sequence[str]) -> bytes:
    """``name-list``: the names, comma-separated, as a string."""
    return string(",".join(names).encode("ascii"))


def mpint(value: int) -> bytes:
    """``mpint``: two's complement, big-endian, fewest bytes; zero is the empty string."""
    if value == 0:
        return string(b"")
    # one spare bit for the sign: a positive number whose top bit is set gets a 0x00 byte
    length = (value.bit_length() + 8) // 8 if value > 0 else ((~value).bit_length() + 8) // 8
    return string(value.to_bytes(length, "big", signed=True))


class Reader(ByteReader):
    """Reads SSH's types from ``data`` in order; any overrun raises SshCodecError."""

    error = SshCodecError

    def short(self, count: int) -> SshCodecError:
        """The error for wanting ``count`` bytes when fewer are left."""
        return SshCodecError(f"{self.what} ends early (at byte {self.offset}, "
                             f"{count} more wanted)")

    def string(self) -> bytes:
        """``string``."""
        return self.take(self.u32())

    def name_list(self) -> tuple[str, ...]:
        """``name-list``: printable US-ASCII names without commas, none empty."""
        raw = self.string()
        if not raw:
            return ()
        if raw.translate(None, _NAME_BYTES):  # in C: a byte-by-byte loop costs 0.2 ms
            raise SshCodecError(f"{self.what}: a name-list holds a byte that is not "
                                "printable US-ASCII")
        names = tuple(raw.decode("ascii").split(","))
        if "" in names:
            raise SshCodecError(f"{self.what}: a name-list holds an empty name")
        return names

    def mpint(self) -> int:
        """``mpint``, signed."""
        return int.from_bytes(self.string(), "big", signed=True)

    def end(self) -> None:
        """Nothing may follow."""
        if self.remaining:
            raise SshCodecError(f"{self.what} has {self.remaining} bytes too many")


# --- identification line and packets (RFC 4253 §4.2, §6) ----------------------------------

@dataclass(frozen=True)
class Identification:
    """The peer's identification line (``line``: as bytes, without CR LF)."""

    line: bytes
    protocol: str
    software: str
    comments: str
    consumed: int
    """Bytes of the input up to and including the line's end (earlier lines included)."""

    @property
    def text(self) -> str:
        """The line as text (undecodable bytes replaced)."""
        return self.line.decode("utf-8", "replace")


def identification(data: bytes) -> Identification | None:
    """The identification line at the start of ``data``, or None while it is incomplete.

    Lines before it that do not start with "SSH-" are skipped (RFC 4253 §4.2 allows a
    greeting); protocol "2.0" and "1.99" are accepted. Raises SshCodecError for an SSH-1
    server, an overlong line or greeting, or a malformed line.
    """
    return IdentificationReader().feed(data)


class IdentificationReader:
    """:func:`identification` for bytes that arrive in pieces: each greeting line is
    looked at once, however the peer splits its bytes (a trickle costs no more CPU)."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.skipped = 0
        """Bytes of greeting lines already passed."""

    def feed(self, data: bytes) -> Identification | None:
        """Add ``data``; the identification line once it is complete (``consumed``
        counts every byte fed up to its end; :attr:`buffer` then holds what follows)."""
        self.buffer += data
        while True:
            end = self.buffer.find(b"\n")
            line = bytes(self.buffer if end < 0 else self.buffer[:end])
            is_ident = line.startswith(b"SSH-") or (end < 0 and b"SSH-".startswith(line))
            limit = MAX_IDENT_LINE if is_ident else MAX_OTHER_LINE
            if len(line) + 1 > limit:
                what = "identification line" if is_ident else "greeting has a line"
                raise SshCodecError(f"the server's {what} longer than {limit} bytes")
            if end < 0:
                return None
            del self.buffer[:end + 1]
            if is_ident:
                return _ident_line(line.removesuffix(b"\r"), self.skipped + end + 1)
            self.skipped += end + 1
            if self.skipped > MAX_PRE_IDENT:
                raise SshCodecError(f"the server sent more than {MAX_PRE_IDENT} bytes "
                                    "before its identification line")


def _ident_line(line: bytes, consumed: int) -> Identification:
    if b"\x00" in line:
        raise SshCodecError("the identification line holds a NUL byte")
    text = line.decode("utf-8", "replace")
    main, _, comments = text.partition(" ")
    parts = main.split("-", 2)
    if len(parts) != 3 or not parts[2]:
        raise SshCodecError(f"malformed identification line {text[:80]!r}")
    if parts[1] not in ("2.0", "1.99"):
        raise SshCodecError(f"the server speaks SSH protocol {parts[1][:20]} only "
                            "(2.0 wanted)")
    return Identification(line, parts[1], parts[2], comments, consumed)


def frame(payload: bytes, fill: bytes = b"") -> bytes:
    """``payload`` as an unencrypted binary packet: length, padding length, payload,
    padding of 4..11 bytes so the total is a multiple of 8. The padding is taken from
    ``fill`` (zero bytes where it is short; random padding buys nothing in the clear)."""
    if not payload:
        raise SshCodecError("a packet needs at least a message number")
    pad = 8 - (5 + len(payload)) % 8
    pad += 8 if pad < 4 else 0
    if 5 + len(payload) + pad > MAX_PACKET:
        raise SshCodecError(f"a payload of {len(payload)} bytes does not fit in a packet")
    padding = (fill[:pad]).ljust(pad, b"\x00")
    return uint32(1 + len(payload) + pad) + bytes([pad]) + payload + padding


def unframe(data: bytes | bytearray) -> tuple[bytes, int] | None:
    """The first packet's payload in ``data`` and the bytes it took, or None while the
    packet is incomplete. Raises SshCodecError for a length out of bounds or bad padding."""
    if len(data) < 5:
        return None
    length = int.from_bytes(data[:4], "big")
    if length + 4 > MAX_PACKET:
        raise SshCodecError(f"the server announced a packet of {length} bytes (more than "
                            f"{MAX_PACKET})")
    if length < 12 or (length + 4) % 8:
        raise SshCodecError(f"packet length {length} is not a valid unencrypted packet "
                            "(at least 16 bytes in all, a multiple of 8)")
    pad = data[4]
    if pad < 4 or pad > length - 2:
        raise SshCodecError(f"packet padding of {pad} bytes in a packet of {length}")
    if len(data) < 4 + length:
        return None
    return bytes(data[5:4 + length - pad]), 4 + length


def message_type(payload: bytes) -> int:
    """The message number (the payload's first byte)."""
    return Reader(payload, "a packet").u8()


# --- messages ----------------------------------------------------------------------------

@dataclass(frozen=True)
class KexInit:
    """SSH_MSG_KEXINIT (RFC 4253 §7.1): the sender's algorithms, each list in its order of
    preference; ``*_c2s``/``*_s2c`` are client-to-server and server-to-client."""

    cookie: bytes
    kex: tuple[str, ...]
    host_key: tuple[str, ...]
    cipher_c2s: tuple[str, ...]
    cipher_s2c: tuple[str, ...]
    mac_c2s: tuple[str, ...]
    mac_s2c: tuple[str, ...]
    compression_c2s: tuple[str, ...]
    compression_s2c: tuple[str, ...]
    language_c2s: tuple[str, ...] = ()
    language_s2c: tuple[str, ...] = ()
    first_kex_follows: bool = False
    reserved: int = 0

    def build(self) -> bytes:
        """The message's payload."""
        if len(self.cookie) != 16:
            raise SshCodecError("a KEXINIT cookie is 16 bytes")
        lists = (self.kex, self.host_key, self.cipher_c2s, self.cipher_s2c, self.mac_c2s,
                 self.mac_s2c, self.compression_c2s, self.compression_s2c,
                 self.language_c2s, self.language_s2c)
        return (bytes([MSG_KEXINIT]) + self.cookie + b"".join(map(name_list, lists))
                + bytes([self.first_kex_follows]) + uint32(self.reserved))


def parse_kexinit(payload: bytes) -> KexInit:
    """Parse SSH_MSG_KEXINIT's payload (message number included)."""
    read = Reader(payload, "the server's KEXINIT")
    if read.u8() != MSG_KEXINIT:
        raise SshCodecError(f"expected KEXINIT (20), got message {payload[0]}")
    cookie = read.take(16)
    lists = [read.name_list() for _ in range(10)]
    follows = read.u8() != 0  # boolean: any non-zero byte is true (RFC 4251 §5)
    reserved = read.u32()
    # RFC 4253 §7.1 leaves room for extension after "reserved": do not insist on the end
    return KexInit(cookie, *lists, first_kex_follows=follows, reserved=reserved)


def negotiate(client: Sequence[str], server: Sequence[str]) -> str | None:
    """RFC 4253 §7.1: the first of the client's algorithms the server also lists."""
    offered = set(server)
    return next((name for name in client if name in offered), None)


def guess_was_wrong(client: KexInit, server: KexInit) -> bool:
    """Whether the server's "first_kex_packet_follows" packet must be ignored: its guess
    (its first kex and host key algorithm) is not what negotiation chose (RFC 4253 §7)."""
    return server.first_kex_follows and (client.kex[:1] != server.kex[:1]
                                         or client.host_key[:1] != server.host_key[:1])


def ecdh_init(q_c: bytes) -> bytes:
    """SSH_MSG_KEX_ECDH_INIT's payload: the client's ephemeral public key."""
    return bytes([MSG_KEX_ECDH_INIT]) + string(q_c)


@dataclass(frozen=True)
class EcdhReply:
    """SSH_MSG_KEX_ECDH_REPLY: host key blob K_S, ephemeral key Q_S, signature over H."""

    host_key: bytes
    q_s: bytes
    signature: bytes

    def build(self) -> bytes:
        """The message's payload (for tests and simulators)."""
        return (bytes([MSG_KEX_ECDH_REPLY]) + string(self.host_key) + string(self.q_s)
                + string(self.signature))


def parse_ecdh_reply(payload: bytes) -> EcdhReply:
    """Parse SSH_MSG_KEX_ECDH_REPLY's payload (message number included)."""
    read = Reader(payload, "the server's KEX_ECDH_REPLY")
    if read.u8() != MSG_KEX_ECDH_REPLY:
        raise SshCodecError(f"expected KEX_ECDH_REPLY (31), got message {payload[0]}")
    reply = EcdhReply(read.string(), read.string(), read.string())
    read.end()
    return reply


@dataclass(frozen=True)
class Disconnect:
    """SSH_MSG_DISCONNECT: a reason code and the peer's description."""

    reason: int
    description: str
    language: str = ""

    def build(self) -> bytes:
        """The message's payload."""
        return (bytes([MSG_DISCONNECT]) + uint32(self.reason)
                + string(self.description.encode("utf-8"))
                + string(self.language.encode("ascii", "replace")))


def parse_disconnect(payload: bytes) -> Disconnect:
    """Parse SSH_MSG_DISCONNECT's payload; the texts are decoded, bad UTF-8 replaced."""
    read = Reader(payload, "the server's DISCONNECT")
    if read.u8() != MSG_DISCONNECT:
        raise SshCodecError(f"expected DISCONNECT (1), got message {payload[0]}")
    reason = read.u32()
    description = read.string().decode("utf-8", "replace")
    # the language tag is missing in some old servers' messages: accept its absence
    language = read.string().decode("ascii", "replace") if read.remaining else ""
    return Disconnect(reason, description, language)


def exchange_hash(kex: str, v_c: bytes, v_s: bytes, i_c: bytes, i_s: bytes, k_s: bytes,
                  q_c: bytes, q_s: bytes, k: int) -> bytes:
    """H of RFC 5656 §4 (and RFC 8731 §3): the hash of ``kex`` over the identification
    lines (without CR LF), both KEXINIT payloads, the host key blob, both ephemeral keys
    and the shared secret ``k`` as an mpint."""
    if kex not in KEX_HASHES:
        raise SshCodecError(f"no exchange hash for key exchange {kex!r}")
    data = b"".join(map(string, (v_c, v_s, i_c, i_s, k_s, q_c, q_s))) + mpint(k)
    return hashlib.new(KEX_HASHES[kex], data).digest()


# --- key agreement and host keys (through the cryptography package) -----------------------

class Agreement:
    """Our half of one ECDH key exchange: ``public`` is Q_C; :meth:`secret` gives K."""

    def __init__(self, kex: str) -> None:
        from cryptography.exceptions import UnsupportedAlgorithm

        if kex not in KEX_HASHES:
            raise SshCodecError(f"key exchange {kex!r} is not implemented here")
        self.kex = kex
        try:
            self._generate()
        except UnsupportedAlgorithm as exc:
            raise NotAvailable(f"{kex}: {exc}") from None

    def _generate(self) -> None:
        from cryptography.hazmat.primitives.asymmetric import ec, x25519
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        if self.kex.startswith("curve25519"):
            self._private = x25519.X25519PrivateKey.generate()
            self.public = self._private.public_key().public_bytes(Encoding.Raw,
                                                                  PublicFormat.Raw)
        else:
            self._curve = getattr(ec, _CURVES[self.kex.rsplit("-", 1)[1]][0])()
            self._private = ec.generate_private_key(self._curve)
            self.public = self._private.public_key().public_bytes(
                Encoding.X962, PublicFormat.UncompressedPoint)

    def secret(self, q_s: bytes) -> int:
        """K from the server's ephemeral key Q_S: X25519's 32 bytes read as an unsigned
        big-endian number (RFC 8731 §3.1), or the shared point's x coordinate."""
        from cryptography.hazmat.primitives.asymmetric import ec, x25519

        try:
            if self.kex.startswith("curve25519"):
                if len(q_s) != 32:
                    raise SshCodecError(f"the server's X25519 key is {len(q_s)} bytes, "
                                        "not 32")
                shared = self._private.exchange(x25519.X25519PublicKey.from_public_bytes(q_s))
            else:
                peer = ec.EllipticCurvePublicKey.from_encoded_point(self._curve, q_s)
                shared = self._private.exchange(ec.ECDH(), peer)
        except SshCodecError:
            raise
        except (ValueError, TypeError) as exc:
            raise SshCodecError(f"the server's ephemeral key is not valid: {exc}") from None
        if not any(shared):  # RFC 8731 §3: an all-zero secret MUST be refused
            raise SshCodecError("the server's ephemeral key gives an all-zero secret")
        return int.from_bytes(shared, "big")


@dataclass(frozen=True)
class HostKey:
    """A server's public host key: its type (``get_name``) and SSH blob, as the
    known_hosts check reads a paramiko key."""

    key_type: str
    blob: bytes

    def get_name(self) -> str:
        """The key type, e.g. "ssh-ed25519" or "ssh-rsa"."""
        return self.key_type

    def asbytes(self) -> bytes:
        """The key blob as the server sent it."""
        return self.blob

    def get_base64(self) -> str:
        """The blob in base64, as in known_hosts."""
        return base64.b64encode(self.blob).decode("ascii")


def parse_host_key(blob: bytes) -> HostKey:
    """Read the type of the host key ``blob`` (any type; its fields are read on
    verification)."""
    read = Reader(blob, "the server's host key")
    try:
        key_type = read.string().decode("ascii")
    except UnicodeDecodeError:
        raise SshCodecError("the server's host key type is not ASCII") from None
    if not key_type:
        raise SshCodecError("the server's host key has no type")
    return HostKey(key_type, bytes(blob))


def _public_key(key: HostKey) -> Any:  # an Ed25519, RSA or EC public key
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    read = Reader(key.blob, f"the server's {key.key_type} host key")
    read.string()
    if key.key_type == "ssh-ed25519":
        raw = read.string()
        read.end()
        if len(raw) != 32:
            raise SshCodecError("an Ed25519 host key is 32 bytes")
        return ed25519.Ed25519PublicKey.from_public_bytes(raw)
    if key.key_type == "ssh-rsa":
        e, n = read.mpint(), read.mpint()
        read.end()
        # bounds as OpenSSH's: 1024..16384-bit modulus; a small odd exponent (a huge one
        # would make verifying cost seconds of CPU)
        if not (3 <= e < 2 ** 64 and e & 1 and 1024 <= n.bit_length() <= 16384):
            raise SshCodecError("the RSA host key is not usable (exponent or modulus size)")
        return rsa.RSAPublicNumbers(e, n).public_key()
    curve = read.string().decode("ascii", "replace")
    point = read.string()
    read.end()
    if key.key_type != f"ecdsa-sha2-{curve}" or curve not in _CURVES:
        raise SshCodecError(f"the {key.key_type} host key names curve {curve[:20]!r}")
    return ec.EllipticCurvePublicKey.from_encoded_point(getattr(ec, _CURVES[curve][0])(),
                                                        point)


def verify(key: HostKey, algorithm: str, signature: bytes, data: bytes) -> None:
    """Check the server's ``signature`` blob (string format, string signature) over
    ``data`` with host key ``key``, as host key ``algorithm`` signs. Raises SshCodecError
    when it does not verify, names another algorithm, or the key is not that algorithm's."""
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, utils

    if HOST_KEY_TYPES.get(algorithm) != key.key_type:
        raise SshCodecError(f"the host key is {key.key_type!r}, not a key for "
                            f"{algorithm!r} as negotiated")
    read = Reader(signature, "the server's signature")
    name = read.string().decode("ascii", "replace")
    raw = read.string()
    read.end()
    if name != algorithm:
        raise SshCodecError(f"the server signed with {name[:40]!r}, not {algorithm!r} as "
                            "negotiated")
    try:
        public = _public_key(key)
        if algorithm == "ssh-ed25519":
            public.verify(raw, data)
        elif algorithm.startswith("rsa-sha2-"):
            size = (public.key_size + 7) // 8
            if len(raw) > size:
                raise SshCodecError("the RSA signature is longer than the key")
            # RFC 8332 §3: as long as the modulus, but some signers drop leading zeros
            # and a verifier may accept that: pad them back
            digest = hashes.SHA256() if algorithm == "rsa-sha2-256" else hashes.SHA512()
            public.verify(raw.rjust(size, b"\x00"), data, padding.PKCS1v15(), digest)
        else:
            parts = Reader(raw, "the server's ECDSA signature")
            r, s = parts.mpint(), parts.mpint()
            parts.end()
            if r <= 0 or s <= 0:
                raise SshCodecError("the ECDSA signature has a zero or negative part")
            digest = getattr(hashes, _CURVES[algorithm.rsplit("-", 1)[1]][1].upper())()
            public.verify(utils.encode_dss_signature(r, s), data, ec.ECDSA(digest))
    except InvalidSignature:
        raise SshCodecError(f"the server's {algorithm} signature over the exchange hash "
                            "does not verify") from None
    except UnsupportedAlgorithm as exc:
        raise NotAvailable(f"{algorithm}: {exc}") from None
    except SshCodecError:  # ours, already worded (it is a ValueError too)
        raise
    except (ValueError, TypeError, OverflowError) as exc:
        raise SshCodecError(f"the server's {key.key_type} host key is not valid: "
                            f"{exc}") from None
