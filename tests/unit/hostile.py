"""Hostile peers on loopback for probe tests: silence, resets, garbage, floods, bombs.

Each is a :class:`~accessready.agent.demo.simulators.stream.StreamServer` (TCP, optionally TLS)
or a UDP responder; every one stops by itself when its ``with`` block ends.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import threading
import time

from accessready.agent.demo.simulators.stream import (
    StreamServer,
    accept_loop,
    http_response,
    read_http_request,
)

TEN_MB = 10 * 1024 * 1024


def _drain_until_closed(conn: socket.socket) -> None:
    """Say nothing; wait until the client gives up (bounded by the server's timeout)."""
    try:
        while conn.recv(4096):
            pass
    except OSError:
        pass


def _reset(conn: socket.socket) -> None:
    """Close with SO_LINGER 0: the kernel answers with a RST instead of a FIN."""
    with contextlib.suppress(OSError):
        conn.recv(4096)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def _garbage(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        conn.recv(4096)
    conn.sendall(b"\xde\xad\xbe\xef" * 64 + os.urandom(256))


def _flood(conn: socket.socket) -> None:
    """Send 10 MB whatever the client says (stops when it hangs up)."""
    with contextlib.suppress(OSError):
        conn.recv(4096)
    chunk = b"A" * 65536
    sent = 0
    try:
        while sent < TEN_MB:
            conn.sendall(chunk)
            sent += len(chunk)
    except OSError:
        pass


def _drip(conn: socket.socket) -> None:
    """One byte every 100 ms: a slow-loris answer that never completes."""
    try:
        for _ in range(200):
            conn.sendall(b"\x00")
            time.sleep(0.1)
    except OSError:
        pass


BEHAVIOURS = {"silent": _drain_until_closed, "reset": _reset, "garbage": _garbage,
              "flood": _flood, "drip": _drip}


def tcp(behaviour: str, tls=None) -> StreamServer:  # type: ignore[no-untyped-def]
    """A TCP (or TLS) server that behaves badly in the named way."""
    return StreamServer(BEHAVIOURS[behaviour], tls=tls, conn_timeout=6, name=behaviour)


def http(status: int, body: bytes, tls=None, headers=None) -> StreamServer:  # type: ignore[no-untyped-def]
    """An HTTP(S) server answering every request with ``status`` and ``body``."""
    def handle(conn: socket.socket) -> None:
        if read_http_request(conn) is not None:
            conn.sendall(http_response(status, "X", body, headers or []))
    return StreamServer(handle, tls=tls, name="http")


def http_flood(tls=None) -> StreamServer:  # type: ignore[no-untyped-def]
    """HTTP 200 that announces and sends a 10 MB body."""
    def handle(conn: socket.socket) -> None:
        if read_http_request(conn) is None:
            return
        conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {TEN_MB}\r\n\r\n".encode())
        _flood(conn)
    return StreamServer(handle, tls=tls, name="http-flood")


XML_BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<config-auth client="vpn" type="auth-request"><auth id="main"><message>&lol3;</message>
</auth></config-auth>"""


class Udp:
    """A UDP peer: ``silent``, ``garbage`` (random bytes), ``echo`` (reflects the request),
    ``huge`` (a 65 000-byte datagram) or ``icmp`` (nothing bound: port unreachable)."""

    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.received = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        if behaviour == "icmp":
            self.sock.close()

    def __enter__(self) -> Udp:
        if self.behaviour != "icmp":
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self.behaviour != "icmp":
            self._thread.join(2)
            self.sock.close()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(65535)
            except (TimeoutError, OSError):
                continue
            self.received += 1
            if self.behaviour == "garbage":
                self.sock.sendto(os.urandom(64), peer)
            elif self.behaviour == "echo":
                self.sock.sendto(data, peer)
            elif self.behaviour == "huge":
                self.sock.sendto(b"\x00" * 65000, peer)


# -- a peer that never speaks SSH (or WinRM) properly -----------------------------------

class HostileServer:
    """A TCP peer that never speaks SSH properly: ``silent`` (accepts, says nothing),
    ``garbage`` (answers an HTTP line), ``close`` (hangs up at once) or ``slow`` (a
    real-looking banner after ``delay`` seconds, then silence)."""

    def __init__(self, mode: str, delay: float = 0.0, host: str = "127.0.0.1") -> None:
        if mode not in ("silent", "garbage", "close", "slow"):
            raise ValueError(f"unknown mode {mode}")
        self.mode = mode
        self.delay = delay
        self._listener = socket.create_server((host, 0))
        self.host, self.port = self._listener.getsockname()[:2]
        self._stop = threading.Event()
        self._open: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, name=f"hostile-{mode}", daemon=True)

    def start(self) -> HostileServer:
        """Accept in the background."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close everything."""
        self._stop.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        for sock in self._open:
            with contextlib.suppress(OSError):
                sock.close()

    def _serve(self) -> None:
        accept_loop(self._listener, self._stop, self._handle, f"hostile-{self.mode}-conn")

    def _handle(self, sock: socket.socket) -> None:
        self._open.append(sock)
        with contextlib.suppress(OSError):
            if self.mode == "close":
                sock.close()
            elif self.mode == "garbage":
                sock.sendall(b"HTTP/1.1 400 Bad Request\r\nServer: nginx\r\n\r\n")
            elif self.mode == "slow":
                self._stop.wait(self.delay)
                sock.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n")
            # silent: hold the connection open and say nothing
