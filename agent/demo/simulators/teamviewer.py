"""TeamViewer routers for the demo: :class:`RouterSimulator` listens on one or more
loopback ports and accepts (then closes) every connection, as a TeamViewer router does at
the TCP level. (The demo's TeamViewer host is a WinRM recording, ``teamviewer-demo``.)
"""

from __future__ import annotations

import socket

from accessready.agent.demo.simulators.stream import StreamServer


class RouterSimulator:
    """Accepts TCP connections on ``count`` loopback ports (or the given ``ports``)."""

    def __init__(self, count: int = 1, host: str = "127.0.0.1",
                 ports: tuple[int, ...] = ()) -> None:
        wanted = list(ports) or [0] * count
        self._servers = [StreamServer(self._handle, host, port, name="tv-router")
                         for port in wanted]
        self.host = host
        self.ports = tuple(s.port for s in self._servers)

    @staticmethod
    def _handle(conn: socket.socket) -> None:
        """Accept and close: a router's TCP handshake, no TeamViewer protocol."""

    def start(self) -> RouterSimulator:
        """Start every listener."""
        for server in self._servers:
            server.start()
        return self

    def stop(self) -> None:
        """Stop every listener."""
        for server in self._servers:
            server.stop()

    def __enter__(self) -> RouterSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
