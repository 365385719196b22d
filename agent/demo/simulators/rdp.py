"""An RDP listener that answers only the X.224 connection negotiation, for the demo.

Policies, as the real servers answer ``remote.rdp``'s three requests:

* ``nla_required`` — Windows with "Allow connections only from computers running Remote
  Desktop with Network Level Authentication": a request without CredSSP gets
  RDP_NEG_FAILURE ``HYBRID_REQUIRED_BY_SERVER`` (5); a request offering CredSSP gets it
  selected (HYBRID_EX when offered), flags 0x1F as in nmap's "Microsoft Terminal
  Services" signature;
* ``tls`` — xrdp 0.9 with ``security_layer=negotiate``: TLS when the request has the TLS
  bit (also when CredSSP was asked for: xrdp has no NLA), classic RDP security otherwise.
* ``unknown_failure`` — a server that refuses requests without CredSSP with a failure
  code [MS-RDPBCGR] does not define (``UNKNOWN_FAILURE_CODE``) and selects CredSSP when
  offered: nothing it says tells whether NLA is *required*.

After the Connection Confirm the connection is closed: nothing else of RDP is spoken.
"""

from __future__ import annotations

import socket
import struct

from accessready.agent.demo.simulators.stream import StreamServer

# TPKT + X.224 CC, dst-ref 0, src-ref 0x1234 (as Windows and xrdp send it), class 0.
_CC_PREFIX = bytes.fromhex("03 00 00 13 0e d0 00 00 12 34 00")
_HYBRID, _HYBRID_EX, _SSL = 0x02, 0x08, 0x01
UNKNOWN_FAILURE_CODE = 0x2A


def confirm(requested: int | None, policy: str) -> bytes:
    """The Connection Confirm for a request's requestedProtocols (None: no RDP_NEG_REQ)."""
    if requested is None:
        return bytes.fromhex("03 00 00 0b 06 d0 00 00 12 34 00")
    if policy in ("nla_required", "unknown_failure"):
        refusal = 5 if policy == "nla_required" else UNKNOWN_FAILURE_CODE
        if requested & _HYBRID_EX:
            neg = struct.pack("<BBHI", 2, 0x1F, 8, _HYBRID_EX)
        elif requested & _HYBRID:
            neg = struct.pack("<BBHI", 2, 0x1F, 8, _HYBRID)
        else:
            neg = struct.pack("<BBHI", 3, 0, 8, refusal)
    else:
        neg = struct.pack("<BBHI", 2, 0x01, 8, _SSL if requested & _SSL else 0)
    return _CC_PREFIX + neg


def requested_protocols(request: bytes) -> int | None:
    """requestedProtocols of an X.224 Connection Request (None when it carries no NEG_REQ)."""
    if len(request) >= 19 and request[-8] == 0x01:
        return struct.unpack_from("<I", request, len(request) - 4)[0]
    return None


class RdpSimulator:
    """Answers X.224 negotiation on loopback; ``start()``, ``port``, ``stop()``."""

    def __init__(self, policy: str = "nla_required", host: str = "127.0.0.1") -> None:
        if policy not in ("nla_required", "tls", "unknown_failure"):
            raise ValueError(f"unknown policy {policy}")
        self.policy = policy
        self._server = StreamServer(self._answer, host, conn_timeout=2.0, name="rdp-sim")
        self.host, self.port = self._server.host, self._server.port

    def start(self) -> RdpSimulator:
        """Accept in the background."""
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop accepting."""
        self._server.stop()

    def _answer(self, sock: socket.socket) -> None:
        head = sock.recv(4)
        if len(head) < 4 or head[0] != 3:
            return
        length = struct.unpack(">H", head[2:4])[0]
        body = b""
        while len(head) + len(body) < length:
            chunk = sock.recv(length - 4 - len(body))
            if not chunk:
                break
            body += chunk
        sock.sendall(confirm(requested_protocols(head + body), self.policy))
