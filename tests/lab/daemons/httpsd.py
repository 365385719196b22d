"""A small HTTPS server standing in for AD FS and the Web Application Proxy.

Run as a script (``python httpsd.py CONFIG.json``) inside a lab host; it imports nothing from
the lab. The config lists listeners (address, port, certificate, key; or ``"tls": false``
for plain HTTP, or ``"raw": true`` for a bare TCP port that accepts and closes) and a map of
paths to canned responses. Each listener has its own certificate, so one host can offer the
valid, expiring, expired, wrong-name and self-signed variants on different ports.
"""

from __future__ import annotations

import json
import signal
import socket
import socketserver
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


def make_handler(routes: dict[str, dict[str, Any]], server_header: str) -> type:
    """A request handler class serving ``routes``."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = server_header
        sys_version = ""

        def _respond(self, with_body: bool) -> None:
            path = self.path.split("?", 1)[0]
            route = routes.get(path) or routes.get(path.lower())
            if route is None:
                status, ctype, body = 404, "text/html; charset=utf-8", b"<h1>Not Found</h1>"
            else:
                status = int(route.get("status", 200))
                ctype = route.get("type", "text/html; charset=utf-8")
                body = route.get("body", "").encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if with_body:
                self.wfile.write(body)

        def do_GET(self) -> None:
            self._respond(True)

        def do_HEAD(self) -> None:
            self._respond(False)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if 0 < length < 1_000_000:
                self.rfile.read(length)
            self._respond(True)

        def log_message(self, format: str, *args: Any) -> None:
            sys.stderr.write(
                f"{self.server.server_address[1]} {self.client_address[0]} {format % args}\n"
            )

    return Handler


class _Server(ThreadingHTTPServer):
    """HTTP(S) server that does the TLS handshake on the request's own thread, so a client
    that connects and says nothing (a port scan) never blocks the others."""

    daemon_threads = True
    tls: ssl.SSLContext | None = None

    def server_bind(self) -> None:
        # HTTPServer.server_bind would call socket.getfqdn(): a reverse DNS lookup at start.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(15)
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        try:
            wrapped = self.tls.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError) as exc:
            sys.stderr.write(f"{self.server_address[1]} {client_address[0]} TLS: {exc}\n")
            return
        try:
            super().finish_request(wrapped, client_address)
        finally:
            wrapped.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        sys.stderr.write(f"{self.server_address[1]} {client_address[0]} error: {exc!r}\n")


class _RawServer(threading.Thread):
    """Accept TCP connections and close them (an open port with nothing behind it)."""

    def __init__(self, address: str, port: int) -> None:
        super().__init__(daemon=True)
        self.sock = socket.create_server((address, port), reuse_port=False)

    def run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.close()


def main(argv: list[str]) -> int:
    """Start every listener, then wait for SIGTERM."""
    config = json.loads(Path(argv[1]).read_text())
    routes = config.get("routes", {})
    handler = make_handler(routes, config.get("server_header", "Microsoft-HTTPAPI/2.0"))
    servers: list[_Server] = []
    for listener in config["listeners"]:
        address, port = listener["address"], int(listener["port"])
        if listener.get("raw"):
            _RawServer(address, port).start()
            continue
        httpd = _Server((address, port), handler)
        if listener.get("tls", True):
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(listener["cert"], listener["key"])
            httpd.tls = ctx
        servers.append(httpd)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print("httpsd ready", flush=True)
    stop.wait()
    for httpd in servers:
        httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
