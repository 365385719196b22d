"""A small authoritative DNS server on loopback, built on dnspython's wire format.

Used by ``accessready demo`` and the tests: it answers UDP and TCP queries for the records
it was given, NXDOMAIN for names it does not know, and NOERROR/no data for known names
asked for another type. Run two with different records for a split-brain view.
"""

from __future__ import annotations

import selectors
import socket
import struct
import threading
from collections.abc import Mapping, Sequence

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from accessready.agent.demo.simulators.stream import serve_quietly

Records = Mapping[tuple[str, str], Sequence[str]]


def _bind_pair(host: str, attempts: int = 20) -> tuple[socket.socket, socket.socket, int]:
    """A UDP and a TCP socket on the same free port (the UDP port's TCP twin may be taken)."""
    for _ in range(attempts):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind((host, 0))
        port = udp.getsockname()[1]
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            tcp.bind((host, port))
        except OSError:
            udp.close()
            tcp.close()
            continue
        tcp.listen(16)
        return udp, tcp, port
    raise OSError(f"no port free for both UDP and TCP on {host} after {attempts} tries")


class DnsSimulator:
    """Serves ``records`` — ``{("name.example.", "MX"): ["10 mx.example."]}`` — on loopback."""

    def __init__(self, records: Records, host: str = "127.0.0.1", ttl: int = 60) -> None:
        self.records = {(dns.name.from_text(n), dns.rdatatype.from_text(t)): list(v)
                        for (n, t), v in records.items()}
        self.names = {name for name, _ in self.records}
        self.ttl = ttl
        self.host = host
        self.queries = 0
        self._udp, self._tcp, self.port = _bind_pair(host)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="dns-sim", daemon=True)

    @property
    def address(self) -> str:
        """``host:port``, as a profile's resolver list takes it."""
        return f"{self.host}:{self.port}"

    def answer(self, wire: bytes) -> bytes | None:
        """The response to one query's wire bytes (None for garbage: no answer at all)."""
        try:
            query = dns.message.from_wire(wire)
        except Exception:  # garbage in: stay silent like a real server would
            return None
        self.queries += 1
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if not query.question:
            response.set_rcode(dns.rcode.FORMERR)
            return response.to_wire()
        question = query.question[0]
        key = (question.name, question.rdtype)
        if key in self.records:
            rrset = dns.rrset.from_text_list(question.name, self.ttl, dns.rdataclass.IN,
                                             question.rdtype, self.records[key])
            response.answer.append(rrset)
        elif question.name not in self.names:
            response.set_rcode(dns.rcode.NXDOMAIN)
        return response.to_wire()

    def start(self) -> DnsSimulator:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the sockets."""
        self._stop.set()
        self._thread.join(timeout=2)
        self._udp.close()
        self._tcp.close()

    def __enter__(self) -> DnsSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self) -> None:
        serve_quietly(self._stop, self._serve_until_stopped)

    def _serve_until_stopped(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self._udp, selectors.EVENT_READ, "udp")
        selector.register(self._tcp, selectors.EVENT_READ, "tcp")
        while not self._stop.is_set():
            for key, _ in selector.select(timeout=0.2):
                if key.data == "udp":
                    wire, peer = self._udp.recvfrom(65535)
                    reply = self.answer(wire)
                    if reply is not None:
                        self._udp.sendto(reply, peer)
                else:
                    self._serve_tcp()
        selector.close()

    def _serve_tcp(self) -> None:
        conn, _ = self._tcp.accept()
        with conn:
            conn.settimeout(2)
            try:
                header = conn.recv(2)
                if len(header) < 2:
                    return
                (length,) = struct.unpack("!H", header)
                wire = b""
                while len(wire) < length:
                    chunk = conn.recv(length - len(wire))
                    if not chunk:
                        return
                    wire += chunk
                reply = self.answer(wire)
                if reply is not None:
                    conn.sendall(struct.pack("!H", len(reply)) + reply)
            except OSError:
                return
