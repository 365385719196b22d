"""An AD FS / Web Application Proxy web front on loopback, for the tests and the demo.

It answers what AD FS and WAP answer without authentication, the way http.sys does:

* ``GET /adfs/probe`` — ``200`` with an empty body, over HTTP and HTTPS. On a WAP it is
  served locally, so it stays ``200`` when the AD FS behind it is down (as on real WAPs).
* ``GET /FederationMetadata/2007-06/FederationMetadata.xml`` and
  ``GET /adfs/services/trust/mex`` — the federation metadata and the WS-MetadataExchange
  WSDL. A WAP relays them from its back end (an :class:`AdfsSimulator` of role ``adfs``)
  and answers ``503`` when the back end is stopped; it can also be told to serve other
  metadata (a WAP published to the wrong farm, or a stale copy).
* every response carries a ``Date`` header, optionally skewed by ``skew`` seconds, and
  ``Server: Microsoft-HTTPAPI/2.0``; a stopped AD FS (``service_running=False``) answers
  ``503`` to everything, as http.sys does when no process serves the URL.
* TLS needs SNI: AD FS 2012 R2+ and WAP bind their certificate to ``<fs>:443`` only, so a
  ClientHello without ``server_name`` gets the TCP connection reset. The simulator peeks
  at the ClientHello before the handshake and resets such connections the same way.

Paths are matched case-insensitively, as http.sys matches URL prefixes. The metadata is
built from real certificates (:func:`token_certificate`, :func:`build_metadata`); its
``ds:Signature`` has the right shape and the signing certificate but no valid signature
value (the checks do not verify XML signatures).

Several nodes of one farm can share the same ports on different loopback addresses
(127.0.0.2, 127.0.0.3, …), because the profile gives ``[adfs]`` ports once for every
node. The demo's farm is in :mod:`.adfs_demo`.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import email.utils
import socket
import ssl
import struct
import tempfile
import threading
import time
import uuid
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from accessready.agent.demo.simulators.stream import LocalHTTPServer

METADATA_PATH = "/federationmetadata/2007-06/federationmetadata.xml"
MEX_PATH = "/adfs/services/trust/mex"
PROBE_PATH = "/adfs/probe"


# --- certificates and documents ---------------------------------------------------------

def token_certificate(common_name: str, not_before: dt.datetime, not_after: dt.datetime,
                      issuer: Any = None) -> tuple[bytes, bytes]:
    """A token-signing or token-decrypting certificate: (cert PEM, key PEM).

    Without ``issuer`` (a :class:`accessready.agent.demo.simulators.pki.Ca`) it is self-signed
    with ``CN=<common_name>``, as AD FS makes them when AutoCertificateRollover is on
    (``CN=ADFS Signing - sts.example``); RSA 2048 like AD FS's own.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer is not None else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before).not_valid_after(not_after)
    )
    cert = builder.sign(issuer.key if issuer is not None else key, hashes.SHA256())
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def _pem_body(cert_pem: bytes) -> str:
    """The base64 DER of a PEM certificate, as metadata's X509Certificate holds it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    der = x509.load_pem_x509_certificate(cert_pem).public_bytes(serialization.Encoding.DER)
    return base64.b64encode(der).decode("ascii")


def _key_descriptor(use: str, cert_pem: bytes) -> str:
    return (f'<KeyDescriptor use="{use}"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#">'
            f"<X509Data><X509Certificate>{_pem_body(cert_pem)}</X509Certificate></X509Data>"
            "</KeyInfo></KeyDescriptor>")


def build_metadata(federation_service: str, signing: Sequence[bytes],
                   encryption: Sequence[bytes], entity_id: str | None = None) -> bytes:
    """Federation metadata in the layout AD FS (2016/2019) publishes.

    ``signing`` / ``encryption`` are PEM certificates; during a rollover pass two signing
    certificates. The first signing certificate also sits in the ``ds:Signature``.
    """
    fs = federation_service
    entity = entity_id or f"http://{fs}/adfs/services/trust"
    keys_sts = "".join([*(_key_descriptor("encryption", c) for c in encryption),
                        *(_key_descriptor("signing", c) for c in signing)])
    keys_sign = "".join(_key_descriptor("signing", c) for c in signing)
    sig_cert = _pem_body(signing[0]) if signing else ""
    doc_id = "_" + str(uuid.uuid4())
    text = f"""<?xml version="1.0" encoding="utf-8"?>
<EntityDescriptor ID={quoteattr(doc_id)} entityID={quoteattr(entity)} \
xmlns="urn:oasis:names:tc:SAML:2.0:metadata">\
<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>\
<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>\
<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>\
<ds:Reference URI="#{escape(doc_id)}"><ds:DigestMethod \
Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>AAAA</ds:DigestValue>\
</ds:Reference></ds:SignedInfo><ds:SignatureValue>AAAA</ds:SignatureValue>\
<KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>{sig_cert}\
</X509Certificate></X509Data></KeyInfo></ds:Signature>\
<RoleDescriptor xsi:type="fed:ApplicationServiceType" \
protocolSupportEnumeration="http://docs.oasis-open.org/ws-sx/ws-trust/200512 \
http://schemas.xmlsoap.org/ws/2005/02/trust http://docs.oasis-open.org/wsfed/federation/200706" \
ServiceDisplayName={quoteattr(fs)} \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" \
xmlns:fed="http://docs.oasis-open.org/wsfed/federation/200706">{keys_sign}\
<fed:TargetScopes><wsa:EndpointReference xmlns:wsa="http://www.w3.org/2005/08/addressing">\
<wsa:Address>https://{escape(fs)}/adfs/services/trust/2005/issuedtokenmixedasymmetricbasic256\
</wsa:Address></wsa:EndpointReference></fed:TargetScopes></RoleDescriptor>\
<RoleDescriptor xsi:type="fed:SecurityTokenServiceType" \
protocolSupportEnumeration="http://docs.oasis-open.org/ws-sx/ws-trust/200512 \
http://schemas.xmlsoap.org/ws/2005/02/trust http://docs.oasis-open.org/wsfed/federation/200706" \
ServiceDisplayName={quoteattr(fs)} \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" \
xmlns:fed="http://docs.oasis-open.org/wsfed/federation/200706">{keys_sts}\
<fed:PassiveRequestorEndpoint><wsa:EndpointReference \
xmlns:wsa="http://www.w3.org/2005/08/addressing"><wsa:Address>https://{escape(fs)}/adfs/ls/\
</wsa:Address></wsa:EndpointReference></fed:PassiveRequestorEndpoint></RoleDescriptor>\
<SPSSODescriptor WantAssertionsSigned="true" \
protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">{keys_sts}\
<AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" \
Location="https://{escape(fs)}/adfs/ls/" index="0" isDefault="true"/></SPSSODescriptor>\
<IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">\
{"".join([*(_key_descriptor("encryption", c) for c in encryption), keys_sign])}\
<SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" \
Location="https://{escape(fs)}/adfs/ls/"/></IDPSSODescriptor></EntityDescriptor>"""
    return text.encode("utf-8")


def build_mex(federation_service: str) -> bytes:
    """A short WS-MetadataExchange WSDL with the endpoints AD FS lists first."""
    fs = escape(federation_service)
    ports = "".join(
        f'<wsdl:port name="{name}" binding="tns:{name}"><soap12:address '
        f'location="https://{fs}/adfs/services/trust/{path}"/><wsa10:EndpointReference>'
        f"<wsa10:Address>https://{fs}/adfs/services/trust/{path}</wsa10:Address>"
        "</wsa10:EndpointReference></wsdl:port>"
        for name, path in (("CertificateWSTrustBinding_IWSTrustFeb2005Async",
                            "2005/certificatemixed"),
                           ("UserNameWSTrustBinding_IWSTrustFeb2005Async",
                            "2005/usernamemixed"),
                           ("WindowsWSTrustBinding_IWSTrust13Async",
                            "13/windowstransport")))
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<wsdl:definitions name="SecurityTokenService" '
        'targetNamespace="http://schemas.microsoft.com/ws/2008/06/identity/securitytokenservice" '
        'xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" '
        'xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/" '
        'xmlns:wsa10="http://www.w3.org/2005/08/addressing" '
        'xmlns:tns="http://schemas.microsoft.com/ws/2008/06/identity/securitytokenservice">'
        f'<wsdl:service name="SecurityTokenService">{ports}</wsdl:service>'
        "</wsdl:definitions>"
    ).encode()


# --- TLS: reset a ClientHello without SNI, as http.sys does -------------------------------

def client_hello_sni(data: bytes) -> str | None:
    """The ``server_name`` of a TLS ClientHello record, or None when it has none.

    Raises ValueError when ``data`` is not (yet) a complete ClientHello.
    """
    if len(data) < 5 or data[0] != 0x16:
        raise ValueError("not a TLS handshake record")
    length = struct.unpack("!H", data[3:5])[0]
    body = data[5:5 + length]
    if len(body) < length:
        raise ValueError("incomplete record")
    if not body or body[0] != 0x01:
        raise ValueError("not a ClientHello")
    pos = 4 + 2 + 32  # handshake header, client_version, random
    pos += 1 + body[pos]  # session id
    pos += 2 + struct.unpack("!H", body[pos:pos + 2])[0]  # cipher suites
    pos += 1 + body[pos]  # compression methods
    if pos + 2 > len(body):
        return None  # no extensions at all
    end = pos + 2 + struct.unpack("!H", body[pos:pos + 2])[0]
    pos += 2
    while pos + 4 <= min(end, len(body)):
        ext_type, ext_len = struct.unpack("!HH", body[pos:pos + 4])
        if ext_type == 0:
            ext = body[pos + 4:pos + 4 + ext_len]
            # server_name_list length (2), name_type (1), host_name length (2), name
            if len(ext) >= 5 and ext[2] == 0:
                name_len = struct.unpack("!H", ext[3:5])[0]
                return ext[5:5 + name_len].decode("ascii", "replace")
            return None
        pos += 4 + ext_len
    return None


def _peek_sni(sock: socket.socket, timeout: float = 3.0) -> tuple[bool, str | None]:
    """(ClientHello seen, its SNI) by peeking, leaving the bytes for the TLS handshake."""
    deadline = time.monotonic() + timeout
    data = b""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data = sock.recv(16384, socket.MSG_PEEK)
        except (TimeoutError, OSError):
            return False, None
        if not data:
            return False, None
        try:
            return True, client_hello_sni(data)
        except ValueError:
            if len(data) >= 5 and data[0] != 0x16:
                return False, None
            time.sleep(0.01)  # the rest of the ClientHello is still on its way
        except (IndexError, struct.error):
            return False, None
    return False, None


def _reset(sock: socket.socket) -> None:
    """Close with RST (SO_LINGER 0), as http.sys does for a ClientHello it has no binding for."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


# --- the server -----------------------------------------------------------------------------

@dataclass
class Seen:
    """One request the simulator answered (for test assertions)."""

    scheme: str
    path: str
    host: str
    sni: str | None
    status: int


class _Handler(BaseHTTPRequestHandler):
    server_version = "Microsoft-HTTPAPI/2.0"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # stdlib signature
        """Quiet: the tests and the demo read :attr:`AdfsSimulator.seen` instead."""

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The Date header, skewed by the simulator's ``skew`` (a node with a wrong clock)."""
        now = (timestamp if timestamp is not None else time.time()) + self.server.sim.skew
        return email.utils.formatdate(now, usegmt=True)

    def do_GET(self) -> None:
        status, ctype, body = self.server.sim.answer(self.path)
        self.send_response(status)
        if body or status != 200:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True
        self.server.sim.seen.append(Seen(self.server.scheme, self.path,
                                         self.headers.get("Host", ""),
                                         getattr(self.connection, "sni", None), status))

    def do_HEAD(self) -> None:
        status, _, body = self.server.sim.answer(self.path)
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()


class _Server(LocalHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], sim: AdfsSimulator, scheme: str) -> None:
        self.sim = sim
        self.scheme = scheme
        super().__init__(address, _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.scheme == "https":
            seen_hello, sni = _peek_sni(request)
            if not seen_hello:
                _reset(request)
                return
            if sni is None and self.sim.require_sni:
                self.sim.resets += 1
                _reset(request)
                return
            try:
                request.settimeout(5)
                tls = self.sim.tls_context.wrap_socket(request, server_side=True)
            except (OSError, ssl.SSLError):
                with contextlib.suppress(OSError):
                    request.close()
                return
            tls.sni = sni  # type: ignore[attr-defined] - read back by the handler
            try:
                super().finish_request(tls, client_address)
            finally:
                with contextlib.suppress(OSError):
                    tls.close()
            return
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-request is normal for probes; stay quiet."""


@dataclass
class AdfsSimulator:
    """One AD FS (``role="adfs"``) or WAP (``role="wap"``) node on ``host``.

    ``cert_pem``/``key_pem`` (plus ``chain_pem``, the issuing CA) is the SSL certificate
    served for the federation service name. A WAP's ``backend`` is the AD FS simulator it
    publishes; ``metadata_override`` makes a WAP (or an AD FS) serve other metadata.
    """

    role: str
    federation_service: str
    cert_pem: bytes
    key_pem: bytes
    metadata: bytes = b""
    chain_pem: bytes = b""
    host: str = "127.0.0.1"
    https_port: int = 0
    http_port: int = 0
    skew: float = 0.0
    backend: AdfsSimulator | None = None
    metadata_override: bytes | None = None
    service_running: bool = True
    # False: a hardened WAP that does not publish /adfs/services/trust/mex (404)
    mex_published: bool = True
    require_sni: bool = True
    max_tls: ssl.TLSVersion | None = None
    seen: list[Seen] = field(default_factory=list)
    resets: int = 0

    def __post_init__(self) -> None:
        if self.role not in ("adfs", "wap"):
            raise ValueError("role must be 'adfs' or 'wap'")
        self._tmp = tempfile.TemporaryDirectory(prefix="adfs-sim-")
        folder = Path(self._tmp.name)
        (folder / "cert.pem").write_bytes(self.cert_pem + self.chain_pem)
        (folder / "key.pem").write_bytes(self.key_pem)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(folder / "cert.pem"), str(folder / "key.pem"))
        if self.max_tls is not None:
            # An old server: only what OpenSSL's security level still lets it offer.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # old versions on purpose
                context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
                context.maximum_version = self.max_tls
            context.set_ciphers("DEFAULT:@SECLEVEL=0")
        self.tls_context = context
        self.mex = build_mex(self.federation_service)
        self._servers: list[_Server] = []
        self._threads: list[threading.Thread] = []
        try:
            https = _Server((self.host, self.https_port), self, "https")
            self._servers.append(https)
            self.https_port = https.server_address[1]
            http = _Server((self.host, self.http_port), self, "http")
            self._servers.append(http)
            self.http_port = http.server_address[1]
        except OSError:
            self._close_sockets()
            raise

    # What the node answers -------------------------------------------------------------

    def answer(self, target: str) -> tuple[int, str, bytes]:
        """(status, content type, body) for a GET of ``target``."""
        path = target.split("?", 1)[0].lower().rstrip("/") or "/"
        if not self.service_running:
            return 503, "text/html; charset=us-ascii", _HTTPAPI_503
        if path == PROBE_PATH:
            return 200, "text/plain", b""
        if path in (METADATA_PATH, MEX_PATH):
            if self.role == "wap":
                backend = self.backend
                if backend is None or not backend.service_running:
                    return 503, "text/html; charset=us-ascii", _HTTPAPI_503
                if path == MEX_PATH:
                    if not self.mex_published:
                        return 404, "text/html; charset=us-ascii", _HTTPAPI_404
                    return 200, "application/soap+xml; charset=utf-8", backend.mex
                body = self.metadata_override or backend.metadata_override or backend.metadata
                return 200, "application/samlmetadata+xml", body
            if path == MEX_PATH:
                return 200, "application/soap+xml; charset=utf-8", self.mex
            return 200, "application/samlmetadata+xml", self.metadata_override or self.metadata
        return 404, "text/html; charset=us-ascii", _HTTPAPI_404

    # Life cycle ------------------------------------------------------------------------

    def start(self) -> AdfsSimulator:
        """Serve HTTPS and HTTP in background threads."""
        for server in self._servers:
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                      name=f"adfs-sim-{self.role}-{server.scheme}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def close_http(self) -> None:
        """Stop answering plain HTTP, like a node whose firewall shuts port 80."""
        for server in [s for s in self._servers if s.scheme == "http"]:
            if self._threads:
                server.shutdown()
            server.server_close()
            self._servers.remove(server)

    def _close_sockets(self) -> None:
        for server in self._servers:
            with contextlib.suppress(OSError):
                server.server_close()
        self._tmp.cleanup()

    def stop(self) -> None:
        """Stop serving and free the ports."""
        for server in self._servers:
            if self._threads:
                server.shutdown()
        for thread in self._threads:
            thread.join(timeout=2)
        self._threads.clear()
        self._close_sockets()

    def __enter__(self) -> AdfsSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


_HTTPAPI_503 = (b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN">\r\n<HTML><HEAD><TITLE>'
                b"Service Unavailable</TITLE></HEAD><BODY><h2>Service Unavailable</h2>"
                b"<hr><p>HTTP Error 503. The service is unavailable.</p></BODY></HTML>")
_HTTPAPI_404 = (b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN">\r\n<HTML><HEAD><TITLE>'
                b"Not Found</TITLE></HEAD><BODY><h2>Not Found</h2><hr><p>HTTP Error 404. "
                b"The requested resource is not found.</p></BODY></HTML>")


def loopback_usable(address: str) -> bool:
    """Can this machine bind ``address`` (127.0.0.2 and up need Linux or Windows)?"""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((address, 0))
        return True
    except OSError:
        return False
