"""The SSH probe's key exchange on a blocking socket, without paramiko (issue 13).

``remote.ssh`` needs only the server's banner, its host key (proved by the signature over
the exchange hash) and the negotiated cipher. paramiko builds a Transport and a reader
thread per target for that; :func:`exchange` does it on the caller's thread with the pure
codec :mod:`accessready.checks.protocols.sshkex`: identification lines, both KEXINITs, one
ECDH exchange, the signature check, then a polite DISCONNECT. No NEWKEYS is sent: nothing
is ever encrypted, no credential exists here.

Every receive and send takes its timeout from the deadline at the moment it starts, so a
busy process never stretches a stage beyond the promise (issue 13, item 1). A server that
needs what is not implemented here (a finite-field or post-quantum key exchange only, a
host key type we cannot verify) raises :class:`Unsupported`: the caller then runs paramiko
on a new connection.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from accessready.agent.io.net import IoClock
from accessready.agent.io.transports.base import TransportError
from accessready.checks.protocols import sshkex
from accessready.checks.protocols.sshkex import KexInit, SshCodecError

CLIENT_VERSION = b"SSH-2.0-accessready_1.0"
"""Our identification line (without CR LF): stable, so server logs can tell probes apart."""

KEX_OFFER = ("curve25519-sha256", "curve25519-sha256@libssh.org", "ecdh-sha2-nistp256",
             "ecdh-sha2-nistp384", "ecdh-sha2-nistp521")
CIPHER_OFFER = ("aes128-ctr", "aes192-ctr", "aes256-ctr", "aes128-cbc", "aes192-cbc",
                "aes256-cbc", "3des-cbc", "aes128-gcm@openssh.com", "aes256-gcm@openssh.com")
"""paramiko's order, so the cipher reported is the one a paramiko login negotiates."""
MAC_OFFER = ("hmac-sha2-256", "hmac-sha2-512", "hmac-sha2-256-etm@openssh.com",
             "hmac-sha2-512-etm@openssh.com", "hmac-sha1")
"""paramiko's, without its MD5 and truncated ones (a server needing those gets paramiko)."""
COMPRESSION_OFFER = ("none",)
_AEAD = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com")  # their MAC is built in

MAX_SKIPPED = 64
"""IGNORE/DEBUG packets tolerated before the one awaited: a bound on a chatty peer."""
_RECV = 4096


class Unsupported(Exception):
    """The server needs an algorithm this module does not implement; paramiko may."""


@dataclass(frozen=True)
class Native:
    """What the exchange proved."""

    banner: str
    """The server's identification line without CR LF."""
    host_key: sshkex.HostKey
    cipher: str
    """The negotiated server-to-client cipher."""
    kex: str


class _Closed(Exception):
    """The peer ended the connection (EOF, reset or DISCONNECT)."""

    def __init__(self, disconnect: sshkex.Disconnect | None = None) -> None:
        super().__init__("closed")
        self.disconnect = disconnect


class _Expired(Exception):
    """The deadline passed while waiting for the peer."""


class _Link:
    """The socket with a read buffer; each I/O bounded by what is left of ``deadline``."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock = sock
        self.deadline = deadline
        self.buffer = bytearray()
        self._clock = IoClock(deadline)

    def _timeout(self) -> float:
        try:
            return self._clock.timeout()
        except TimeoutError:
            raise _Expired from None

    def send(self, data: bytes) -> None:
        self.sock.settimeout(self._timeout())
        try:
            self.sock.sendall(data)
        except TimeoutError:
            raise _Expired from None
        except OSError:
            raise _Closed from None

    def fill(self) -> None:
        """Read what the peer sent next into the buffer."""
        self.sock.settimeout(self._timeout())
        try:
            chunk = self.sock.recv(_RECV)
        except TimeoutError:
            raise _Expired from None
        except OSError:  # reset, aborted: the peer is gone
            raise _Closed from None
        if not chunk:
            raise _Closed
        self.buffer += chunk

    def identification(self) -> sshkex.Identification:
        reader = sshkex.IdentificationReader()
        while (found := reader.feed(bytes(self.buffer))) is None:
            self.buffer.clear()
            self.fill()
        self.buffer = reader.buffer
        return found

    def packet(self) -> bytes:
        """The next payload that is not IGNORE/DEBUG/UNIMPLEMENTED; DISCONNECT ends it."""
        for _ in range(MAX_SKIPPED + 1):
            while (found := sshkex.unframe(self.buffer)) is None:
                self.fill()
            payload, used = found
            del self.buffer[:used]
            kind = sshkex.message_type(payload)
            if kind == sshkex.MSG_DISCONNECT:
                raise _Closed(sshkex.parse_disconnect(payload))
            if kind not in sshkex.SKIPPABLE:
                return payload
        raise SshCodecError(f"the server sent more than {MAX_SKIPPED} IGNORE/DEBUG messages "
                            "in a row")


def client_kexinit(host_key_algorithms: Sequence[str]) -> KexInit:
    """Our KEXINIT: the host key algorithms we verify, in the caller's order."""
    return KexInit(os.urandom(16), KEX_OFFER,
                   tuple(a for a in host_key_algorithms if a in sshkex.HOST_KEY_TYPES),
                   CIPHER_OFFER, CIPHER_OFFER, MAC_OFFER, MAC_OFFER, COMPRESSION_OFFER,
                   COMPRESSION_OFFER)


def _choose(ours: KexInit, theirs: KexInit, host_key_algorithms: Sequence[str],
            where: str, details: dict[str, Any]) -> tuple[str, str, str]:
    """The kex, host key algorithm and server-to-client cipher, or why there are none."""
    # What the caller's whole list (its SSH library's, known key types first) would agree
    # on decides: one this module cannot verify — or none at all — is for that library to
    # meet, so its negotiation and its words are the same on both paths (an older paramiko
    # still speaks ssh-rsa and ssh-dss; the host's known_hosts may hold only those).
    wanted = sshkex.negotiate(host_key_algorithms, theirs.host_key)
    if wanted is None or wanted not in sshkex.HOST_KEY_TYPES:
        raise Unsupported(f"host key algorithms {_names(theirs.host_key)}")
    host_key = sshkex.negotiate(ours.host_key, theirs.host_key)
    if host_key != wanted:  # cannot be (ours is the caller's list less what we cannot
        raise Unsupported("host key algorithm order")  # verify); never verify another
    kex = sshkex.negotiate(ours.kex, theirs.kex)
    if kex is None:
        raise Unsupported(f"key exchange methods {_names(theirs.kex)}")
    chosen = []
    for what, mine, server in (("ciphers", ours.cipher_c2s, theirs.cipher_c2s),
                               ("ciphers", ours.cipher_s2c, theirs.cipher_s2c),
                               ("compression", ours.compression_c2s, theirs.compression_c2s),
                               ("compression", ours.compression_s2c, theirs.compression_s2c)):
        name = sshkex.negotiate(mine, server)
        if name is None:  # paramiko offers these very lists: it could not log in either
            raise TransportError("protocol", f"{where} and this client share no SSH "
                                 f"algorithms: no {what} in common (the server offers "
                                 f"{_names(server)})", details)
        chosen.append(name)
    for cipher, mine, server in ((chosen[0], ours.mac_c2s, theirs.mac_c2s),
                                 (chosen[1], ours.mac_s2c, theirs.mac_s2c)):
        # paramiko knows a few older MACs we do not offer: it decides about those servers
        if cipher not in _AEAD and sshkex.negotiate(mine, server) is None:
            raise Unsupported(f"MACs {_names(server)}")
    return kex, host_key, chosen[1]


def _names(names: Sequence[str]) -> str:
    """A server's name-list for a message: bounded, however long the list."""
    text = ", ".join(names) or "none"
    return text if len(text) <= 300 else text[:300] + "…"


def exchange(sock: socket.socket, host: str, port: int, deadline: float,
             host_key_algorithms: list[str], *, evidence: dict[str, Any] | None = None,
             timeout: float | None = None) -> Native:
    """Run the key exchange on ``sock`` (connected; the server's first bytes, still unread,
    start with "SSH-") until the server's host key signature is verified.

    ``host_key_algorithms`` is the caller's preference (known key types first);
    ``evidence`` goes into every error's details; ``timeout`` is the probe's whole
    timeout, for the message (default: what is left of ``deadline`` now). The socket is
    left open: the caller closes it. Raises :class:`TransportError` (``protocol`` or
    ``silent``) or :class:`Unsupported`.
    """
    where = f"{host}:{port}"
    details = {**(evidence or {}), "stage": "kex"}
    if timeout is None:
        timeout = max(0.0, deadline - time.monotonic())
    link = _Link(sock, deadline)
    try:
        return _run(link, host_key_algorithms, where, details)
    except _Closed as closed:
        extra: dict[str, Any] = {"exception": "EOFError"}
        if closed.disconnect is not None:
            extra["disconnect_reason"] = closed.disconnect.reason
            extra["disconnect_description"] = closed.disconnect.description[:200]
        raise TransportError("protocol", f"{where} closed the connection during the key "
                             "exchange", {**details, **extra}) from None
    except _Expired:
        raise TransportError("silent", f"the key exchange with {where} did not finish "
                             f"within {timeout:.1f} s", details) from None
    except sshkex.NotAvailable as exc:  # our library's limit, not the server's fault
        raise Unsupported(str(exc)) from None
    except SshCodecError as exc:
        raise TransportError("protocol", f"the SSH key exchange with {where} failed: {exc}",
                             details) from None


def _run(link: _Link, host_key_algorithms: Sequence[str], where: str,
         details: dict[str, Any]) -> Native:
    server_id = link.identification()
    ours = client_kexinit(host_key_algorithms)
    i_c = ours.build()
    # one write: some servers hang up as soon as they have read the client's first bytes
    link.send(CLIENT_VERSION + b"\r\n" + sshkex.frame(i_c, os.urandom(16)))
    i_s = link.packet()
    if sshkex.message_type(i_s) != sshkex.MSG_KEXINIT:
        raise SshCodecError(f"expected KEXINIT (20), got message {i_s[0]}")
    theirs = sshkex.parse_kexinit(i_s)
    kex, algorithm, cipher = _choose(ours, theirs, host_key_algorithms, where, details)
    agreement = sshkex.Agreement(kex)
    link.send(sshkex.frame(sshkex.ecdh_init(agreement.public), os.urandom(16)))
    reply_payload = link.packet()
    if sshkex.guess_was_wrong(ours, theirs):  # RFC 4253 §7: its guessed packet is dropped
        reply_payload = link.packet()
    reply = sshkex.parse_ecdh_reply(reply_payload)
    host_key = sshkex.parse_host_key(reply.host_key)
    k = agreement.secret(reply.q_s)
    h = sshkex.exchange_hash(kex, CLIENT_VERSION, server_id.line, i_c, i_s, reply.host_key,
                             agreement.public, reply.q_s, k)
    sshkex.verify(host_key, algorithm, reply.signature, h)
    _goodbye(link)
    return Native(server_id.text, host_key, cipher, kex)


def _goodbye(link: _Link) -> None:
    """SSH_MSG_DISCONNECT "by application": the server logs a clean end, not an error."""
    bye = sshkex.Disconnect(sshkex.DISCONNECT_BY_APPLICATION, "probe finished")
    with contextlib.suppress(_Closed, _Expired, OSError):
        link.send(sshkex.frame(bye.build()))
