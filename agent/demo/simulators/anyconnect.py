"""An AnyConnect gateway's first answer over HTTPS, modelled on ocserv 1.1.6.

A ``POST /`` carrying ``X-Aggregate-Auth: 1`` and a ``<config-auth type="init">`` body
(or, like ocserv, a ``GET /`` from an AnyConnect/OpenConnect User-Agent) gets the
``auth-request`` form ocserv sends with ``select-group`` configured (reference F.2,
captured from ocserv 1.1.6; template ``OC_LOGIN_START`` in ocserv's
``src/worker-auth.c``): a ``<version who="sg">0.1(1)</version>``, a username input and a
``<select name="group_list">`` with one option per group. ``flavor="asa"`` answers as a
Cisco ASA does instead: its own version, ``<opaque is-for="sg">`` with the tunnel group,
and a password input (openconnect ``auth.c`` comments, reference F.2). Anything else gets
a 404. It never authenticates anyone.
"""

from __future__ import annotations

import socket
import ssl
from xml.sax.saxutils import escape, quoteattr

from accessready.agent.demo.simulators.stream import StreamServer, http_response, read_http_request


def auth_request_xml(groups: tuple[str, ...], flavor: str = "ocserv",
                     message: str = "Please enter your username.") -> bytes:
    """The ``auth-request`` document a gateway answers the init request with."""
    options = "".join(f"<option value={quoteattr(g)}>{escape(g)}</option>\n" for g in groups)
    select = (f'<select name="group_list" label="Group:">\n{options}</select>\n'
              if groups else "")
    if flavor == "asa":
        first = groups[0] if groups else "DefaultWEBVPNGroup"
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<config-auth client="vpn" type="auth-request" aggregate-auth-version="2">\n'
            '<opaque is-for="sg">\n'
            f"<tunnel-group>{escape(first)}</tunnel-group>\n"
            "<config-hash>1595829378234</config-hash>\n</opaque>\n"
            '<auth id="main">\n<title>Login</title>\n'
            f"<message>{escape(message)}</message>\n"
            '<form method="post" action="/+webvpn+/index.html">\n'
            '<input type="text" name="username" label="Username:" />\n'
            '<input type="password" name="password" label="Password:" />\n'
            f"{select}</form>\n</auth>\n</config-auth>\n").encode()
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<config-auth client="vpn" type="auth-request">\n'
        '<version who="sg">0.1(1)</version>\n'
        '<auth id="main">\n'
        f"<message>{escape(message)}</message>\n"
        '<form method="post" action="/auth">\n'
        '<input type="text" name="username" label="Username:" />\n'
        f"{select}</form></auth>\n</config-auth>\n").encode()


class AnyConnectSimulator:
    """An HTTPS AnyConnect gateway on ``host:port`` offering ``groups``."""

    def __init__(self, tls: ssl.SSLContext, groups: tuple[str, ...] = ("staff", "students"),
                 host: str = "127.0.0.1", port: int = 0, *, flavor: str = "ocserv",
                 message: str = "Please enter your username.") -> None:
        self.body = auth_request_xml(groups, flavor, message)
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self._server = StreamServer(self._handle, host, port, tls=tls, name="anyconnect-sim")
        self.host, self.port = self._server.host, self._server.port

    def start(self) -> AnyConnectSimulator:
        """Start serving."""
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.stop()

    def __enter__(self) -> AnyConnectSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _handle(self, conn: socket.socket) -> None:
        request = read_http_request(conn)
        if request is None:
            return
        self.requests.append(request)
        method, _target, headers, body = request
        agent = headers.get("user-agent", "").lower()
        init = (method == "POST" and headers.get("x-aggregate-auth") == "1"
                and b"<config-auth" in body and b'type="init"' in body)
        client_get = method == "GET" and ("anyconnect" in agent or "openconnect" in agent)
        if init or client_get:
            conn.sendall(http_response(200, "OK", self.body, [
                ("Set-Cookie", "webvpncontext=; expires=Thu, 01 Jan 1970 22:00:00 GMT; "
                               "path=/; Secure; HttpOnly"),
                ("Content-Type", "text/xml"), ("X-Transcend-Version", "1")]))
            return
        conn.sendall(http_response(404, "Not Found", b"Not found\n",
                                   [("Content-Type", "text/plain")]))
