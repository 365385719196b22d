"""TLS session resumption between requests to one endpoint (issue 13), against a real TLS
server on loopback that answers one HTTP request per connection, as the scale bench's
WinRM listener does.

Pins: with one :class:`TlsSessions`, the second request to the same endpoint resumes the
first's session and shows the same certificate and trust; without one nothing is resumed
(no process-wide state: another check, another customer, starts afresh); a session is only
kept from a *verified* handshake (never from the observing retry of an untrusted
certificate, nor with verification off); it is kept per endpoint and name; a server that
declines the session is still answered by a full one; ``remote.winrm`` resumes its second
request.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from accessready.agent.core.profile_types import TlsOptions
from accessready.agent.demo.simulators import pki
from accessready.agent.io import tls as tlsio
from accessready.agent.io.http import http_request

REPLY = b"HTTP/1.1 401 \r\nWWW-Authenticate: Negotiate\r\nContent-Length: 0\r\n" \
        b"Connection: close\r\n\r\n"


class _OneRequestServer:
    """Reads one HTTP request head per TLS connection, answers 401, closes."""

    def __init__(self, files: pki.TlsFiles, tickets: int = 2) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(str(files.cert_file), str(files.key_file))
        self.context.num_tickets = tickets
        if not tickets:  # no tickets (the server-side cache is off by default)
            self.context.options |= ssl.OP_NO_TICKET
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.resumed: list[bool] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(3)
        self.sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            conn.settimeout(3)
            try:
                with self.context.wrap_socket(conn, server_side=True) as tls:
                    head = b""
                    while b"\r\n\r\n" not in head and len(head) < 65536:
                        chunk = tls.recv(4096)
                        if not chunk:
                            break
                        head += chunk
                    self.resumed.append(tls.session_reused)
                    tls.sendall(REPLY)
            except OSError:
                conn.close()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("resume")
    ca = pki.make_ca("Resume CA")
    cert, key = pki.issue(ca, ["winrm.test", "127.0.0.1"])
    return {"server": pki.write_tls_files(folder, "server", ca, cert, key),
            "ca": ca.write(folder / "ca.pem")}


@pytest.fixture
def server(files: dict[str, object]) -> Iterator[_OneRequestServer]:
    srv = _OneRequestServer(files["server"])  # type: ignore[arg-type]
    yield srv
    srv.close()


@pytest.fixture
def sessions() -> tlsio.TlsSessions:
    return tlsio.TlsSessions()


def _ask(port: int, tls: TlsOptions, sessions: tlsio.TlsSessions | None,
         name: str = "127.0.0.1") -> tlsio.TlsInfo:
    out = http_request("127.0.0.1", port, "POST", "/wsman", tls=tls, server_name=name,
                       timeout=5.0, sessions=sessions)
    assert out.ok and out.answer.status == 401, out.to_json()
    return out.fact("tls")


def test_the_second_request_resumes_the_verified_session(files, server, sessions) -> None:
    trust = TlsOptions(ca_file=str(files["ca"]))
    first = _ask(server.port, trust, sessions)
    second = _ask(server.port, trust, sessions)
    assert (first.resumed, second.resumed) == (False, True)
    assert server.resumed == [False, True]  # the server saw it too
    # what the report shows does not depend on it
    assert second.verified and first.verified
    assert second.cert is not None and first.cert is not None
    assert second.cert.sha256 == first.cert.sha256
    assert second.to_json().keys() == first.to_json().keys()


def test_no_session_is_kept_from_a_handshake_that_was_not_verified(files, server,
                                                                    sessions) -> None:
    untrusted = TlsOptions()  # the system store does not know the private CA
    first = _ask(server.port, untrusted, sessions)
    second = _ask(server.port, untrusted, sessions)
    assert not first.verified and first.verify_kind == "self_signed_chain"
    assert not second.verified and not second.resumed
    off = TlsOptions(verify=False)
    assert not _ask(server.port, off, sessions).resumed
    assert not _ask(server.port, off, sessions).resumed
    # a session verified under one trust setting is not offered under another: the
    # untrusted certificate is seen and judged afresh
    _ask(server.port, TlsOptions(ca_file=str(files["ca"])), sessions)
    assert not _ask(server.port, untrusted, sessions).resumed


def test_a_session_is_kept_per_endpoint_and_name(files, server, sessions) -> None:
    trust = TlsOptions(ca_file=str(files["ca"]))
    _ask(server.port, trust, sessions, "winrm.test")
    assert not _ask(server.port, trust, sessions, "127.0.0.1").resumed  # another SNI
    assert _ask(server.port, trust, sessions, "winrm.test").resumed
    other = _OneRequestServer(files["server"])  # type: ignore[arg-type]
    try:
        assert not _ask(other.port, trust, sessions, "winrm.test").resumed
    finally:
        other.close()


def test_a_server_that_declines_the_session_gets_a_full_handshake(files, sessions) -> None:
    # A server that issues no tickets (a restarted one holds other ticket keys: the same):
    # whatever the client offers, the handshake is a full one, verified as ever.
    srv = _OneRequestServer(files["server"], tickets=0)  # type: ignore[arg-type]
    try:
        trust = TlsOptions(ca_file=str(files["ca"]))
        first = _ask(srv.port, trust, sessions)
        second = _ask(srv.port, trust, sessions)
        assert second.verified and not second.resumed and first.verified
        assert srv.resumed == [False, False]
    finally:
        srv.close()


def test_the_session_store_is_bounded(monkeypatch, files, server, sessions) -> None:
    monkeypatch.setattr(tlsio.TlsSessions, "MAX", 1)
    trust = TlsOptions(ca_file=str(files["ca"]))
    _ask(server.port, trust, sessions, "winrm.test")
    _ask(server.port, trust, sessions, "127.0.0.1")  # pushes the first out
    assert len(sessions._kept) == 1
    assert not _ask(server.port, trust, sessions, "winrm.test").resumed


def test_the_kept_session_needs_its_own_context(files, server, sessions, tmp_path: Path) -> None:
    ca_copy = tmp_path / "ca.pem"
    ca_copy.write_bytes(Path(str(files["ca"])).read_bytes())
    _ask(server.port, TlsOptions(ca_file=str(files["ca"])), sessions)
    # the same CA under another file name is another context: no session of the first
    assert not _ask(server.port, TlsOptions(ca_file=str(ca_copy)), sessions).resumed


def test_without_a_store_nothing_is_resumed(files, server) -> None:
    trust = TlsOptions(ca_file=str(files["ca"]))
    assert not _ask(server.port, trust, None).resumed
    assert not _ask(server.port, trust, None).resumed
    assert server.resumed == [False, False]
