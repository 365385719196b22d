"""A small threaded TCP (optionally TLS) server on loopback that simulators build on.

Each accepted connection runs ``handler(conn)`` on its own daemon thread with a socket
timeout, so a client that stalls never blocks the others or :meth:`StreamServer.stop`.
For TLS the handshake happens on that thread too (``do_handshake_on_connect=False``):
a silent client cannot hold up ``accept``.

Also: :func:`read_http_request`, a bounded reader for the tiny HTTP servers the AnyConnect
and Check Point simulators are, and :class:`LocalHTTPServer`, the base of every
``http.server`` based simulator.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import ssl
import threading
from collections.abc import Callable
from http.server import ThreadingHTTPServer

Handler = Callable[[socket.socket], None]

MAX_REQUEST = 256 * 1024


class LocalHTTPServer(ThreadingHTTPServer):
    """``ThreadingHTTPServer`` without the reverse DNS look-up at start.

    ``HTTPServer.server_bind`` sets ``server_name`` from ``socket.getfqdn(host)``: a PTR
    query to the machine's real resolver for every simulator started — slow or hanging
    where DNS is dead, and traffic off the loopback during tests and the demo. The name
    is only used for CGI environment variables, so the bound address serves as well.
    """

    def server_bind(self) -> None:
        """Bind, and name the server after its address (no ``getfqdn``)."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)


def serve_quietly(stop: threading.Event, serve: Callable[[], None]) -> None:
    """Run a simulator's ``serve`` loop; its sockets closed under it by ``stop`` (even
    before this thread got going) end it quietly, not as a thread's traceback."""
    try:
        serve()
    except (OSError, ValueError):
        if not stop.is_set():
            raise


def accept_loop(listener: socket.socket, stop: threading.Event, handle: Handler,
                name: str) -> None:
    """Accept on ``listener`` until ``stop`` is set; each connection runs ``handle(conn)`` on
    its own daemon thread called ``name``. The listener polls (0.2 s) so a stop is seen."""
    try:
        listener.settimeout(0.2)
    except OSError:  # stopped (its listener closed) before this thread got going
        return
    while not stop.is_set():
        try:
            conn, _ = listener.accept()
        except (TimeoutError, OSError):
            continue
        threading.Thread(target=handle, args=(conn,), daemon=True, name=name).start()


class StreamServer:
    """Serve ``handler`` on ``host:port`` (port 0: any free port) until :meth:`stop`."""

    def __init__(self, handler: Handler, host: str = "127.0.0.1", port: int = 0, *,
                 tls: ssl.SSLContext | None = None, conn_timeout: float = 5.0,
                 name: str = "sim") -> None:
        self.handler = handler
        self.tls = tls
        self.conn_timeout = conn_timeout
        self.name = name
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self._sock.listen(32)
        self._sock.settimeout(0.2)
        self.host = host
        self.port = self._sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=f"{name}-accept", daemon=True)

    @property
    def address(self) -> str:
        """``host:port``."""
        return f"{self.host}:{self.port}"

    def start(self) -> StreamServer:
        """Start accepting in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting and close the listening socket."""
        self._stop.set()
        self._thread.join(timeout=2)
        self._sock.close()

    def __enter__(self) -> StreamServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self) -> None:
        accept_loop(self._sock, self._stop, self._one, f"{self.name}-conn")

    def _one(self, conn: socket.socket) -> None:
        self.connections += 1
        conn.settimeout(self.conn_timeout)
        try:
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True,
                                            do_handshake_on_connect=False)
                conn.do_handshake()
            self.handler(conn)
        except (OSError, ssl.SSLError, ValueError):
            pass  # a client that goes away or speaks garbage is not the simulator's problem
        finally:
            with contextlib.suppress(OSError):
                conn.close()


def read_exact(conn: socket.socket, count: int) -> bytes:
    """Read exactly ``count`` bytes, or fewer if the peer closes first."""
    data = b""
    while len(data) < count:
        chunk = conn.recv(count - len(data))
        if not chunk:
            break
        data += chunk
    return data


def read_http_request(conn: socket.socket) -> tuple[str, str, dict[str, str], bytes] | None:
    """Read one HTTP/1.1 request: (method, target, lower-case headers, body), or None.

    Bounded: the head and body together may not exceed :data:`MAX_REQUEST` bytes.
    """
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
        if len(data) > MAX_REQUEST:
            return None
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3:
        return None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    if length > MAX_REQUEST:
        return None
    while len(body) < length:
        chunk = conn.recv(min(65536, length - len(body)))
        if not chunk:
            break
        body += chunk
    return parts[0], parts[1], headers, body


def http_response(status: int, reason: str, body: bytes,
                  headers: list[tuple[str, str]] | None = None) -> bytes:
    """Serialise a ``Connection: close`` HTTP/1.1 response."""
    lines = [f"HTTP/1.1 {status} {reason}"]
    for name, value in headers or []:
        lines.append(f"{name}: {value}")
    lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
