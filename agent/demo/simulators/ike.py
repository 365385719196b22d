"""An IKE responder on loopback UDP: the first reply of IKEv2 IKE_SA_INIT and IKEv1 Main Mode.

It behaves as a responder's policy decides (RFC 7296 section 2.7 and 3.10.1; RFC 2409):

* IKEv2 IKE_SA_INIT: if no proposal has an acceptable ENCR, PRF, INTEG and DH group, the
  answer is a lone Notify NO_PROPOSAL_CHOSEN (14) with a zero responder SPI; if the group
  is acceptable but the KE payload carries another one, INVALID_KE_PAYLOAD (17) naming the
  preferred group; with ``require_cookie`` the first request gets a COOKIE (16390);
  otherwise an SA reply: the chosen transforms, a KE for the group, a 32-byte nonce, and
  the vendor IDs of ``vendor_ids``.
* IKEv1 Main Mode message 1: message 2 with the first acceptable transform and the vendor
  IDs, or an Informational exchange with Notification NO-PROPOSAL-CHOSEN (14).
* On the NAT-T port every datagram must start with the 4-byte non-ESP marker (RFC 3948),
  and the answer carries it too.

Default vendor IDs are Windows-like, from ike-scan's ``ike-vendor-ids`` and logs of
Windows peers seen by strongSwan: MD5("MS NT5 ISAKMPOAKLEY") + version word,
MS-Negotiation Discovery Capable, IKE CGA version 1, and (IKEv1) RFC 3947 NAT-T. Which
VIDs a Windows Server RRAS responder really sends in IKE_SA_INIT is not documented
(reference K.5): this is an approximation, enough to test VID reporting.
"""

from __future__ import annotations

import hashlib
import os
import selectors
import socket
import struct
import threading

from accessready.agent.demo.simulators.stream import serve_quietly
from accessready.checks.protocols.ike import (
    MODP_KE_LENGTHS,
    NON_ESP_MARKER,
    IkeParseError,
    IkeReply,
    parse_ike_reply,
)


def _md5(text: str) -> bytes:
    return hashlib.md5(text.encode("ascii"), usedforsecurity=False).digest()


WINDOWS_VIDS: tuple[bytes, ...] = (
    _md5("MS NT5 ISAKMPOAKLEY") + struct.pack(">I", 9),
    _md5("MS-Negotiation Discovery Capable"),
    _md5("IKE CGA version 1"),
)
"""Vendor IDs a Windows IKE peer announces (see the module docstring)."""

CHECKPOINT_VID = bytes.fromhex("f4ed19e0c114eb516faaac0ee37daf2807b4381f") + bytes.fromhex(
    "00000001" "00000c2e" "00000000" "18800000")
"""A 40-byte Check Point VID: prefix, product 1 (FW-1/VPN-1), version, timestamp, features
(layout per ike-scan's ``ike-vendor-ids`` comments; the values are made up)."""

_V2_ENCR_OK = {12, 3}  # AES-CBC, 3DES
_V2_PRF_OK = {5, 2}  # HMAC-SHA2-256, HMAC-SHA1
_V2_INTEG_OK = {12, 2}  # HMAC-SHA2-256-128, HMAC-SHA1-96
_V1_ENCR_OK = {"AES_CBC", "3DES_CBC"}
_V1_HASH_OK = {"SHA1", "SHA2_256"}


def _payload(next_payload: int, body: bytes) -> bytes:
    return struct.pack(">BBH", next_payload, 0, 4 + len(body)) + body


def _chain(items: list[tuple[int, bytes]]) -> tuple[int, bytes]:
    """Chain (type, body) payloads: returns (first type, bytes)."""
    out = b""
    for index, (_kind, body) in enumerate(items):
        following = items[index + 1][0] if index + 1 < len(items) else 0
        out += _payload(following, body)
    return (items[0][0] if items else 0), out


def _header(spi_i: bytes, spi_r: bytes, first: int, version: int, exchange: int, flags: int,
            message_id: int, body: bytes) -> bytes:
    return spi_i + spi_r + struct.pack(">BBBBII", first, version, exchange, flags, message_id,
                                       28 + len(body)) + body


class IkeSimulator:
    """An IKE responder on ``host``: UDP ``port`` (IKE) and ``natt_port`` (NAT-T).

    ``mode`` ``"policy"`` answers by the acceptable sets (see the module docstring);
    ``"no_proposal"`` always refuses; ``"silent"`` never answers. ``versions`` limits the
    IKE major versions answered (an IKEv1-only responder ignores IKEv2, as old gateways do).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, natt_port: int | None = 0, *,
                 mode: str = "policy", groups: tuple[int, ...] = (14, 2),
                 vendor_ids: tuple[bytes, ...] = WINDOWS_VIDS, require_cookie: bool = False,
                 versions: tuple[int, ...] = (1, 2)) -> None:
        self.mode = mode
        self.groups = groups
        self.vendor_ids = vendor_ids
        self.require_cookie = require_cookie
        self.versions = versions
        self.host = host
        self.received: list[tuple[int, bytes]] = []
        self._cookie_secret = os.urandom(16)
        self._ike = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._ike.bind((host, port))
        self.port = self._ike.getsockname()[1]
        self._natt: socket.socket | None = None
        self.natt_port: int | None = None
        if natt_port is not None:
            self._natt = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self._natt.bind((host, natt_port))
            self.natt_port = self._natt.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="ike-sim", daemon=True)

    def start(self) -> IkeSimulator:
        """Start answering."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop answering and close the sockets."""
        self._stop.set()
        self._thread.join(timeout=2)
        self._ike.close()
        if self._natt is not None:
            self._natt.close()

    def __enter__(self) -> IkeSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self) -> None:
        serve_quietly(self._stop, self._serve_until_stopped)

    def _serve_until_stopped(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self._ike, selectors.EVENT_READ, False)
        if self._natt is not None:
            selector.register(self._natt, selectors.EVENT_READ, True)
        while not self._stop.is_set():
            for key, _ in selector.select(timeout=0.2):
                sock: socket.socket = key.fileobj  # type: ignore[assignment]
                try:
                    data, peer = sock.recvfrom(65535)
                except OSError:
                    continue
                natt = bool(key.data)
                if natt:
                    if data[:4] != NON_ESP_MARKER:
                        continue  # ESP or a keepalive: nothing for IKE
                    data = data[4:]
                answer = self.answer(data)
                if answer is not None:
                    sock.sendto((NON_ESP_MARKER if natt else b"") + answer, peer)
        selector.close()

    def answer(self, data: bytes) -> bytes | None:
        """The reply to one IKE message (without marker), or None for no reply."""
        if self.mode == "silent":
            return None
        try:
            request = parse_ike_reply(data)
        except IkeParseError:
            return None  # garbage: a responder stays silent
        if request.header.is_response or request.header.spi_r != bytes(8):
            return None  # only first messages of an exchange are answered here
        self.received.append((request.version, data))
        if request.version not in self.versions:
            return None
        if request.version == 2 and request.header.exchange_type == 34:
            return self._v2(request, data)
        if request.version == 1 and request.header.exchange_type == 2:
            return self._v1(request)
        return None

    # -- IKEv2 -----------------------------------------------------------------------

    def _v2_notify(self, spi_i: bytes, notify_type: int, data: bytes = b"") -> bytes:
        body = struct.pack(">BBH", 0, 0, notify_type) + data
        first, payloads = _chain([(41, body)])
        return _header(spi_i, bytes(8), first, 0x20, 34, 0x20, 0, payloads)

    def _v2_choose(self, request: IkeReply) -> tuple[list, int | None]:
        """The chosen (kind, id, key bits) transforms and DH group, or ([], None)."""
        for proposal in request.proposals:
            if proposal.protocol != "IKE":
                continue
            pick: dict[str, tuple[int, int | None]] = {}
            ok = {"ENCR": _V2_ENCR_OK, "PRF": _V2_PRF_OK, "INTEG": _V2_INTEG_OK,
                  "DH": set(self.groups)}
            for transform in proposal.transforms:
                allowed = ok.get(transform.kind)
                if allowed and transform.id in allowed and transform.kind not in pick:
                    pick[transform.kind] = (transform.id, transform.key_length)
            if len(pick) == 4:
                kinds = {"ENCR": 1, "PRF": 2, "INTEG": 3, "DH": 4}
                chosen = [(kinds[k], *pick[k]) for k in ("ENCR", "PRF", "INTEG", "DH")]
                return chosen, pick["DH"][0]
        return [], None

    def _v2(self, request: IkeReply, raw: bytes) -> bytes:
        spi_i = request.header.spi_i
        if self.mode == "no_proposal":
            return self._v2_notify(spi_i, 14)
        chosen, group = self._v2_choose(request)
        if group is None:
            return self._v2_notify(spi_i, 14)
        if request.ke_group != group or group not in MODP_KE_LENGTHS:
            wanted = self.groups[0] if self.groups[0] in MODP_KE_LENGTHS else group
            return self._v2_notify(spi_i, 17, struct.pack(">H", wanted))
        if self.require_cookie:
            cookie = hashlib.sha256(self._cookie_secret + spi_i).digest()[:16]
            if not any(n.type == 16390 and n.data == cookie for n in request.notifies):
                return self._v2_notify(spi_i, 16390, cookie)
        transforms = b""
        for index, (kind, ident, bits) in enumerate(chosen):
            attrs = struct.pack(">HH", 0x800E, bits) if bits else b""
            more = 0 if index == len(chosen) - 1 else 3
            transforms += struct.pack(">BBHBBH", more, 0, 8 + len(attrs), kind, 0, ident) + attrs
        proposal = struct.pack(">BBHBBBB", 0, 0, 8 + len(transforms), 1, 1, 0, len(chosen))
        payloads: list[tuple[int, bytes]] = [
            (33, proposal + transforms),
            (34, struct.pack(">HH", group, 0) + os.urandom(MODP_KE_LENGTHS[group])),
            (40, os.urandom(32)),
            (41, struct.pack(">BBH", 0, 0, 16430)),  # IKEV2_FRAGMENTATION_SUPPORTED
        ]
        payloads += [(43, vid) for vid in self.vendor_ids]
        first, body = _chain(payloads)
        return _header(spi_i, os.urandom(8), first, 0x20, 34, 0x20, 0, body)

    # -- IKEv1 -----------------------------------------------------------------------

    def _v1(self, request: IkeReply) -> bytes:
        cookie_i = request.header.spi_i
        chosen = None if self.mode == "no_proposal" else self._v1_choose(request)
        if chosen is None:
            notify = struct.pack(">IBBH", 1, 1, 0, 14)
            first, body = _chain([(11, notify)])
            return _header(cookie_i, bytes(8), first, 0x10, 5, 0, 0, body)
        enc, bits, hash_id, group, lifetime = chosen
        attrs = struct.pack(">HH", 0x8001, enc)
        if bits:
            attrs += struct.pack(">HH", 0x800E, bits)
        attrs += struct.pack(">HHHHHH", 0x8002, hash_id, 0x8003, 1, 0x8004, group)
        attrs += struct.pack(">HH", 0x800B, 1) + struct.pack(">HHI", 12, 4, lifetime)
        transform = _payload(0, struct.pack(">BBH", 1, 1, 0) + attrs)
        proposal = _payload(0, struct.pack(">BBBB", 1, 1, 0, 1) + transform)
        sa = struct.pack(">II", 1, 1) + proposal
        vids = [*self.vendor_ids, _md5("RFC 3947")]
        first, body = _chain([(1, sa), *((13, vid) for vid in vids)])
        return _header(cookie_i, os.urandom(8), first, 0x10, 2, 0, 0, body)

    def _v1_choose(self, request: IkeReply) -> tuple[int, int | None, int, int, int] | None:
        """The first acceptable phase 1 transform of the request, re-encoded numbers."""
        for proposal in request.proposals:
            # The codec flattens each transform's attributes; walk them in groups of four
            # (ENCR, HASH, AUTH, DH), the order it emits them in.
            items = list(proposal.transforms)
            for start in range(0, len(items) - 3, 4):
                enc, hsh, auth, dh = items[start:start + 4]
                if (enc.kind, hsh.kind, auth.kind, dh.kind) != ("ENCR", "HASH", "AUTH", "DH"):
                    return None
                if (enc.name in _V1_ENCR_OK and hsh.name in _V1_HASH_OK and auth.id == 1
                        and dh.id in self.groups):
                    return enc.id, enc.key_length, hsh.id, dh.id, proposal.lifetime_seconds or 28800
        return None
