"""A Check Point remote-access gateway's unauthenticated surface, for tests and the demo.

No Check Point daemon exists in Debian, so this responder is built from published protocol
facts (reference /work/shared/reference/protocols-and-adfs.md, section G; the wire
formats live in the codec :mod:`accessready.checks.protocols.checkpoint`):

* **HTTPS CCC** (G.2): ``POST /clients/`` (or ``/clients``) with a ``(CCCclientRequest``
  body whose ``RequestHeader :type`` is ``ClientHello`` is answered with a
  ``(CCCserverResponse`` carrying ``connectivity_info`` (tunnel protocols, Visitor Mode
  ``tcpt_port``, ``natt_port``, ``client_enabled``) and ``login_options_data`` — field
  names from snx-rs ``crates/snxcore/src/model/proto.rs``; request shape from dlenski's
  what-vpn ``check_point`` sniffer; ``return_code (600)`` from a published ClientHello
  example. Any other body posted there gets an empty ``(CCCserverResponse)`` with an
  error code, as what-vpn's older probe expects a ``(CCCserverResponse`` prefix for any
  CCC request. ``GET /`` returns a landing page naming "Check Point Software
  Technologies" (what-vpn's second signal).
* **TCP 264 topology** (G.1): Metasploit ``auxiliary/gather/checkpoint_hostname``, citing
  Check Point sk69360: ``51 00 00 00`` + ``00 00 00 21`` is answered ``59 00 00 00``; the
  query ``00 00 00 0b "securemote\\0"`` is answered with a DN
  ``CN=<firewall>,O=<management>..<suffix>``. The framing of that last answer is
  undocumented [INF]; we send it length-prefixed and NUL-terminated.
* **UDP 500 IKE** (E.3): an IKEv1/IKEv2 responder sending the 40-byte Check Point vendor
  ID (prefix ``f4ed19e0…381f``, product word 1), from ike-scan's ``ike-vendor-ids``.

Each service can be turned off (``topology=False``, ``ike=False``) to model a gateway
that blocks it from the Internet, which is common and not a fault.
"""

from __future__ import annotations

import re
import socket
import ssl

from accessready.agent.demo.simulators.ike import CHECKPOINT_VID, IkeSimulator
from accessready.agent.demo.simulators.stream import (
    StreamServer,
    http_response,
    read_exact,
    read_http_request,
)
from accessready.checks.protocols.checkpoint import (
    TOPOLOGY_ACK,
    TOPOLOGY_HELLO,
    build_client_hello_reply,
    build_topology_reply,
)

LANDING_PAGE = (b"<html><head><title>Check Point Mobile</title></head><body>"
                b"<p>Check Point Mobile</p><p>R81.20 Check Point Software Technologies "
                b"Ltd.</p></body></html>")


class CheckpointSimulator:
    """HTTPS CCC on ``port``, topology on ``topology_port``, IKE on ``ike_port`` (all TCP/UDP
    on ``host``; 0 picks free ports)."""

    def __init__(self, tls: ssl.SSLContext, host: str = "127.0.0.1", port: int = 0, *,
                 firewall: str = "cpgw01", smartcenter: str = "cpmgmt01",
                 client_enabled: bool = True, topology: bool = True, ike: bool = True,
                 https: bool = True, topology_port: int = 0, ike_port: int = 0,
                 return_code: int = 600) -> None:
        self.firewall = firewall
        self.smartcenter = smartcenter
        self.hello_reply = build_client_hello_reply(client_enabled=client_enabled,
                                                    return_code=return_code,
                                                    server_ip="192.0.2.1")
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self.host = host
        self._https = (StreamServer(self._handle_https, host, port, tls=tls, name="cp-https")
                       if https else None)
        self._topology = (StreamServer(self._handle_topology, host, topology_port,
                                       name="cp-topology") if topology else None)
        self._ike = (IkeSimulator(host, ike_port, None, vendor_ids=(CHECKPOINT_VID,))
                     if ike else None)
        self.port = self._https.port if self._https else port
        self.topology_port = self._topology.port if self._topology else topology_port
        self.ike_port = self._ike.port if self._ike else ike_port

    def start(self) -> CheckpointSimulator:
        """Start every enabled service."""
        for service in (self._https, self._topology, self._ike):
            if service is not None:
                service.start()
        return self

    def stop(self) -> None:
        """Stop every service."""
        for service in (self._https, self._topology, self._ike):
            if service is not None:
                service.stop()

    def __enter__(self) -> CheckpointSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _handle_https(self, conn: socket.socket) -> None:
        request = read_http_request(conn)
        if request is None:
            return
        self.requests.append(request)
        method, target, _headers, body = request
        if method == "POST" and target.rstrip("/").startswith("/clients"):
            if re.search(rb":type\s*\(ClientHello\)", body):
                reply = self.hello_reply
            else:
                reply = (b"(CCCserverResponse\n\t:ResponseHeader (\n\t\t:id ()\n"
                         b"\t\t:return_code (400)\n\t)\n\t:ResponseData ()\n)\n")
            conn.sendall(http_response(200, "OK", reply, [("Content-Type", "text/plain")]))
        elif method == "GET" and target == "/":
            conn.sendall(http_response(200, "OK", LANDING_PAGE, [("Content-Type", "text/html")]))
        else:
            conn.sendall(http_response(404, "Not Found", b"", []))

    def _handle_topology(self, conn: socket.socket) -> None:
        hello = read_exact(conn, len(TOPOLOGY_HELLO))
        if hello != TOPOLOGY_HELLO:
            return
        conn.sendall(TOPOLOGY_ACK)
        head = read_exact(conn, 4)
        if len(head) < 4:
            return
        length = int.from_bytes(head, "big")
        if not 0 < length <= 256:
            return
        query = read_exact(conn, length)
        if query.startswith(b"securemote"):
            conn.sendall(build_topology_reply(self.firewall, self.smartcenter))
