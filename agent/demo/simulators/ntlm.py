"""The server side of NTLM ([MS-NLMP]) for the WS-Management simulator.

Enough for an unmodified NTLM client (requests_ntlm on pyspnego, as pywinrm uses it) to
authenticate and to exchange sealed messages:

* NEGOTIATE → CHALLENGE: a random 8-byte server challenge, the flags the client asked for
  that this server supports, and target info (NetBIOS/DNS names and a timestamp, so the
  client answers with NTLMv2 and a MIC);
* AUTHENTICATE: the NTLMv2 response is verified against the known password:
  ``NTOWFv2 = HMAC_MD5(MD4(UTF-16LE(password)), UTF-16LE(UPPER(user) + domain))`` and
  ``NTProofStr = HMAC_MD5(NTOWFv2, server_challenge + client_blob)`` (§3.3.2). NTLMv1 and
  anonymous logons are refused. The MIC and channel bindings are not checked (a real
  server with ``CbtHardeningLevel=Strict`` would check the latter);
* session security (§3.4): the exported session key (decrypted with RC4 when KEY_EXCH),
  the four sign/seal keys, one RC4 stream per direction, and the 16-byte signature
  ``01 00 00 00 | RC4(HMAC_MD5(sign_key, seq + msg)[:8]) | seq``.

MD4 and RC4 are written out here: OpenSSL 3 hides MD4 in its legacy provider, and both
are tiny. Test and demo use only — this is not an authentication server to deploy.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
import time
from dataclasses import dataclass

SIGNATURE = b"NTLMSSP\x00"

NEGOTIATE_UNICODE = 0x00000001
REQUEST_TARGET = 0x00000004
NEGOTIATE_SIGN = 0x00000010
NEGOTIATE_SEAL = 0x00000020
NEGOTIATE_NTLM = 0x00000200
NEGOTIATE_ALWAYS_SIGN = 0x00008000
TARGET_TYPE_DOMAIN = 0x00010000
NEGOTIATE_EXTENDED_SESSIONSECURITY = 0x00080000
NEGOTIATE_TARGET_INFO = 0x00800000
NEGOTIATE_VERSION = 0x02000000
NEGOTIATE_128 = 0x20000000
NEGOTIATE_KEY_EXCH = 0x40000000
NEGOTIATE_56 = 0x80000000

_SUPPORTED = (NEGOTIATE_UNICODE | REQUEST_TARGET | NEGOTIATE_SIGN | NEGOTIATE_SEAL
              | NEGOTIATE_NTLM | NEGOTIATE_ALWAYS_SIGN | NEGOTIATE_EXTENDED_SESSIONSECURITY
              | NEGOTIATE_VERSION | NEGOTIATE_128 | NEGOTIATE_KEY_EXCH | NEGOTIATE_56)

# Windows Server 2019 (10.0.17763), NTLM revision 15, as in the VERSION structure.
_VERSION = struct.pack("<BBHBBBB", 10, 0, 17763, 0, 0, 0, 15)


class NtlmError(Exception):
    """A token is malformed, or the authentication does not verify."""


# --- primitives -----------------------------------------------------------------------

def _rotl(x: int, n: int) -> int:
    x &= 0xFFFFFFFF
    return ((x << n) | (x >> (32 - n))) & 0xFFFFFFFF


def md4(data: bytes) -> bytes:
    """MD4 (RFC 1320)."""
    msg = data + b"\x80" + b"\x00" * ((55 - len(data)) % 64) + struct.pack("<Q", len(data) * 8)
    a, b, c, d = 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476
    for offset in range(0, len(msg), 64):
        x = struct.unpack("<16I", msg[offset:offset + 64])
        aa, bb, cc, dd = a, b, c, d

        def f(x_: int, y: int, z: int) -> int:
            return (x_ & y) | (~x_ & z)

        def g(x_: int, y: int, z: int) -> int:
            return (x_ & y) | (x_ & z) | (y & z)

        def h(x_: int, y: int, z: int) -> int:
            return x_ ^ y ^ z

        for i in range(16):
            k, s = i, (3, 7, 11, 19)[i % 4]
            if i % 4 == 0:
                a = _rotl(a + f(b, c, d) + x[k], s)
            elif i % 4 == 1:
                d = _rotl(d + f(a, b, c) + x[k], s)
            elif i % 4 == 2:
                c = _rotl(c + f(d, a, b) + x[k], s)
            else:
                b = _rotl(b + f(c, d, a) + x[k], s)
        for i in range(16):
            k, s = (i % 4) * 4 + i // 4, (3, 5, 9, 13)[i % 4]
            if i % 4 == 0:
                a = _rotl(a + g(b, c, d) + x[k] + 0x5A827999, s)
            elif i % 4 == 1:
                d = _rotl(d + g(a, b, c) + x[k] + 0x5A827999, s)
            elif i % 4 == 2:
                c = _rotl(c + g(d, a, b) + x[k] + 0x5A827999, s)
            else:
                b = _rotl(b + g(c, d, a) + x[k] + 0x5A827999, s)
        order = (0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15)
        for i in range(16):
            k, s = order[i], (3, 9, 11, 15)[i % 4]
            if i % 4 == 0:
                a = _rotl(a + h(b, c, d) + x[k] + 0x6ED9EBA1, s)
            elif i % 4 == 1:
                d = _rotl(d + h(a, b, c) + x[k] + 0x6ED9EBA1, s)
            elif i % 4 == 2:
                c = _rotl(c + h(d, a, b) + x[k] + 0x6ED9EBA1, s)
            else:
                b = _rotl(b + h(c, d, a) + x[k] + 0x6ED9EBA1, s)
        a, b = (a + aa) & 0xFFFFFFFF, (b + bb) & 0xFFFFFFFF
        c, d = (c + cc) & 0xFFFFFFFF, (d + dd) & 0xFFFFFFFF
    return struct.pack("<4I", a, b, c, d)


class Rc4:
    """An RC4 keystream that keeps its state between calls (NTLM seals as one stream)."""

    def __init__(self, key: bytes) -> None:
        s = list(range(256))
        j = 0
        for i in range(256):
            j = (j + s[i] + key[i % len(key)]) & 0xFF
            s[i], s[j] = s[j], s[i]
        self._s, self._i, self._j = s, 0, 0

    def update(self, data: bytes) -> bytes:
        """XOR ``data`` with the next bytes of the keystream."""
        s, i, j = self._s, self._i, self._j
        out = bytearray(len(data))
        for n, byte in enumerate(data):
            i = (i + 1) & 0xFF
            j = (j + s[i]) & 0xFF
            s[i], s[j] = s[j], s[i]
            out[n] = byte ^ s[(s[i] + s[j]) & 0xFF]
        self._i, self._j = i, j
        return bytes(out)


def _hmac_md5(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.md5).digest()


def ntowfv2(password: str, user: str, domain: str) -> bytes:
    """NTOWFv2 ([MS-NLMP] 3.3.2)."""
    nt_hash = md4(password.encode("utf-16-le"))
    return _hmac_md5(nt_hash, (user.upper() + domain).encode("utf-16-le"))


# --- messages -------------------------------------------------------------------------

def _field(token: bytes, offset: int) -> bytes:
    if len(token) < offset + 8:
        raise NtlmError("token too short")
    length, _, where = struct.unpack_from("<HHI", token, offset)
    if where + length > len(token):
        raise NtlmError("field points past the end of the token")
    return token[where:where + length]


def message_type(token: bytes) -> int:
    """The NTLM message type (1, 2 or 3); NtlmError when ``token`` is not NTLMSSP."""
    if len(token) < 12 or not token.startswith(SIGNATURE):
        raise NtlmError("not an NTLMSSP token")
    return struct.unpack_from("<I", token, 8)[0]


def _av_pairs(pairs: list[tuple[int, bytes]]) -> bytes:
    out = b"".join(struct.pack("<HH", av_id, len(v)) + v for av_id, v in pairs)
    return out + struct.pack("<HH", 0, 0)


def _filetime_now() -> bytes:
    return struct.pack("<Q", int((time.time() + 11644473600) * 10_000_000))


@dataclass
class Authenticated:
    """Who logged on, and the session keys for sealing."""

    user: str
    domain: str
    workstation: str
    flags: int
    exported_session_key: bytes


class NtlmServer:
    """One NTLM acceptor: a connection's handshake, then its sealing state."""

    def __init__(self, netbios_domain: str, computer: str, dns_domain: str) -> None:
        self.netbios_domain = netbios_domain
        self.computer = computer
        self.dns_domain = dns_domain
        self.challenge_token = b""
        self.negotiate_token = b""
        self.server_challenge = b""
        self.flags = 0
        self.result: Authenticated | None = None
        self._seal_in: Rc4 | None = None
        self._seal_out: Rc4 | None = None
        self._sign_in = self._sign_out = b""
        self._seq_in = self._seq_out = 0

    def challenge(self, negotiate: bytes) -> bytes:
        """The CHALLENGE answer to a NEGOTIATE token."""
        if message_type(negotiate) != 1 or len(negotiate) < 16:
            raise NtlmError("expected an NTLM NEGOTIATE message")
        client_flags = struct.unpack_from("<I", negotiate, 12)[0]
        if not client_flags & NEGOTIATE_UNICODE:
            raise NtlmError("the client does not offer Unicode")
        self.negotiate_token = negotiate
        self.flags = (client_flags & _SUPPORTED) | NEGOTIATE_TARGET_INFO | TARGET_TYPE_DOMAIN
        self.server_challenge = os.urandom(8)
        target_name = self.netbios_domain.encode("utf-16-le")
        dns_computer = f"{self.computer}.{self.dns_domain}".lower()
        target_info = _av_pairs([
            (2, self.netbios_domain.encode("utf-16-le")),
            (1, self.computer.encode("utf-16-le")),
            (4, self.dns_domain.encode("utf-16-le")),
            (3, dns_computer.encode("utf-16-le")),
            (5, self.dns_domain.encode("utf-16-le")),
            (7, _filetime_now()),
        ])
        header_len = 56
        payload_offset = header_len
        token = bytearray(SIGNATURE + struct.pack("<I", 2))
        token += struct.pack("<HHI", len(target_name), len(target_name), payload_offset)
        token += struct.pack("<I", self.flags) + self.server_challenge + b"\x00" * 8
        token += struct.pack("<HHI", len(target_info), len(target_info),
                             payload_offset + len(target_name))
        token += _VERSION
        token += target_name + target_info
        self.challenge_token = bytes(token)
        return self.challenge_token

    def authenticate(self, token: bytes, password_for: dict[str, str]) -> Authenticated:
        """Verify an AUTHENTICATE token; ``password_for`` maps lower-case user to password."""
        if message_type(token) != 3:
            raise NtlmError("expected an NTLM AUTHENTICATE message")
        if not self.server_challenge:
            raise NtlmError("AUTHENTICATE before CHALLENGE")
        nt_response = _field(token, 20)
        domain = _field(token, 28).decode("utf-16-le", "replace")
        user = _field(token, 36).decode("utf-16-le", "replace")
        workstation = _field(token, 44).decode("utf-16-le", "replace")
        encrypted_key = _field(token, 52)
        flags = struct.unpack_from("<I", token, 60)[0]
        if len(nt_response) <= 24:
            raise NtlmError("not an NTLMv2 response (NTLMv1 and anonymous are refused)")
        password = password_for.get(user.lower())
        if password is None:
            raise NtlmError(f"unknown user {user!r}")
        proof, blob = nt_response[:16], nt_response[16:]
        key_nt = ntowfv2(password, user, domain)
        if not hmac.compare_digest(_hmac_md5(key_nt, self.server_challenge + blob), proof):
            raise NtlmError("the NTLMv2 response does not match the password")
        session_base_key = _hmac_md5(key_nt, proof)
        exported = session_base_key
        if flags & NEGOTIATE_KEY_EXCH and (flags & (NEGOTIATE_SIGN | NEGOTIATE_SEAL)):
            if len(encrypted_key) != 16:
                raise NtlmError("KEY_EXCH without a 16-byte session key")
            exported = Rc4(session_base_key).update(encrypted_key)
        self.flags = flags
        self.result = Authenticated(user, domain, workstation, flags, exported)
        self._start_security(exported)
        return self.result

    def _start_security(self, key: bytes) -> None:
        def derive(text: bytes) -> bytes:
            return hashlib.md5(key + text).digest()  # noqa: S324 - the protocol's KDF

        c2s = b"session key to client-to-server"
        s2c = b"session key to server-to-client"
        self._sign_in = derive(c2s + b" signing key magic constant\x00")
        self._sign_out = derive(s2c + b" signing key magic constant\x00")
        seal_len = 16 if self.flags & NEGOTIATE_128 else (7 if self.flags & NEGOTIATE_56 else 5)
        self._seal_in = Rc4(derive_seal(key, seal_len, c2s))
        self._seal_out = Rc4(derive_seal(key, seal_len, s2c))
        self._seq_in = self._seq_out = 0

    def unseal(self, signature: bytes, sealed: bytes) -> bytes:
        """Decrypt a client message and verify its signature (sequence numbers in order)."""
        if self._seal_in is None:
            raise NtlmError("no session security")
        if len(signature) != 16:
            raise NtlmError("the signature is not 16 bytes")
        message = self._seal_in.update(sealed)
        checksum = _hmac_md5(self._sign_in, struct.pack("<I", self._seq_in) + message)[:8]
        if self.flags & NEGOTIATE_KEY_EXCH:
            checksum = self._seal_in.update(checksum)
        expected = struct.pack("<I", 1) + checksum + struct.pack("<I", self._seq_in)
        if not hmac.compare_digest(expected, signature):
            raise NtlmError("the message signature does not verify")
        self._seq_in += 1
        return message

    def seal(self, message: bytes) -> tuple[bytes, bytes]:
        """Encrypt a server message: (signature, sealed)."""
        if self._seal_out is None:
            raise NtlmError("no session security")
        sealed = self._seal_out.update(message)
        checksum = _hmac_md5(self._sign_out, struct.pack("<I", self._seq_out) + message)[:8]
        if self.flags & NEGOTIATE_KEY_EXCH:
            checksum = self._seal_out.update(checksum)
        signature = struct.pack("<I", 1) + checksum + struct.pack("<I", self._seq_out)
        self._seq_out += 1
        return signature, sealed


def derive_seal(key: bytes, length: int, direction: bytes) -> bytes:
    """SEALKEY with extended session security ([MS-NLMP] 3.4.5.3)."""
    return hashlib.md5(key[:length] + direction  # noqa: S324 - the protocol's KDF
                       + b" sealing key magic constant\x00").digest()
