"""Bounded network I/O for probes: TCP, UDP, TLS and HTTP(S) with hard deadlines.

Every function takes a ``timeout`` (the check passes ``ctx.timeout(cap)``), reads at most
``max_bytes``, and turns every socket-level failure into a :class:`ProbeFailure` whose
``kind`` says what happened (``refused``, ``timeout``, ``unreachable``, ``dns``,
``reset``, ``tls``, ``closed``, ``too_big``). Protocol bytes are built and parsed by the
pure codecs in :mod:`accessready.checks.protocols`; this module only moves them.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from accessready.agent.profile_types import TlsOptions

MAX_REPLY = 1 << 20
EVIDENCE_BYTES = 256


class ProbeFailure(Exception):
    """A probe could not complete; ``kind`` is machine-readable, the text human-readable."""

    def __init__(self, kind: str, message: str, elapsed_ms: float = 0.0) -> None:
        super().__init__(message)
        self.kind = kind
        self.elapsed_ms = elapsed_ms

    def to_json(self) -> dict[str, Any]:
        """Evidence for a result's details."""
        return {"failure": self.kind, "message": str(self), "elapsed_ms": round(self.elapsed_ms, 1)}


def hex_excerpt(data: bytes, limit: int = EVIDENCE_BYTES) -> str:
    """Bytes as spaced hex, cut at ``limit`` bytes with a note — bounded evidence."""
    text = data[:limit].hex(" ")
    return text + (f" … (+{len(data) - limit} bytes)" if len(data) > limit else "")


def _ms(started: float) -> float:
    return (time.monotonic() - started) * 1000


def _failure(exc: BaseException, started: float, host: str, port: int) -> ProbeFailure:
    elapsed = _ms(started)
    where = f"{host}:{port}"
    if isinstance(exc, socket.gaierror):
        return ProbeFailure("dns", f"{host} does not resolve ({exc.strerror})", elapsed)
    if isinstance(exc, TimeoutError | socket.timeout):
        return ProbeFailure("timeout", f"no answer from {where} within the deadline", elapsed)
    if isinstance(exc, ConnectionRefusedError):
        return ProbeFailure("refused", f"{where} refused the connection (closed port)", elapsed)
    if isinstance(exc, ConnectionResetError):
        return ProbeFailure("reset", f"{where} reset the connection", elapsed)
    if isinstance(exc, ssl.SSLError):
        return ProbeFailure("tls", f"TLS with {where} failed: {exc.reason or exc}", elapsed)
    if isinstance(exc, OSError) and exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return ProbeFailure("unreachable", f"{where} is unreachable ({exc.strerror})", elapsed)
    if isinstance(exc, OSError):
        return ProbeFailure("error", f"{where}: {exc.strerror or exc}", elapsed)
    return ProbeFailure("error", f"{where}: {type(exc).__name__}: {exc}", elapsed)


def tcp_connect(host: str, port: int, timeout: float) -> tuple[socket.socket, float]:
    """An open TCP connection and the connect time in ms; raises :class:`ProbeFailure`."""
    started = time.monotonic()
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except Exception as exc:
        raise _failure(exc, started, host, port) from None
    return sock, _ms(started)


def recv_until(sock: socket.socket, complete: Callable[[bytes], bool], deadline: float,
               max_bytes: int = MAX_REPLY) -> bytes:
    """Read until ``complete(data)``, the peer closes, ``max_bytes`` or the deadline."""
    data = b""
    while not complete(data):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        sock.settimeout(left)
        chunk = sock.recv(min(65536, max_bytes + 1 - len(data)))
        if not chunk:
            break
        data += chunk
        if len(data) > max_bytes:
            raise ProbeFailure("too_big", f"the answer exceeded {max_bytes} bytes")
    return data


@dataclass(frozen=True)
class Exchange:
    """One request/response over TCP: the bytes both ways and the timings."""

    sent: bytes
    received: bytes
    connect_ms: float
    total_ms: float

    def to_json(self) -> dict[str, Any]:
        """Bounded evidence."""
        return {"sent_hex": hex_excerpt(self.sent), "sent_bytes": len(self.sent),
                "received_hex": hex_excerpt(self.received),
                "received_bytes": len(self.received),
                "connect_ms": round(self.connect_ms, 1), "total_ms": round(self.total_ms, 1)}


def tcp_exchange(host: str, port: int, payload: bytes, complete: Callable[[bytes], bool],
                 timeout: float, max_bytes: int = MAX_REPLY) -> Exchange:
    """Connect, send ``payload``, read until ``complete``; all within ``timeout``."""
    started = time.monotonic()
    deadline = started + timeout
    sock, connect_ms = tcp_connect(host, port, timeout)
    with sock:
        try:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            sock.sendall(payload)
            received = recv_until(sock, complete, deadline, max_bytes)
        except ProbeFailure:
            raise
        except Exception as exc:
            raise _failure(exc, started, host, port) from None
    return Exchange(payload, received, connect_ms, _ms(started))


def udp_exchange(host: str, port: int, payload: bytes, accept: Callable[[bytes], bool],
                 timeout: float, attempts: int = 3) -> tuple[bytes, float, int]:
    """Send a datagram (retrying, as IKE initiators do) until ``accept`` takes a reply.

    Returns (reply, round-trip ms of the answered attempt, attempt number). An ICMP
    port-unreachable shows up as ``refused``; silence as ``timeout``.
    """
    started = time.monotonic()
    deadline = started + timeout
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        infos = socket.getaddrinfo(host, port, family, socket.SOCK_DGRAM)
    except Exception as exc:
        raise _failure(exc, started, host, port) from None
    address = infos[0][4]
    slice_s = timeout / max(attempts, 1)
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(address)
            for attempt in range(1, attempts + 1):
                sent_at = time.monotonic()
                sock.send(payload)
                attempt_end = min(deadline, sent_at + slice_s)
                while True:
                    left = attempt_end - time.monotonic()
                    if left <= 0:
                        break
                    sock.settimeout(left)
                    try:
                        reply = sock.recv(65535)
                    except TimeoutError:
                        break
                    if accept(reply):
                        return reply, _ms(sent_at), attempt
        except Exception as exc:
            raise _failure(exc, started, host, port) from None
    raise ProbeFailure("timeout", f"no answer from {host}:{port} after {attempts} "
                       f"attempts in {timeout:.1f} s", _ms(started))


# --- TLS ----------------------------------------------------------------------------

_VERIFY_KINDS = {10: "expired", 9: "not_yet_valid", 18: "self_signed",
                 19: "self_signed_chain", 20: "unknown_issuer", 21: "unknown_issuer",
                 62: "name_mismatch"}


@dataclass(frozen=True)
class CertInfo:
    """The facts of one X.509 certificate that a readiness report needs."""

    subject: str
    issuer: str
    common_name: str
    dns_names: tuple[str, ...]
    not_before: dt.datetime
    not_after: dt.datetime
    sha256: str
    sha1: str
    self_signed: bool
    serial: str

    def days_left(self, now: dt.datetime) -> int:
        """Whole days until expiry (negative once expired)."""
        return (self.not_after - now).days

    def matches(self, name: str) -> bool:
        """Does the certificate cover host ``name`` (SAN, one-label wildcards)?"""
        name = name.lower().rstrip(".")
        for pattern in self.dns_names or ((self.common_name,) if self.common_name else ()):
            pattern = pattern.lower().rstrip(".")
            if pattern == name:
                return True
            # a wildcard covers exactly one leftmost label
            if pattern.startswith("*.") and "." in name and name.split(".", 1)[1] == pattern[2:]:
                return True
        return False

    def to_json(self) -> dict[str, Any]:
        """Evidence (dates in ISO 8601 UTC)."""
        return {"subject": self.subject, "issuer": self.issuer, "dns_names": list(self.dns_names),
                "not_before": self.not_before.isoformat(), "not_after": self.not_after.isoformat(),
                "sha256": self.sha256, "sha1": self.sha1, "self_signed": self.self_signed,
                "serial": self.serial}


def parse_certificate(der: bytes) -> CertInfo:
    """Parse a DER certificate with ``cryptography``; raises ValueError on garbage."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    cert = x509.load_der_x509_certificate(der)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        dns_names = tuple(san.value.get_values_for_type(x509.DNSName))
    except x509.ExtensionNotFound:
        dns_names = ()
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return CertInfo(
        subject=cert.subject.rfc4514_string(), issuer=cert.issuer.rfc4514_string(),
        common_name=str(cns[0].value) if cns else "", dns_names=dns_names,
        not_before=cert.not_valid_before_utc, not_after=cert.not_valid_after_utc,
        sha256=hashlib.sha256(der).hexdigest(), sha1=hashlib.sha1(der).hexdigest(),  # noqa: S324
        self_signed=cert.issuer == cert.subject, serial=format(cert.serial_number, "x"))


@dataclass(frozen=True)
class TlsInfo:
    """What a TLS handshake showed: version, cipher, the certificate, trust."""

    version: str
    cipher: str
    cert: CertInfo | None
    verified: bool
    verify_kind: str = ""
    verify_error: str = ""
    verification_disabled: bool = False
    handshake_ms: float = 0.0
    sni: str = ""

    def to_json(self) -> dict[str, Any]:
        """Evidence."""
        out: dict[str, Any] = {"version": self.version, "cipher": self.cipher,
                               "verified": self.verified, "sni": self.sni,
                               "handshake_ms": round(self.handshake_ms, 1)}
        if self.cert:
            out["certificate"] = self.cert.to_json()
        if self.verify_error:
            out["verify_error"] = self.verify_error
            out["verify_kind"] = self.verify_kind
        if self.verification_disabled:
            out["verification_disabled"] = True
        return out


def _context(tls: TlsOptions, verify: bool) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=tls.ca_file) if verify else (
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED  # report old servers, not refuse
    return ctx


def tls_connect(host: str, port: int, *, tls: TlsOptions, server_name: str | None,
                timeout: float) -> tuple[ssl.SSLSocket, TlsInfo]:
    """A TLS connection and what its handshake showed.

    With verification on, a certificate the system (or ``tls.ca_file``) does not trust is
    not an exception: the handshake is repeated without verification so the report can
    show the certificate and why it is not trusted (``verified=False``).
    """
    started = time.monotonic()
    deadline = started + timeout
    error_kind, error_text = "", ""
    attempts = [True, False] if tls.verify else [False]
    for verify in attempts:
        left = deadline - time.monotonic()
        if left <= 0:
            raise ProbeFailure("timeout", f"no TLS handshake with {host}:{port} in time",
                               _ms(started))
        raw, _ = tcp_connect(host, port, left)
        try:
            raw.settimeout(max(0.01, deadline - time.monotonic()))
            sock = _context(tls, verify).wrap_socket(raw, server_hostname=server_name)
        except ssl.SSLCertVerificationError as exc:
            raw.close()
            error_kind = _VERIFY_KINDS.get(exc.verify_code, "untrusted")
            error_text = exc.verify_message or str(exc)
            continue
        except Exception as exc:
            raw.close()
            raise _failure(exc, started, host, port) from None
        der = sock.getpeercert(binary_form=True)
        try:
            cert = parse_certificate(der) if der else None
        except ValueError:
            cert = None
        cipher = sock.cipher()
        return sock, TlsInfo(
            version=sock.version() or "", cipher=cipher[0] if cipher else "", cert=cert,
            verified=verify, verify_kind=error_kind, verify_error=error_text,
            verification_disabled=not tls.verify, handshake_ms=_ms(started),
            sni=server_name or "")
    raise ProbeFailure("tls", f"TLS with {host}:{port} failed", _ms(started))


# --- HTTP over TCP/TLS --------------------------------------------------------------

@dataclass(frozen=True)
class HttpExchange:
    """An HTTP request and its response, with TLS facts when it ran over TLS."""

    request: bytes
    response: Any  # protocols.httpmsg.HttpResponse
    tls: TlsInfo | None
    total_ms: float
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self, body_excerpt: int = 512) -> dict[str, Any]:
        """Evidence: request head, status, headers, a bounded body excerpt."""
        head = self.request.split(b"\r\n\r\n", 1)[0].decode("latin-1")
        body = self.response.body
        out: dict[str, Any] = {
            "request": head, "status": self.response.status, "reason": self.response.reason,
            "headers": [f"{k}: {v}" for k, v in self.response.headers][:40],
            "body_bytes": len(body),
            "body_excerpt": body[:body_excerpt].decode("utf-8", "replace"),
            "total_ms": round(self.total_ms, 1),
        }
        if self.tls:
            out["tls"] = self.tls.to_json()
        return out


def http_request(host: str, port: int, method: str, target: str, *,
                 headers: list[tuple[str, str]] | None = None, body: bytes = b"",
                 tls: TlsOptions | None = None, server_name: str | None = None,
                 host_header: str | None = None, timeout: float,
                 max_body: int = MAX_REPLY) -> HttpExchange:
    """One HTTP/1.1 request (``Connection: close``) over TCP, or TLS when ``tls`` is given."""
    from accessready.checks.protocols.httpmsg import (
        HttpParseError,
        ResponseParser,
        build_request,
    )

    started = time.monotonic()
    deadline = started + timeout
    name = server_name or host
    default_port = 443 if tls is not None else 80
    host_value = host_header or (name if port == default_port else f"{name}:{port}")
    all_headers = [*(headers or []), ("Connection", "close")]
    request = build_request(method, target, host_value, all_headers, body)
    info = None
    if tls is not None:
        sock, info = tls_connect(host, port, tls=tls, server_name=name, timeout=timeout)
    else:
        sock, _ = tcp_connect(host, port, timeout)
    parser = ResponseParser(max_body=max_body, request_method=method)
    with sock:
        try:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            sock.sendall(request)
            while not parser.done:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                sock.settimeout(left)
                chunk = sock.recv(65536)
                if not chunk:
                    parser.feed_eof()
                    break
                parser.feed(chunk)
        except HttpParseError as exc:
            raise ProbeFailure("garbage", f"{host}:{port} answered something that is not "
                               f"HTTP: {exc}", _ms(started)) from None
        except Exception as exc:
            raise _failure(exc, started, host, port) from None
    return HttpExchange(request, parser.response, info, _ms(started))
