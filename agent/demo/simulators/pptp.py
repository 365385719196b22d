"""A PPTP control-connection responder (TCP) that answers like pptpd 1.4.0.

It reads a Start-Control-Connection-Request and answers with a Start-Control-Connection-
Reply shaped like the one pptpd 1.4.0 (Debian 12) sends — captured on loopback while this
module was written (reference section D.2 agrees)::

    00 9c 00 01 1a 2b 3c 4d 00 02 00 00 01 00 01 00  00 00 00 00 00 00 00 00 00 01 00 01
    "local" (host name, 64 bytes NUL-padded)  "linux" (vendor, 64 bytes)

i.e. version 1.0, result 1 (success), framing 0, bearer 0, max channels 1, firmware 1.
A request that is not a well-formed SCCRQ gets no answer and the connection is closed, as
pptpd does. A Stop-Control-Connection-Request after the reply is acknowledged. It serves
no calls and carries no GRE: it stands in for the control channel only.
"""

from __future__ import annotations

import socket
import struct

from accessready.agent.demo.simulators.stream import StreamServer, read_exact
from accessready.checks.protocols.pptp import MAGIC_COOKIE

_HEADER = struct.Struct(">HHIHH")


def build_sccrp(result_code: int = 1, error_code: int = 0, host_name: str = "local",
                vendor: str = "linux", firmware: int = 1, max_channels: int = 1,
                framing: int = 0, bearer: int = 0) -> bytes:
    """A 156-byte Start-Control-Connection-Reply with pptpd's defaults."""
    body = struct.pack(">HBBIIHH64s64s", 0x0100, result_code, error_code, framing, bearer,
                       max_channels, firmware,
                       host_name.encode("latin-1", "replace")[:64].ljust(64, b"\0"),
                       vendor.encode("latin-1", "replace")[:64].ljust(64, b"\0"))
    return _HEADER.pack(156, 1, MAGIC_COOKIE, 2, 0) + body


def _stop_reply() -> bytes:
    """Stop-Control-Connection-Reply (type 4): result 1, 16 bytes."""
    return _HEADER.pack(16, 1, MAGIC_COOKIE, 4, 0) + struct.pack(">BBH", 1, 0, 0)


class PptpSimulator:
    """Answers SCCRQ on ``host:port`` (port 0: a free port)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, result_code: int = 1,
                 host_name: str = "local", vendor: str = "linux", firmware: int = 1) -> None:
        self.reply = build_sccrp(result_code=result_code, host_name=host_name, vendor=vendor,
                                 firmware=firmware)
        self.requests: list[bytes] = []
        self.stops = 0
        self._server = StreamServer(self._handle, host, port, name="pptp-sim")
        self.host, self.port = self._server.host, self._server.port

    @property
    def address(self) -> str:
        """``host:port``."""
        return self._server.address

    def start(self) -> PptpSimulator:
        """Start serving."""
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.stop()

    def __enter__(self) -> PptpSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _handle(self, conn: socket.socket) -> None:
        request = read_exact(conn, 156)
        if len(request) < 156:
            return
        length, msg_type, magic, ctrl_type, _ = _HEADER.unpack_from(request)
        if (length, msg_type, magic, ctrl_type) != (156, 1, MAGIC_COOKIE, 1):
            return  # pptpd drops a connection that does not open with an SCCRQ
        self.requests.append(request)
        conn.sendall(self.reply)
        stop = read_exact(conn, 16)
        if len(stop) == 16 and _HEADER.unpack_from(stop)[3] == 3:
            self.stops += 1
            conn.sendall(_stop_reply())
