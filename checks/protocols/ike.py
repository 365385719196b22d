"""IKE probe codec: first messages of IKEv2 (RFC 7296) and IKEv1 Main Mode (RFC 2408/2409).

The Windows VPN checks send one message that looks like what the Windows built-in client
sends, and classify whatever comes back. Any well-formed reply proves an IKE responder:
an SA, ``NO_PROPOSAL_CHOSEN``, ``INVALID_KE_PAYLOAD`` or a ``COOKIE`` demand all do.

* :func:`build_ikev2_sa_init`: IKE_SA_INIT with one proposal: ENCR AES-CBC-256,
  AES-CBC-128, 3DES; PRF HMAC-SHA2-256, HMAC-SHA1; INTEG HMAC-SHA2-256-128, HMAC-SHA1-96;
  DH MODP2048 (14) and MODP1024 (2), a KE payload for the chosen group and a nonce.
  Windows clients propose MODP1024 only unless told otherwise, so a gateway set up for
  them may answer ``INVALID_KE_PAYLOAD`` naming group 2; the caller can retry with
  ``dh_group=2`` (the reply already proves the responder is there).
* :func:`build_ikev1_main_mode`: Main Mode message 1 as an L2TP/IPsec client sends it:
  AES-256/AES-128/3DES x SHA2-256/SHA1 x MODP2048/MODP1024, pre-shared key, 8 hours,
  plus the vendor IDs Windows announces.
* :func:`add_non_esp_marker` / :func:`strip_non_esp_marker`: framing on UDP 4500 (RFC 3948).
* :func:`parse_ike_reply`: header plus a bounded walk of the payload chain, for either
  version; decodes the chosen transforms, notifies and vendor IDs.

Every problem in bytes from the peer raises :class:`IkeParseError` and nothing else.
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from . import ByteReader, ProtocolError

__all__ = [
    "IKE_PORT",
    "KNOWN_VENDOR_IDS",
    "MAX_PAYLOADS",
    "MODP_KE_LENGTHS",
    "NAT_T_PORT",
    "NON_ESP_MARKER",
    "WINDOWS_MAIN_MODE_VIDS",
    "WINDOWS_VID_VERSIONS",
    "IkeHeader",
    "IkeParseError",
    "IkeReply",
    "Notify",
    "Proposal",
    "Transform",
    "VendorId",
    "add_non_esp_marker",
    "build_ikev1_main_mode",
    "build_ikev2_sa_init",
    "identify_vendor_id",
    "matches_request",
    "new_sa_init_inputs",
    "notify_name",
    "parse_ike_reply",
    "strip_non_esp_marker",
]

IKE_PORT = 500
NAT_T_PORT = 4500
NON_ESP_MARKER = b"\0\0\0\0"
"""Four zero bytes in front of IKE on UDP 4500, where an ESP packet has its non-zero SPI."""

MAX_PAYLOADS = 64
"""Most payloads (and, separately, proposals) walked in one message; real ones carry ~10."""

HEADER_LENGTH = 28
MAX_MESSAGE_LENGTH = 65535

MODP_KE_LENGTHS: dict[int, int] = {1: 96, 2: 128, 5: 192, 14: 256, 15: 384, 16: 512}
"""Key Exchange data length in bytes for the MODP groups :func:`build_ikev2_sa_init` takes."""


class IkeParseError(ProtocolError):
    """The bytes are not a well-formed IKEv1 or IKEv2 message."""


# --------------------------------------------------------------------------- registries
# Numbers from the IANA "IKEv2 Parameters" and "IPSEC/ISAKMP" registries.

_V1_EXCHANGES = {
    0: "NONE",
    1: "Base",
    2: "Identity Protection (Main Mode)",
    3: "Authentication Only",
    4: "Aggressive",
    5: "Informational",
    6: "Transaction (Mode-CFG)",
    32: "Quick Mode",
    33: "New Group Mode",
}
_V2_EXCHANGES = {
    34: "IKE_SA_INIT",
    35: "IKE_AUTH",
    36: "CREATE_CHILD_SA",
    37: "INFORMATIONAL",
    38: "IKE_SESSION_RESUME",
    43: "IKE_INTERMEDIATE",
}
_V1_PAYLOADS = {
    1: "SA", 2: "P", 3: "T", 4: "KE", 5: "ID", 6: "CERT", 7: "CR", 8: "HASH", 9: "SIG",
    10: "NONCE", 11: "N", 12: "D", 13: "VID", 14: "ATTR", 20: "NAT-D", 21: "NAT-OA",
    130: "NAT-D (draft)", 131: "NAT-OA (draft)", 132: "FRAG",
}  # fmt: skip
_V2_PAYLOADS = {
    33: "SA", 34: "KE", 35: "IDi", 36: "IDr", 37: "CERT", 38: "CERTREQ", 39: "AUTH",
    40: "Nonce", 41: "Notify", 42: "Delete", 43: "Vendor ID", 44: "TSi", 45: "TSr",
    46: "SK", 47: "CP", 48: "EAP", 53: "SKF",
}  # fmt: skip

_V1_NOTIFIES = {
    1: "INVALID-PAYLOAD-TYPE", 2: "DOI-NOT-SUPPORTED", 3: "SITUATION-NOT-SUPPORTED",
    4: "INVALID-COOKIE", 5: "INVALID-MAJOR-VERSION", 6: "INVALID-MINOR-VERSION",
    7: "INVALID-EXCHANGE-TYPE", 8: "INVALID-FLAGS", 9: "INVALID-MESSAGE-ID",
    10: "INVALID-PROTOCOL-ID", 11: "INVALID-SPI", 12: "INVALID-TRANSFORM-ID",
    13: "ATTRIBUTES-NOT-SUPPORTED", 14: "NO-PROPOSAL-CHOSEN", 15: "BAD-PROPOSAL-SYNTAX",
    16: "PAYLOAD-MALFORMED", 17: "INVALID-KEY-INFORMATION", 18: "INVALID-ID-INFORMATION",
    19: "INVALID-CERT-ENCODING", 20: "INVALID-CERTIFICATE", 21: "CERT-TYPE-UNSUPPORTED",
    22: "INVALID-CERT-AUTHORITY", 23: "INVALID-HASH-INFORMATION", 24: "AUTHENTICATION-FAILED",
    25: "INVALID-SIGNATURE", 26: "ADDRESS-NOTIFICATION", 27: "NOTIFY-SA-LIFETIME",
    28: "CERTIFICATE-UNAVAILABLE", 29: "UNSUPPORTED-EXCHANGE-TYPE",
    30: "UNEQUAL-PAYLOAD-LENGTHS",
    9101: "CHECKPOINT-PRIVATE-9101", 9110: "CHECKPOINT-PRIVATE-9110",
    16384: "CONNECTED", 24576: "RESPONDER-LIFETIME", 24577: "REPLAY-STATUS",
    24578: "INITIAL-CONTACT", 36136: "R-U-THERE", 36137: "R-U-THERE-ACK",
}  # fmt: skip
_V2_NOTIFIES = {
    1: "UNSUPPORTED_CRITICAL_PAYLOAD", 4: "INVALID_IKE_SPI", 5: "INVALID_MAJOR_VERSION",
    7: "INVALID_SYNTAX", 9: "INVALID_MESSAGE_ID", 11: "INVALID_SPI",
    14: "NO_PROPOSAL_CHOSEN", 17: "INVALID_KE_PAYLOAD", 24: "AUTHENTICATION_FAILED",
    34: "SINGLE_PAIR_REQUIRED", 35: "NO_ADDITIONAL_SAS", 36: "INTERNAL_ADDRESS_FAILURE",
    37: "FAILED_CP_REQUIRED", 38: "TS_UNACCEPTABLE", 39: "INVALID_SELECTORS",
    43: "TEMPORARY_FAILURE", 44: "CHILD_SA_NOT_FOUND",
    16384: "INITIAL_CONTACT", 16385: "SET_WINDOW_SIZE", 16386: "ADDITIONAL_TS_POSSIBLE",
    16387: "IPCOMP_SUPPORTED", 16388: "NAT_DETECTION_SOURCE_IP",
    16389: "NAT_DETECTION_DESTINATION_IP", 16390: "COOKIE", 16391: "USE_TRANSPORT_MODE",
    16392: "HTTP_CERT_LOOKUP_SUPPORTED", 16393: "REKEY_SA",
    16394: "ESP_TFC_PADDING_NOT_SUPPORTED", 16395: "NON_FIRST_FRAGMENTS_ALSO",
    16396: "MOBIKE_SUPPORTED", 16404: "MULTIPLE_AUTH_SUPPORTED",
    16405: "ANOTHER_AUTH_FOLLOWS", 16406: "REDIRECT_SUPPORTED", 16407: "REDIRECT",
    16417: "EAP_ONLY_AUTHENTICATION", 16418: "CHILDLESS_IKEV2_SUPPORTED",
    16419: "QUICK_CRASH_DETECTION", 16430: "IKEV2_FRAGMENTATION_SUPPORTED",
    16431: "SIGNATURE_HASH_ALGORITHMS", 16435: "USE_PPK",
    16438: "INTERMEDIATE_EXCHANGE_SUPPORTED",
}  # fmt: skip

# IKEv2 transform types and IDs (RFC 7296 section 3.3.2 and the IANA registry).
_ENCR, _PRF, _INTEG, _DH, _ESN = 1, 2, 3, 4, 5
_V2_TRANSFORM_TYPES = {_ENCR: "ENCR", _PRF: "PRF", _INTEG: "INTEG", _DH: "DH", _ESN: "ESN"}
_V2_ENCR = {
    1: "DES_IV64", 2: "DES", 3: "3DES", 4: "RC5", 5: "IDEA", 6: "CAST", 7: "BLOWFISH",
    8: "3IDEA", 9: "DES_IV32", 11: "NULL", 12: "AES_CBC", 13: "AES_CTR", 14: "AES_CCM_8",
    15: "AES_CCM_12", 16: "AES_CCM_16", 18: "AES_GCM_8", 19: "AES_GCM_12", 20: "AES_GCM_16",
    21: "NULL_AUTH_AES_GMAC", 23: "CAMELLIA_CBC", 24: "CAMELLIA_CTR",
    28: "CHACHA20_POLY1305",
}  # fmt: skip
_V2_PRF = {
    1: "HMAC_MD5", 2: "HMAC_SHA1", 3: "HMAC_TIGER", 4: "AES128_XCBC", 5: "HMAC_SHA2_256",
    6: "HMAC_SHA2_384", 7: "HMAC_SHA2_512", 8: "AES128_CMAC",
}  # fmt: skip
_V2_INTEG = {
    0: "NONE", 1: "HMAC_MD5_96", 2: "HMAC_SHA1_96", 3: "DES_MAC", 4: "KPDK_MD5",
    5: "AES_XCBC_96", 6: "HMAC_MD5_128", 7: "HMAC_SHA1_160", 8: "AES_CMAC_96",
    9: "AES_128_GMAC", 10: "AES_192_GMAC", 11: "AES_256_GMAC", 12: "HMAC_SHA2_256_128",
    13: "HMAC_SHA2_384_192", 14: "HMAC_SHA2_512_256",
}  # fmt: skip
# IKEv2 DH transform IDs and IKEv1 Group Descriptions share one numbering.
_DH_GROUPS = {
    0: "NONE", 1: "MODP768", 2: "MODP1024", 5: "MODP1536", 14: "MODP2048", 15: "MODP3072",
    16: "MODP4096", 17: "MODP6144", 18: "MODP8192", 19: "ECP256", 20: "ECP384",
    21: "ECP521", 22: "MODP1024_S160", 23: "MODP2048_S224", 24: "MODP2048_S256",
    25: "ECP192", 26: "ECP224", 27: "BRAINPOOL224", 28: "BRAINPOOL256",
    29: "BRAINPOOL384", 30: "BRAINPOOL512", 31: "CURVE25519", 32: "CURVE448",
}  # fmt: skip
_V2_ESN = {0: "NO_ESN", 1: "ESN"}
_V2_TRANSFORM_IDS = {
    _ENCR: _V2_ENCR,
    _PRF: _V2_PRF,
    _INTEG: _V2_INTEG,
    _DH: _DH_GROUPS,
    _ESN: _V2_ESN,
}

# IKEv1 phase 1 attributes (RFC 2409 appendix A).
_A_ENC, _A_HASH, _A_AUTH, _A_GROUP = 1, 2, 3, 4
_A_LIFE_TYPE, _A_LIFE_DURATION, _A_KEY_LENGTH = 11, 12, 14
_V1_ENCR = {1: "DES_CBC", 2: "IDEA_CBC", 3: "BLOWFISH_CBC", 4: "RC5_R16_B64_CBC",
            5: "3DES_CBC", 6: "CAST_CBC", 7: "AES_CBC", 8: "CAMELLIA_CBC"}  # fmt: skip
_V1_HASH = {1: "MD5", 2: "SHA1", 3: "TIGER", 4: "SHA2_256", 5: "SHA2_384", 6: "SHA2_512"}
_V1_AUTH = {1: "PSK", 2: "DSS_SIG", 3: "RSA_SIG", 4: "RSA_ENC", 5: "RSA_REV_ENC",
            64221: "HYBRID_INIT_RSA", 64222: "HYBRID_RESP_RSA",
            65001: "XAUTH_INIT_PSK", 65002: "XAUTH_RESP_PSK",
            65005: "XAUTH_INIT_RSA", 65006: "XAUTH_RESP_RSA"}  # fmt: skip
_V1_ATTRIBUTE_KINDS = {
    _A_ENC: ("ENCR", _V1_ENCR),
    _A_HASH: ("HASH", _V1_HASH),
    _A_AUTH: ("AUTH", _V1_AUTH),
    _A_GROUP: ("DH", _DH_GROUPS),
}

_PROTOCOLS = {1: "IKE", 2: "AH", 3: "ESP"}

# Payload type numbers used below.
_V1_SA, _V1_KE, _V1_NONCE, _V1_NOTIFY, _V1_VID = 1, 4, 10, 11, 13
_V2_SA, _V2_KE, _V2_NONCE, _V2_NOTIFY, _V2_VID = 33, 34, 40, 41, 43
_V2_ENCRYPTED = frozenset({46, 53})  # SK and SKF: what follows inside is ciphertext

_V2_FLAG_INITIATOR = 0x08
_V2_FLAG_RESPONSE = 0x20
_V1_FLAG_ENCRYPTED = 0x01
_EXCHANGE_V1_INFORMATIONAL = 5
_EXCHANGE_V1_MAIN = 2
_EXCHANGE_V2_SA_INIT = 34

_NOTIFY_INVALID_KE = 17
_NOTIFY_COOKIE = 16390
_STATUS_NOTIFY_MIN = 16384  # below: error types; from here: status types (both versions)


# --------------------------------------------------------------------------- vendor IDs


def _md5(text: str) -> bytes:
    """MD5 of an ASCII string: most vendor IDs are exactly that."""
    return hashlib.md5(text.encode("ascii"), usedforsecurity=False).digest()


_MS_NT5_VID = _md5("MS NT5 ISAKMPOAKLEY")
_CHECKPOINT_VID = bytes.fromhex("f4ed19e0c114eb516faaac0ee37daf2807b4381f")

WINDOWS_VID_VERSIONS: dict[int, str] = {
    2: "Windows 2000",
    3: "Windows XP SP1",
    4: "Windows Server 2003 or XP SP2",
    5: "Windows Vista",
    6: "Windows Server 2008",
    7: "Windows 7",
    8: "Windows Server 2008 R2",
    9: "Windows 8",
    0x10: "Windows Server 2012",
}
"""Version word after MD5("MS NT5 ISAKMPOAKLEY") to Windows release (ike-scan's table)."""

_STRONGSWAN_VERSIONS = [f"5.{minor}.{patch}" for minor in range(10) for patch in range(15)]
_STRONGSWAN_VERSIONS += [f"6.0.{patch}" for patch in range(6)]

KNOWN_VENDOR_IDS: tuple[tuple[bytes, str], ...] = (
    (_MS_NT5_VID, "MS NT5 ISAKMPOAKLEY"),
    (_md5("RFC 3947"), "RFC 3947 NAT-T"),
    (_md5("draft-ietf-ipsec-nat-t-ike-00"), "draft-ietf-ipsec-nat-t-ike-00"),
    (_md5("draft-ietf-ipsec-nat-t-ike-01"), "draft-ietf-ipsec-nat-t-ike-01"),
    (_md5("draft-ietf-ipsec-nat-t-ike-02"), "draft-ietf-ipsec-nat-t-ike-02"),
    (_md5("draft-ietf-ipsec-nat-t-ike-02\n"), "draft-ietf-ipsec-nat-t-ike-02\\n"),
    (_md5("draft-ietf-ipsec-nat-t-ike-03"), "draft-ietf-ipsec-nat-t-ike-03"),
    (_md5("FRAGMENTATION"), "IKE Fragmentation"),
    (_md5("MS-Negotiation Discovery Capable"), "MS-Negotiation Discovery Capable"),
    (_md5("IKE CGA version 1"), "IKE CGA version 1"),
    (_md5("Vid-Initial-Contact"), "Microsoft Initial-Contact"),
    (_md5("GSSAPI"), "GSSAPI"),
    (_md5("A GSS-API Authentication Method for IKE"), "GSS-API Authentication Method"),
    (_md5("KAME/racoon"), "KAME/racoon"),
    # Cisco Unity: MD5("CISCO-UNITY") with the last two bytes replaced by version 1.0.
    (_md5("CISCO-UNITY")[:14] + b"\x01\x00", "Cisco Unity 1.0"),
    # RFC 3706 DPD: a fixed 14-byte value followed by major/minor version.
    (bytes.fromhex("afcad71368a1f1c96b8696fc7757"), "Dead Peer Detection (RFC 3706)"),
    (bytes.fromhex("09002689dfd6b712"), "XAUTH"),
    (bytes.fromhex("1f07f70eaa6514d3b0fa96542a"), "Cisco VPN Concentrator"),
    (_CHECKPOINT_VID, "Check Point"),
    *((_md5(f"strongSwan {v}"), f"strongSwan {v}") for v in _STRONGSWAN_VERSIONS),
)
"""Vendor ID prefixes and names; a received VID matches the longest prefix it starts with."""


def _windows_vid_name(vid: bytes) -> str:
    """Name a MS NT5 ISAKMPOAKLEY vendor ID, decoding the version word after the hash."""
    if len(vid) < len(_MS_NT5_VID) + 4:
        return "MS NT5 ISAKMPOAKLEY (Windows)"
    (version,) = struct.unpack_from(">I", vid, len(_MS_NT5_VID))
    release = WINDOWS_VID_VERSIONS.get(version, f"Windows, version word 0x{version:08X}")
    return f"MS NT5 ISAKMPOAKLEY ({release})"


def _checkpoint_vid_name(vid: bytes) -> str:
    """Name a Check Point vendor ID; its product word follows the 20-byte prefix."""
    if len(vid) < len(_CHECKPOINT_VID) + 4:
        return "Check Point"
    (product,) = struct.unpack_from(">I", vid, len(_CHECKPOINT_VID))
    products = {1: "Firewall-1/VPN-1", 2: "SecuRemote/SecureClient"}
    return f"Check Point {products.get(product, f'product {product}')}"


def identify_vendor_id(vid: bytes) -> str | None:
    """Return a human name for a vendor ID payload's data, or ``None`` if unknown."""
    best: tuple[int, str] | None = None
    for prefix, name in KNOWN_VENDOR_IDS:
        if vid.startswith(prefix) and (best is None or len(prefix) > best[0]):
            best = (len(prefix), name)
    if best is None:
        return None
    if vid.startswith(_MS_NT5_VID):
        return _windows_vid_name(vid)
    if vid.startswith(_CHECKPOINT_VID):
        return _checkpoint_vid_name(vid)
    return best[1]


# --------------------------------------------------------------------------- data types


@dataclass(frozen=True)
class IkeHeader:
    """The fixed 28-byte header shared by IKEv1 (ISAKMP) and IKEv2.

    ``spi_i``/``spi_r`` are the IKEv2 SPIs, called cookies in IKEv1.
    """

    spi_i: bytes
    spi_r: bytes
    next_payload: int
    major_version: int
    minor_version: int
    exchange_type: int
    exchange_name: str
    flags: int
    message_id: int
    length: int

    @property
    def is_response(self) -> bool:
        """IKEv2 Response flag; IKEv1 has none, so this is False there."""
        return self.major_version == 2 and bool(self.flags & _V2_FLAG_RESPONSE)


@dataclass(frozen=True)
class Transform:
    """One algorithm: ``kind`` is ENCR, PRF, INTEG, DH, ESN (IKEv2) or ENCR, HASH, AUTH, DH
    (IKEv1); ``key_length`` in bits when the algorithm takes one (AES)."""

    kind: str
    id: int
    name: str
    key_length: int | None = None

    @property
    def label(self) -> str:
        """Short form for reports, e.g. ``ENCR AES_CBC-128``."""
        suffix = f"-{self.key_length}" if self.key_length else ""
        return f"{self.kind} {self.name}{suffix}"


@dataclass(frozen=True)
class Proposal:
    """One proposal of an SA payload (a responder's SA carries exactly one)."""

    number: int
    protocol_id: int
    protocol: str
    spi: bytes
    transforms: tuple[Transform, ...]
    lifetime_seconds: int | None = None


@dataclass(frozen=True)
class Notify:
    """A Notify (IKEv2) or Notification (IKEv1) payload."""

    type: int
    name: str
    protocol_id: int
    spi: bytes
    data: bytes

    @property
    def is_error(self) -> bool:
        """Error types are below 16384 in both versions; status types start there."""
        return self.type < _STATUS_NOTIFY_MIN


@dataclass(frozen=True)
class VendorId:
    """A Vendor ID payload: its data as lowercase hex, and a name if recognised."""

    hex: str
    name: str | None


@dataclass(frozen=True)
class IkeReply:
    """What a reply to our first message says.

    ``kind``: ``"sa"`` (the responder chose an SA: see ``chosen``), ``"notify"`` (no SA,
    but notifies such as NO_PROPOSAL_CHOSEN, INVALID_KE_PAYLOAD or COOKIE) or
    ``"informational"`` (neither, e.g. an encrypted or empty informational message).
    ``responder_alive`` is True for any well-formed message sent as a response (IKEv2 R
    flag; IKEv1: not a Main/Aggressive Mode message still lacking a responder cookie), so
    that a reflected copy of our own request is not taken for an answer.
    """

    version: int
    header: IkeHeader
    kind: str
    payload_types: tuple[int, ...]
    payload_names: tuple[str, ...]
    proposals: tuple[Proposal, ...]
    chosen: tuple[Transform, ...]
    notifies: tuple[Notify, ...]
    vendor_ids: tuple[VendorId, ...]
    ke_group: int | None
    nonce_length: int | None
    preferred_dh_group: int | None
    cookie: bytes | None
    encrypted: bool
    responder_alive: bool

    @property
    def errors(self) -> tuple[Notify, ...]:
        """The error notifies (NO_PROPOSAL_CHOSEN, INVALID_KE_PAYLOAD, ...)."""
        return tuple(n for n in self.notifies if n.is_error)


# --------------------------------------------------------------------------- builders


def _transform_v2(kind: int, transform_id: int, key_bits: int | None, last: bool) -> bytes:
    """Encode one IKEv2 transform substructure, with a Key Length attribute if given."""
    attrs = _attribute(_A_KEY_LENGTH, key_bits) if key_bits else b""
    more = 0 if last else 3
    return struct.pack(">BBHBBH", more, 0, 8 + len(attrs), kind, 0, transform_id) + attrs


def _ikev2_transforms(dh_group: int) -> list[tuple[int, int, int | None]]:
    """The (type, id, key bits) list we offer; the KE group's DH transform comes first."""
    groups = [dh_group] + [g for g in (14, 2) if g != dh_group]
    return [
        (_ENCR, 12, 256),  # AES-CBC-256
        (_ENCR, 12, 128),  # AES-CBC-128
        (_ENCR, 3, None),  # 3DES
        (_PRF, 5, None),  # HMAC-SHA2-256
        (_PRF, 2, None),  # HMAC-SHA1
        (_INTEG, 12, None),  # HMAC-SHA2-256-128
        (_INTEG, 2, None),  # HMAC-SHA1-96
        *((_DH, g, None) for g in groups),
    ]


def _payload(next_payload: int, body: bytes) -> bytes:
    """Prefix ``body`` with a generic payload header."""
    return struct.pack(">BBH", next_payload, 0, 4 + len(body)) + body


def _header(
    spi_i: bytes, first: int, version: int, exchange: int, flags: int, body: bytes
) -> bytes:
    """Encode the 28-byte header (zero responder SPI, message ID 0) and append ``body``."""
    fields = struct.pack(">BBBBII", first, version, exchange, flags, 0, HEADER_LENGTH + len(body))
    return spi_i + bytes(8) + fields + body


def _check_spi(spi: bytes, what: str) -> None:
    """An initiator SPI/cookie is 8 bytes and must not be zero (RFC 7296 section 3.1)."""
    if len(spi) != 8 or spi == bytes(8):
        raise ValueError(f"{what} must be 8 bytes and not all zero")


def build_ikev2_sa_init(spi_i: bytes, nonce: bytes, ke_value: bytes, dh_group: int = 14) -> bytes:
    """Build an IKEv2 IKE_SA_INIT request (SA, KE, Nonce; no NAT detection notifies).

    ``ke_value`` is the public value for ``dh_group`` (256 bytes for group 14, 128 for
    group 2); any value below the prime will do for a probe. Use :func:`new_sa_init_inputs`
    for fresh random inputs. Raises ``ValueError`` on bad arguments.
    """
    _check_spi(spi_i, "spi_i")
    if not 16 <= len(nonce) <= 256:
        raise ValueError("nonce must be 16 to 256 bytes (RFC 7296 section 3.9)")
    expected = MODP_KE_LENGTHS.get(dh_group)
    if expected is None:
        raise ValueError(f"dh_group must be a MODP group {sorted(MODP_KE_LENGTHS)}")
    if len(ke_value) != expected:
        raise ValueError(f"ke_value for group {dh_group} must be {expected} bytes")
    offers = _ikev2_transforms(dh_group)
    transforms = b"".join(
        _transform_v2(t, i, k, last=n == len(offers) - 1) for n, (t, i, k) in enumerate(offers)
    )
    proposal = struct.pack(">BBHBBBB", 0, 0, 8 + len(transforms), 1, 1, 0, len(offers))
    body = (
        _payload(_V2_KE, proposal + transforms)
        + _payload(_V2_NONCE, struct.pack(">HH", dh_group, 0) + ke_value)
        + _payload(0, nonce)
    )
    return _header(spi_i, _V2_SA, 0x20, _EXCHANGE_V2_SA_INIT, _V2_FLAG_INITIATOR, body)


def new_sa_init_inputs(
    dh_group: int = 14, randbytes: Callable[[int], bytes] = os.urandom
) -> tuple[bytes, bytes, bytes]:
    """Return fresh ``(spi_i, nonce, ke_value)`` for :func:`build_ikev2_sa_init`.

    ``randbytes`` is injectable so tests are deterministic. The KE value's top bit is
    cleared so it stays below the MODP prime, whose top 64 bits are all ones.
    """
    length = MODP_KE_LENGTHS.get(dh_group)
    if length is None:
        raise ValueError(f"dh_group must be a MODP group {sorted(MODP_KE_LENGTHS)}")
    spi = randbytes(8)
    if spi == bytes(8):
        spi = bytes(7) + b"\x01"
    ke = randbytes(length)
    ke = bytes([ke[0] & 0x7F]) + ke[1:]
    return spi, randbytes(32), ke


WINDOWS_MAIN_MODE_VIDS: tuple[bytes, ...] = (
    _MS_NT5_VID + struct.pack(">I", 9),
    _md5("RFC 3947"),
    _md5("draft-ietf-ipsec-nat-t-ike-02\n"),
    _md5("FRAGMENTATION"),
    _md5("MS-Negotiation Discovery Capable"),
    _md5("IKE CGA version 1"),
)
"""Vendor IDs sent in Main Mode message 1, as a Windows L2TP/IPsec client announces."""

_MAIN_MODE_LIFETIME = 28800  # seconds; the Windows phase 1 default


def _attribute(attr_type: int, value: int) -> bytes:
    """Encode a basic (TV) attribute."""
    return struct.pack(">HH", 0x8000 | attr_type, value)


def _main_mode_transform(
    number: int, enc: int, key_bits: int | None, hash_id: int, group: int, last: bool
) -> bytes:
    """Encode one IKEv1 transform payload (KEY_IKE) with PSK authentication."""
    attrs = _attribute(_A_ENC, enc)
    if key_bits:
        attrs += _attribute(_A_KEY_LENGTH, key_bits)
    attrs += _attribute(_A_HASH, hash_id) + _attribute(_A_AUTH, 1) + _attribute(_A_GROUP, group)
    # Life type seconds, then the duration as a 4-byte variable attribute, as most clients do.
    attrs += _attribute(_A_LIFE_TYPE, 1)
    attrs += struct.pack(">HHI", _A_LIFE_DURATION, 4, _MAIN_MODE_LIFETIME)
    body = struct.pack(">BBH", number, 1, 0) + attrs
    return _payload(0 if last else 3, body)


def _main_mode_offers() -> list[tuple[int, int | None, int, int]]:
    """(cipher, key bits, hash, group) in preference order, strongest first."""
    ciphers = [(7, 256), (7, 128), (5, None)]  # AES-CBC-256, AES-CBC-128, 3DES
    hashes = (4, 2)  # SHA2-256, SHA1
    groups = (14, 2)  # MODP2048, MODP1024
    return [(enc, bits, h, g) for enc, bits in ciphers for h in hashes for g in groups]


def _vid_chain(vids: Iterable[bytes]) -> bytes:
    """Chain Vendor ID payloads, each pointing at the next."""
    vids = list(vids)
    return b"".join(
        _payload(_V1_VID if n < len(vids) - 1 else 0, vid) for n, vid in enumerate(vids)
    )


def build_ikev1_main_mode(cookie_i: bytes) -> bytes:
    """Build IKEv1 Main Mode message 1 as an L2TP/IPsec client would send it.

    One ISAKMP proposal with 12 transforms (AES-256/AES-128/3DES x SHA2-256/SHA1 x
    MODP2048/MODP1024, PSK, 28800 s) followed by :data:`WINDOWS_MAIN_MODE_VIDS`.
    Raises ``ValueError`` unless ``cookie_i`` is 8 non-zero bytes.
    """
    _check_spi(cookie_i, "cookie_i")
    offers = _main_mode_offers()
    transforms = b"".join(
        _main_mode_transform(n + 1, *offer, last=n == len(offers) - 1)
        for n, offer in enumerate(offers)
    )
    proposal = _payload(0, struct.pack(">BBBB", 1, 1, 0, len(offers)) + transforms)
    sa = _payload(_V1_VID, struct.pack(">II", 1, 1) + proposal)  # DOI IPsec, identity only
    body = sa + _vid_chain(WINDOWS_MAIN_MODE_VIDS)
    return _header(cookie_i, _V1_SA, 0x10, _EXCHANGE_V1_MAIN, 0, body)


def add_non_esp_marker(pkt: bytes) -> bytes:
    """Prefix an IKE message with the non-ESP marker for sending on UDP 4500."""
    return NON_ESP_MARKER + pkt


def strip_non_esp_marker(data: bytes) -> bytes:
    """Remove the non-ESP marker from a datagram received on UDP 4500.

    Raises :class:`IkeParseError` for a NAT keepalive (one 0xFF byte), an ESP packet
    (non-zero SPI where the marker belongs) or a datagram too short to hold the marker.
    """
    if data == b"\xff":
        raise IkeParseError("NAT-keepalive packet, not an IKE message")
    if len(data) < len(NON_ESP_MARKER):
        raise IkeParseError(f"{len(data)}-byte datagram is too short for a non-ESP marker")
    if data[:4] != NON_ESP_MARKER:
        raise IkeParseError("no non-ESP marker: this is an ESP packet, not IKE")
    return bytes(data[4:])


# --------------------------------------------------------------------------- parser


def notify_name(version: int, notify_type: int) -> str:
    """Name a notify message type in the registry of IKE ``version`` (1 or 2)."""
    table = _V2_NOTIFIES if version == 2 else _V1_NOTIFIES
    if notify_type in table:
        return table[notify_type]
    return "PRIVATE_USE" if 8192 <= notify_type < 16384 else f"UNKNOWN_{notify_type}"


class _Reader(ByteReader):
    """Bounds-checked big-endian reads over one buffer; every overrun is an IkeParseError."""

    error = IkeParseError


def _parse_header(data: bytes) -> IkeHeader:
    """Decode and sanity-check the fixed header."""
    if len(data) < HEADER_LENGTH:
        raise IkeParseError(f"{len(data)} bytes is shorter than the 28-byte IKE header")
    spi_i, spi_r = data[:8], data[8:16]
    next_payload, version, exchange, flags, message_id, length = struct.unpack_from(
        ">BBBBII", data, 16
    )
    major, minor = version >> 4, version & 0x0F
    if major not in (1, 2):
        raise IkeParseError(f"IKE major version {major} is neither 1 nor 2")
    if not HEADER_LENGTH <= length <= len(data):
        raise IkeParseError(f"IKE length field {length} does not fit the {len(data)} bytes")
    names = _V2_EXCHANGES if major == 2 else _V1_EXCHANGES
    return IkeHeader(
        spi_i=spi_i,
        spi_r=spi_r,
        next_payload=next_payload,
        major_version=major,
        minor_version=minor,
        exchange_type=exchange,
        exchange_name=names.get(exchange, f"UNKNOWN_{exchange}"),
        flags=flags,
        message_id=message_id,
        length=length,
    )


def _walk_payloads(body: bytes, first: int) -> list[tuple[int, bytes]]:
    """Split the payload chain into ``(type, data)``, bounded and length-checked.

    Stops after an IKEv2 SK/SKF payload, whose inner chain is encrypted.
    """
    reader = _Reader(body, "payload chain")
    payloads: list[tuple[int, bytes]] = []
    current = first
    while current != 0:
        if len(payloads) >= MAX_PAYLOADS:
            raise IkeParseError(f"more than {MAX_PAYLOADS} payloads")
        next_type, _flags, length = reader.u8(), reader.u8(), reader.u16()
        if length < 4:
            raise IkeParseError(f"payload length {length} is below the 4-byte header")
        payloads.append((current, reader.take(length - 4)))
        if current in _V2_ENCRYPTED:
            return payloads
        current = next_type
    if reader.remaining:
        raise IkeParseError(f"{reader.remaining} bytes left after the last payload")
    return payloads


def _attributes(reader: _Reader) -> dict[int, int]:
    """Read data attributes (TV or TLV) until the reader is empty; return integer values."""
    values: dict[int, int] = {}
    count = 0
    while reader.remaining:
        count += 1
        if count > 64:
            raise IkeParseError("more than 64 attributes in one transform")
        raw_type = reader.u16()
        if raw_type & 0x8000:
            values[raw_type & 0x7FFF] = reader.u16()
        else:
            length = reader.u16()
            value = reader.take(length)
            # Only small integers (life duration) matter here; longer values are skipped.
            if 0 < length <= 8:
                values[raw_type] = int.from_bytes(value, "big")
    return values


def _v2_transform(data: bytes) -> Transform:
    """Decode one IKEv2 transform substructure's fields after its 4-byte header."""
    reader = _Reader(data, "IKEv2 transform")
    transform_type, _, transform_id = reader.u8(), reader.u8(), reader.u16()
    attributes = _attributes(reader)
    kind = _V2_TRANSFORM_TYPES.get(transform_type, f"TYPE_{transform_type}")
    names = _V2_TRANSFORM_IDS.get(transform_type, {})
    name = names.get(transform_id, f"UNKNOWN_{transform_id}")
    return Transform(kind, transform_id, name, attributes.get(_A_KEY_LENGTH))


def _substructures(reader: _Reader, what: str, limit: int) -> list[bytes]:
    """Split consecutive length-prefixed substructures (proposal/transform headers)."""
    items: list[bytes] = []
    while reader.remaining:
        if len(items) >= limit:
            raise IkeParseError(f"more than {limit} {what}s")
        _last, _reserved, length = reader.u8(), reader.u8(), reader.u16()
        if length < 8:
            raise IkeParseError(f"{what} length {length} is below 8")
        items.append(reader.take(length - 4))
    return items


def _proposal_header(reader: _Reader) -> tuple[int, int, bytes, int]:
    """Read number, protocol, SPI and transform count (same layout in both versions)."""
    number, protocol_id, spi_size, count = reader.u8(), reader.u8(), reader.u8(), reader.u8()
    return number, protocol_id, reader.take(spi_size), count


def _v2_proposals(data: bytes) -> tuple[Proposal, ...]:
    """Decode the proposals of an IKEv2 SA payload."""
    proposals = []
    for raw in _substructures(_Reader(data, "IKEv2 SA"), "proposal", MAX_PAYLOADS):
        reader = _Reader(raw, "IKEv2 proposal")
        number, protocol_id, spi, count = _proposal_header(reader)
        transforms = tuple(_v2_transform(t) for t in _substructures(reader, "transform", 255))
        if len(transforms) != count:
            raise IkeParseError(f"proposal says {count} transforms, holds {len(transforms)}")
        protocol = _PROTOCOLS.get(protocol_id, "?")
        proposals.append(Proposal(number, protocol_id, protocol, spi, transforms))
    return tuple(proposals)


def _v1_transform(data: bytes) -> tuple[tuple[Transform, ...], int | None]:
    """Decode one IKEv1 phase 1 transform payload body into algorithms and a lifetime."""
    reader = _Reader(data, "IKEv1 transform")
    reader.take(4)  # transform number, transform ID (KEY_IKE), reserved
    attributes = _attributes(reader)
    transforms = []
    for attr, (kind, names) in _V1_ATTRIBUTE_KINDS.items():
        if attr in attributes:
            value = attributes[attr]
            bits = attributes.get(_A_KEY_LENGTH) if attr == _A_ENC else None
            transforms.append(Transform(kind, value, names.get(value, f"UNKNOWN_{value}"), bits))
    lifetime = attributes.get(_A_LIFE_DURATION) if attributes.get(_A_LIFE_TYPE) == 1 else None
    return tuple(transforms), lifetime


def _v1_proposals(data: bytes) -> tuple[Proposal, ...]:
    """Decode the proposals of an IKEv1 SA payload (IPsec DOI only)."""
    reader = _Reader(data, "IKEv1 SA")
    doi = reader.u32()
    if doi != 1:
        return ()  # only the IPsec DOI defines the layout below
    reader.take(4)  # situation
    proposals = []
    for raw in _substructures(reader, "proposal", MAX_PAYLOADS):
        preader = _Reader(raw, "IKEv1 proposal")
        number, protocol_id, spi, count = _proposal_header(preader)
        transforms: list[Transform] = []
        lifetime = None
        raw_transforms = _substructures(preader, "transform", 255)
        if len(raw_transforms) != count:
            raise IkeParseError(f"proposal says {count} transforms, holds {len(raw_transforms)}")
        for raw_transform in raw_transforms:
            decoded, life = _v1_transform(raw_transform)
            transforms.extend(decoded)
            lifetime = lifetime or life
        protocol = _PROTOCOLS.get(protocol_id, "?")
        proposals.append(Proposal(number, protocol_id, protocol, spi, tuple(transforms), lifetime))
    return tuple(proposals)


def _notify(version: int, data: bytes) -> Notify:
    """Decode a Notify payload body (IKEv1 adds a 4-byte DOI in front)."""
    reader = _Reader(data, "notify")
    if version == 1:
        reader.take(4)  # DOI
    protocol_id, spi_size, notify_type = reader.u8(), reader.u8(), reader.u16()
    spi = reader.take(spi_size)
    rest = reader.take(reader.remaining)
    return Notify(notify_type, notify_name(version, notify_type), protocol_id, spi, rest)


def _ke_group(version: int, data: bytes) -> int | None:
    """The DH group of an IKEv2 KE payload (IKEv1 KE payloads do not carry one)."""
    if version == 1:
        return None
    return _Reader(data, "KE payload").u16()


@dataclass
class _Collected:
    """Mutable scratch space while walking the payloads of one message."""

    proposals: tuple[Proposal, ...] = ()
    has_sa: bool = False
    notifies: list[Notify] = field(default_factory=list)
    vendor_ids: list[VendorId] = field(default_factory=list)
    ke_group: int | None = None
    nonce_length: int | None = None


def _collect(version: int, payloads: list[tuple[int, bytes]]) -> _Collected:
    """Decode the payload types we understand; others are only listed."""
    sa, ke, nonce, notify, vid = (
        (_V2_SA, _V2_KE, _V2_NONCE, _V2_NOTIFY, _V2_VID)
        if version == 2
        else (_V1_SA, _V1_KE, _V1_NONCE, _V1_NOTIFY, _V1_VID)
    )
    out = _Collected()
    for payload_type, data in payloads:
        if payload_type == sa and not out.has_sa:
            out.has_sa = True
            out.proposals = _v2_proposals(data) if version == 2 else _v1_proposals(data)
        elif payload_type == ke:
            out.ke_group = _ke_group(version, data)
        elif payload_type == nonce:
            out.nonce_length = len(data)
        elif payload_type == notify:
            out.notifies.append(_notify(version, data))
        elif payload_type == vid:
            out.vendor_ids.append(VendorId(data.hex(), identify_vendor_id(data)))
    return out


def _responder_alive(header: IkeHeader) -> bool:
    """Is this message an answer from a responder, not a copy of an initiator's request?"""
    if header.major_version == 2:
        return header.is_response
    opening = header.exchange_type in (_EXCHANGE_V1_MAIN, 4)  # Main or Aggressive Mode
    return not (opening and header.spi_r == bytes(8))


def _preferred_group(version: int, notifies: list[Notify]) -> int | None:
    """The group an IKEv2 INVALID_KE_PAYLOAD asks for (2-byte notification data)."""
    for item in notifies:
        if version == 2 and item.type == _NOTIFY_INVALID_KE and len(item.data) == 2:
            return int.from_bytes(item.data, "big")
    return None


def _cookie(version: int, notifies: list[Notify]) -> bytes | None:
    """The data of an IKEv2 COOKIE notify: the responder wants it echoed before it works."""
    for item in notifies:
        if version == 2 and item.type == _NOTIFY_COOKIE:
            return item.data
    return None


def parse_ike_reply(data: bytes) -> IkeReply:
    """Decode one IKEv1 or IKEv2 message (without a non-ESP marker).

    Bytes after the header's length are ignored (one message per datagram). Raises
    :class:`IkeParseError` on anything malformed: short header, unknown major version,
    inconsistent lengths, more than :data:`MAX_PAYLOADS` payloads, truncated substructures.
    """
    data = bytes(data)
    header = _parse_header(data)
    version = header.major_version
    body = data[HEADER_LENGTH : header.length]
    encrypted = version == 1 and bool(header.flags & _V1_FLAG_ENCRYPTED)
    # An encrypted IKEv1 body is ciphertext after the header: nothing to walk.
    payloads = [] if encrypted else _walk_payloads(body, header.next_payload)
    encrypted = encrypted or any(t in _V2_ENCRYPTED for t, _ in payloads)
    found = _collect(version, payloads)
    notifies = found.notifies
    names = _V2_PAYLOADS if version == 2 else _V1_PAYLOADS
    kind = "sa" if found.has_sa else ("notify" if notifies else "informational")
    return IkeReply(
        version=version,
        header=header,
        kind=kind,
        payload_types=tuple(t for t, _ in payloads),
        payload_names=tuple(names.get(t, f"UNKNOWN_{t}") for t, _ in payloads),
        proposals=found.proposals,
        chosen=found.proposals[0].transforms if found.proposals else (),
        notifies=tuple(notifies),
        vendor_ids=tuple(found.vendor_ids),
        ke_group=found.ke_group,
        nonce_length=found.nonce_length,
        preferred_dh_group=_preferred_group(version, notifies),
        cookie=_cookie(version, notifies),
        encrypted=encrypted,
        responder_alive=_responder_alive(header),
    )


def matches_request(reply: IkeReply, spi_i: bytes) -> bool:
    """True if ``reply`` answers the request we sent with initiator SPI/cookie ``spi_i``.

    Stray datagrams (another scan, a stale exchange) carry someone else's SPI.
    """
    return reply.header.spi_i == spi_i
