"""Bounded network I/O for probes: TCP, UDP, TLS and HTTP(S) with hard deadlines.

Every probe takes a ``timeout`` (the check passes ``ctx.timeout(cap)``), reads at most
``max_bytes`` and returns one :class:`~accessready.agent.core.outcome.ProbeOutcome`: what
was sent, what came back, the timings and — when it did not complete — one *kind* from
the one failure table (:mod:`accessready.agent.core.failures`), which says what it means
and the status it earns:

* about the target: ``refused``, ``timeout`` (no answer to the connection attempt, or to
  a UDP datagram), ``silent`` (the TCP connection was accepted, but no answer came in
  time), ``unreachable``, ``dns`` (the name does not exist or has no address), ``reset``,
  ``closed``, ``protocol``, ``tls``, ``too_big``;
* about this machine: ``resolver`` (the DNS resolver did not answer), ``deadline``
  (no time left to try), ``error`` (a local error, e.g. an unreadable ``ca_file``).

The probes: :func:`tcp_reach` (connect only), :func:`tcp_exchange` (one request, one
answer), :func:`tcp_dialogue` (a protocol's own turns), :func:`udp_exchange`,
:func:`tls_handshake`, :func:`modern_tls_handshake` and :func:`http_request`. The building
blocks under them that hand back a socket (:func:`connect`, :func:`tls_connect`) raise
:class:`ProbeFailure`; checks use the probes, which never raise for the target.

Host names are resolved as the engineer's machine resolves them — the system resolver
through :func:`accessready.agent.io.dns.resolve` (hosts file, then getaddrinfo on a bounded
pool, so split DNS by the Windows NRPT applies) — within the same timeout; the evidence
says which resolver answered (``resolved``). Protocol bytes are built and parsed by the pure
codecs in :mod:`accessready.checks.protocols`; this module only moves them.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import ipaddress
import os
import socket
import ssl
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from accessready.agent.core.outcome import ProbeOutcome
from accessready.agent.core.profile_types import TlsOptions
from accessready.agent.core.safefile import oversized
from accessready.agent.io.dns import Resolution, ResolveError, resolve

MAX_REPLY = 1 << 20
MODERN_TLS = ("TLSv1.2", "TLSv1.3")


class ProbeFailure(Exception):
    """Raised by the building blocks that hand back a socket (:func:`connect`,
    :func:`tls_connect`, :func:`verifying_context`); the probes turn it into a
    :class:`ProbeOutcome`. ``kind`` is one of the failure table's."""

    def __init__(self, kind: str, message: str, elapsed_ms: float = 0.0) -> None:
        super().__init__(message)
        self.kind = kind
        self.elapsed_ms = elapsed_ms

    def outcome(self, target: str, **fields: Any) -> ProbeOutcome:
        """This failure as a probe's outcome (``fields``: sent, received, facts, …)."""
        fields.setdefault("total_ms", self.elapsed_ms)
        return ProbeOutcome(target, kind=self.kind, message=str(self), **fields)


def _ms(started: float) -> float:
    return (time.monotonic() - started) * 1000


def endpoint_text(host: str, port: int) -> str:
    """``host:port``, with brackets around an IPv6 literal."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def as_failure(exc: BaseException, started: float, host: str, port: int, *,
               connected: bool = False) -> ProbeFailure:
    """The :class:`ProbeFailure` for an exception from a socket call.

    ``connected``: the TCP connection was already up, so running out of time means the
    peer accepted and then stayed silent (``silent``), not that nothing answered the
    connection attempt (``timeout``) — a firewall that drops packets looks different
    from a service that hangs, and the report must not confuse them.
    """
    if isinstance(exc, ProbeFailure):
        return exc
    elapsed = _ms(started)
    where = endpoint_text(host, port)
    if isinstance(exc, TimeoutError | socket.timeout):
        if connected:
            return ProbeFailure("silent", f"{where} accepted the connection but sent no "
                                "answer within the deadline", elapsed)
        return ProbeFailure("timeout", f"no answer from {where} to the connection attempt "
                            "within the deadline", elapsed)
    if isinstance(exc, ConnectionRefusedError):
        return ProbeFailure("refused", f"{where} refused the connection (closed port)", elapsed)
    if isinstance(exc, ConnectionResetError | ConnectionAbortedError | BrokenPipeError):
        return ProbeFailure("reset", f"{where} reset the connection", elapsed)
    if isinstance(exc, ssl.SSLError):
        return ProbeFailure("tls", f"TLS with {where} failed: {exc.reason or exc}", elapsed)
    if isinstance(exc, OSError) and exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return ProbeFailure("unreachable", f"{where} is unreachable ({exc.strerror})", elapsed)
    if isinstance(exc, OSError):
        return ProbeFailure("error", f"{where}: {exc.strerror or exc}", elapsed)
    return ProbeFailure("error", f"{where}: {type(exc).__name__}: {exc}", elapsed)


def resolve_targets(host: str, port: int, timeout: float, socktype: int = socket.SOCK_STREAM
                    ) -> tuple[Resolution, list[tuple[int, Any]]]:
    """How ``host`` was resolved, and ``(family, sockaddr)`` for each of its addresses.

    IP literals are used as they are; names go through the system resolver
    (:func:`~accessready.agent.io.dns.resolve`: hosts file, then getaddrinfo bounded by
    ``timeout``). Raises :class:`ProbeFailure`: ``dns`` when the name does not exist or
    has no address, ``resolver`` when the resolver did not answer in time (this machine's
    problem, not the target's).
    """
    started = time.monotonic()
    try:
        resolution = resolve(host, timeout)
    except ResolveError as exc:
        raise ProbeFailure("resolver" if exc.local else "dns", str(exc), _ms(started)) from None
    out: list[tuple[int, Any]] = []
    for address in resolution.addresses:
        # AI_NUMERICHOST: turning a literal into a sockaddr never touches the network.
        for family, _, _, _, sockaddr in socket.getaddrinfo(
                address, port, type=socktype, flags=socket.AI_NUMERICHOST):
            out.append((family, sockaddr))
    return resolution, out


MIN_CONNECT_WINDOW_S = 0.5
"""A connect that times out in less time than this (or half the timeout) was not given a
fair chance: ``deadline`` (ours), never ``timeout`` (the target's)."""


def tcp_connect(host: str, port: int, timeout: float) -> tuple[socket.socket, float]:
    """An open TCP connection and the connect time in ms; raises :class:`ProbeFailure`.

    Name resolution and every connection attempt share the one ``timeout``.
    """
    sock, connect_ms, _ = connect(host, port, timeout)
    return sock, connect_ms


def connect(host: str, port: int, timeout: float
            ) -> tuple[socket.socket, float, Resolution]:
    """:func:`tcp_connect`, also saying how ``host`` was resolved."""
    started = time.monotonic()
    deadline = started + timeout
    resolution, targets = resolve_targets(host, port, timeout)
    last: BaseException | None = None
    window = 0.0
    for family, sockaddr in targets:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock = socket.socket(family, socket.SOCK_STREAM)
        window = left
        try:
            sock.settimeout(left)
            sock.connect(sockaddr)
        except Exception as exc:
            sock.close()
            last = exc
            continue
        return sock, _ms(started), resolution
    fair = min(MIN_CONNECT_WINDOW_S, timeout / 2)
    if last is None or (isinstance(last, TimeoutError | socket.timeout) and window < fair):
        # Silence within a window the target never fairly had (resolution, or our own
        # slowness, took the time) says nothing about it: could not decide.
        raise ProbeFailure("deadline", f"name resolution of {host} left {window:.2f} s to "
                           "connect", _ms(started))
    raise as_failure(last, started, host, port)


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


def resolve_json(resolution: Resolution | None) -> dict[str, Any]:
    """``{"resolved": ...}`` evidence for a name (nothing for an IP literal)."""
    if resolution is None or resolution.resolver == "IP literal":
        return {}
    return {"resolved": resolution.to_json()}


def _resolved(resolution: Resolution | None) -> dict[str, Any]:
    """``{"resolved": resolution}`` as a probe's fact (nothing for an IP literal)."""
    if resolution is None or resolution.resolver == "IP literal":
        return {}
    return {"resolved": resolution}


def tcp_reach(host: str, port: int, timeout: float) -> ProbeOutcome:
    """Open a TCP connection and close it again: does ``host:port`` accept one?"""
    started = time.monotonic()
    where = endpoint_text(host, port)
    try:
        sock, connect_ms, resolution = connect(host, port, timeout)
    except ProbeFailure as failure:
        return failure.outcome(where)
    sock.close()
    return ProbeOutcome(where, connect_ms=connect_ms, total_ms=_ms(started),
                        facts=_resolved(resolution))


class Conversation:
    """A connected TCP socket for a probe's own turns (:func:`tcp_dialogue`): it keeps
    both directions for the evidence, and what the protocol showed in ``facts``."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline
        self.sent = b""
        self.received = b""
        self.facts: dict[str, Any] = {}
        self.answer: Any = None  # the decoded answer, for the outcome's ``answer``

    def send(self, data: bytes) -> None:
        """Send all of ``data`` before the deadline."""
        self._sock.settimeout(max(0.01, self._deadline - time.monotonic()))
        self._sock.sendall(data)
        self.sent += data

    def recv_until(self, complete: Callable[[bytes], bool],
                   max_bytes: int = MAX_REPLY) -> bytes:
        """The next answer: read until ``complete``, close, ``max_bytes`` or the deadline."""
        data = recv_until(self._sock, complete, self._deadline, max_bytes)
        self.received += data
        return data

    def fail(self, kind: str, message: str) -> None:
        """End the dialogue: the peer's answer is a failure of ``kind`` (``protocol``,
        ``closed``, …)."""
        raise ProbeFailure(kind, message)

    def send_quietly(self, data: bytes, timeout: float = 0.2) -> bool:
        """Best effort (a polite goodbye): ``True`` when ``data`` went out."""
        try:
            self._sock.settimeout(timeout)
            self._sock.sendall(data)
        except OSError:
            return False
        return True  # not in ``sent``: the evidence is the exchange, not the goodbye


def tcp_dialogue(host: str, port: int, timeout: float,
                 talk: Callable[[Conversation], None]) -> ProbeOutcome:
    """Connect and let ``talk`` hold the protocol's turns, all within ``timeout``.

    ``talk`` sends and reads through the :class:`Conversation`, notes what it learned in
    ``conversation.facts`` (the decoded answer in ``conversation.answer``) and ends a bad
    answer with ``conversation.fail(kind, …)``; every socket failure becomes the
    outcome's kind (``silent`` once connected).
    """
    started = time.monotonic()
    deadline = started + timeout
    where = endpoint_text(host, port)
    try:
        sock, connect_ms, resolution = connect(host, port, timeout)
    except ProbeFailure as failure:
        return failure.outcome(where)
    conversation = Conversation(sock, deadline)
    kind, message = None, ""
    with sock:
        try:
            talk(conversation)
        except Exception as exc:  # connected: running out of time here means "silent"
            failure = as_failure(exc, started, host, port, connected=True)
            kind, message = failure.kind, str(failure)
    return ProbeOutcome(where, conversation.sent, conversation.received, connect_ms,
                        _ms(started), kind, message,
                        {**_resolved(resolution), **conversation.facts},
                        conversation.answer if kind is None else None)


def tcp_exchange(host: str, port: int, payload: bytes, complete: Callable[[bytes], bool],
                 timeout: float, max_bytes: int = MAX_REPLY) -> ProbeOutcome:
    """Connect, send ``payload``, read until ``complete``; all within ``timeout``."""

    def talk(conversation: Conversation) -> None:
        conversation.send(payload)
        conversation.recv_until(complete, max_bytes)

    return tcp_dialogue(host, port, timeout, talk)


def udp_exchange(host: str, port: int, payload: bytes, accept: Callable[[bytes], bool],
                 timeout: float, attempts: int = 3) -> ProbeOutcome:
    """Send a datagram (retrying, as IKE initiators do) until ``accept`` takes a reply.

    ``received`` is the accepted reply; ``facts`` say the round-trip time of the answered
    attempt (``rtt_ms``) and its number (``attempt``). An ICMP port-unreachable shows up
    as ``refused``; silence as ``timeout`` (UDP has no connection, so it cannot tell a
    dropped datagram from an ignored one).
    """
    started = time.monotonic()
    deadline = started + timeout
    where = endpoint_text(host, port)
    try:
        resolution, targets = resolve_targets(host, port, timeout, socket.SOCK_DGRAM)
    except ProbeFailure as failure:
        return failure.outcome(where, sent=payload)
    family, address = targets[0]
    facts = _resolved(resolution)
    slice_s = max(deadline - time.monotonic(), 0.0) / max(attempts, 1)
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
                        return ProbeOutcome(where, payload, reply, None, _ms(started),
                                            facts={**facts, "rtt_ms": round(_ms(sent_at), 1),
                                                   "attempt": attempt})
        except Exception as exc:
            return as_failure(exc, started, host, port).outcome(where, sent=payload,
                                                                facts=facts)
    return ProbeOutcome(where, payload, total_ms=_ms(started), kind="timeout",
                        message=f"no answer from {where} after {attempts} attempts in "
                        f"{timeout:.1f} s", facts=facts)


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
    ip_addresses: tuple[str, ...] = ()  # iPAddress SAN entries

    def days_left(self, now: dt.datetime) -> int:
        """Whole days until expiry (negative once expired)."""
        return (self.not_after - now).days

    def matches(self, name: str) -> bool:
        """Does the certificate cover ``name``?

        A host name matches a dNSName SAN (a wildcard covers exactly one leftmost label);
        an IP address matches only an iPAddress SAN, as TLS clients check it (RFC 6125
        §6.2.1, RFC 5280). The subject CN counts only when the certificate has no SAN.
        """
        try:
            wanted_ip = ipaddress.ip_address(name.split("%", 1)[0].strip("[]"))
        except ValueError:
            wanted_ip = None
        if wanted_ip is not None:
            for entry in self.ip_addresses:
                try:
                    if ipaddress.ip_address(entry) == wanted_ip:
                        return True
                except ValueError:
                    continue
            return False
        name = name.lower().rstrip(".")
        has_san = bool(self.dns_names or self.ip_addresses)
        fallback = (self.common_name,) if self.common_name and not has_san else ()
        for pattern in self.dns_names or fallback:
            pattern = pattern.lower().rstrip(".")
            if pattern == name:
                return True
            # a wildcard covers exactly one leftmost label
            if pattern.startswith("*.") and "." in name and name.split(".", 1)[1] == pattern[2:]:
                return True
        return False

    def to_json(self) -> dict[str, Any]:
        """Evidence (dates in ISO 8601 UTC)."""
        out = {"subject": self.subject, "issuer": self.issuer, "dns_names": list(self.dns_names),
               "not_before": self.not_before.isoformat(), "not_after": self.not_after.isoformat(),
               "sha256": self.sha256, "sha1": self.sha1, "self_signed": self.self_signed,
               "serial": self.serial}
        if self.ip_addresses:
            out["ip_addresses"] = list(self.ip_addresses)
        return out


def parse_certificate(der: bytes) -> CertInfo:
    """Parse a DER certificate with ``cryptography``; raises ValueError on garbage."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    cert = x509.load_der_x509_certificate(der)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        dns_names = tuple(san.value.get_values_for_type(x509.DNSName))
        ip_addresses = tuple(str(a) for a in san.value.get_values_for_type(x509.IPAddress))
    except x509.ExtensionNotFound:
        dns_names, ip_addresses = (), ()
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return CertInfo(
        subject=cert.subject.rfc4514_string(), issuer=cert.issuer.rfc4514_string(),
        common_name=str(cns[0].value) if cns else "", dns_names=dns_names,
        not_before=cert.not_valid_before_utc, not_after=cert.not_valid_after_utc,
        sha256=hashlib.sha256(der).hexdigest(), sha1=hashlib.sha1(der).hexdigest(),  # noqa: S324
        self_signed=cert.issuer == cert.subject, serial=format(cert.serial_number, "x"),
        ip_addresses=ip_addresses)


@dataclass(frozen=True)
class TlsInfo:
    """What a TLS handshake showed: version, cipher, the certificate, trust.

    ``verify_kind`` says why ``verified`` is False: a certificate problem
    (``expired``, ``self_signed``, ``unknown_issuer``, ``name_mismatch``, …) or a
    handshake a current client refuses (``old_tls``: below TLS 1.2; ``weak_tls``:
    ciphers, keys or signatures below the default security level — the certificate's
    trust was then not checked).
    """

    version: str
    cipher: str
    cert: CertInfo | None
    verified: bool
    verify_kind: str = ""
    verify_error: str = ""
    verification_disabled: bool = False
    handshake_ms: float = 0.0
    sni: str = ""
    resolution: Resolution | None = None

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
        return {**out, **resolve_json(self.resolution)}


def modern_tls(version: str) -> bool:
    """Is ``version`` (as ``SSLSocket.version()`` names it) TLS 1.2 or newer?"""
    return version in MODERN_TLS


def verifying_context(tls: TlsOptions) -> ssl.SSLContext:
    """What a current client does: the system's trust store — plus ``tls.ca_file``, which
    *adds* a CA (``create_default_context(cafile=…)`` would replace the system store) —
    host name checking and the library's default protocol floor and security level.

    Raises :class:`ProbeFailure` (``error``: our side) when ``ca_file`` cannot be used.
    """
    context = ssl.create_default_context()
    if tls.ca_file:
        problem = oversized(tls.ca_file)
        if problem:
            raise ProbeFailure("error", f"the ca_file {tls.ca_file} {problem}")
        try:
            context.load_verify_locations(cafile=tls.ca_file)
        except (OSError, ssl.SSLError, ValueError) as exc:
            raise ProbeFailure("error", f"the ca_file {tls.ca_file} cannot be used: "
                               f"{getattr(exc, 'strerror', None) or exc}") from None
    return context


def observing_context() -> ssl.SSLContext:
    """A context that accepts whatever the server offers, down to TLS 1.0 and weak
    ciphers, keys and signatures — only to *see* the certificate and the negotiated
    version of servers a current client refuses. Never used to decide trust."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    # Debian's OpenSSL defaults to security level 2, which refuses TLS 1.0/1.1 whatever
    # minimum_version says; level 0 lets an old server show what it is.
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():  # TLSv1 is deprecated: reporting it is the point
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
    return context


_CONTEXTS: dict[tuple[Any, ...], ssl.SSLContext] = {}
_CONTEXTS_LOCK = threading.Lock()


def _ca_stamp(ca_file: str | None) -> tuple[Any, ...]:
    """What identifies a CA file's content cheaply: a changed file gets a new context."""
    if not ca_file:
        return ()
    try:
        st = os.stat(ca_file)
    except OSError:
        return (ca_file,)  # building the context reports the problem
    return (ca_file, st.st_mtime_ns, st.st_size)


def shared_verifying_context(tls: TlsOptions) -> ssl.SSLContext:
    """:func:`verifying_context`, built once per trust setting and CA file content.

    Loading the system trust store costs tens of milliseconds and most of a MiB per
    context; an audit handshakes with thousands of servers under a handful of settings.
    An ``SSLContext`` is safe to share between threads once configured.
    """
    key = ("verify", *_ca_stamp(tls.ca_file))
    with _CONTEXTS_LOCK:
        context = _CONTEXTS.get(key)
        if context is None:
            if len(_CONTEXTS) >= 64:  # bounded: many distinct CA files start afresh
                _CONTEXTS.clear()
            context = _CONTEXTS[key] = verifying_context(tls)
    return context


def shared_observing_context() -> ssl.SSLContext:
    """:func:`observing_context`, built once per process."""
    with _CONTEXTS_LOCK:
        context = _CONTEXTS.get(("observe",))
        if context is None:
            context = _CONTEXTS[("observe",)] = observing_context()
    return context


def tls_connect(host: str, port: int, *, tls: TlsOptions, server_name: str | None,
                timeout: float) -> tuple[ssl.SSLSocket, TlsInfo]:
    """A TLS connection and what its handshake showed.

    With verification on, the first handshake is a current client's
    (:func:`verifying_context`). When it fails — a certificate the system (or
    ``tls.ca_file``) does not trust, or a server whose protocol version, ciphers or keys a
    current client refuses — the handshake is repeated with :func:`observing_context`,
    so the report can show the certificate, the negotiated version and why a real client
    would refuse it (``verified=False``; ``verify_kind`` ``old_tls`` or ``weak_tls`` for
    the second kind). Callers judge the version explicitly (:func:`modern_tls`).
    """
    started = time.monotonic()
    deadline = started + timeout
    where = endpoint_text(host, port)
    error_kind, error_text = "", ""
    strict_failure: ProbeFailure | None = None
    attempts = [True, False] if tls.verify else [False]
    for verify in attempts:
        # The context first: building one is our CPU time, and must not be taken out of
        # the time the target gets to answer.
        context = shared_verifying_context(tls) if verify else shared_observing_context()
        left = deadline - time.monotonic()
        if left <= 0:
            raise ProbeFailure("deadline", f"no time left for a TLS handshake with {where}",
                               _ms(started))
        raw, _, resolution = connect(host, port, left)
        try:
            raw.settimeout(max(0.01, deadline - time.monotonic()))
            sock = context.wrap_socket(raw, server_hostname=server_name)
        except ssl.SSLCertVerificationError as exc:
            raw.close()
            error_kind = _VERIFY_KINDS.get(exc.verify_code, "untrusted")
            error_text = exc.verify_message or str(exc)
            continue
        except ssl.SSLError as exc:
            raw.close()
            failure = as_failure(exc, started, host, port, connected=True)
            if verify:  # a current client refuses: look at what the server does offer
                strict_failure = failure
                error_kind, error_text = "weak_tls", str(exc.reason or exc)
                continue
            if strict_failure is not None:
                raise ProbeFailure("tls", f"{strict_failure} (and with TLS 1.0 and weak "
                                   f"ciphers allowed: {exc.reason or exc})",
                                   _ms(started)) from None
            raise failure from None
        except Exception as exc:
            raw.close()
            raise as_failure(exc, started, host, port, connected=True) from None
        der = sock.getpeercert(binary_form=True)
        try:
            cert = parse_certificate(der) if der else None
        except ValueError:
            cert = None
        cipher = sock.cipher()
        version = sock.version() or ""
        if error_kind == "weak_tls" and not modern_tls(version):
            error_kind = "old_tls"
        return sock, TlsInfo(
            version=version, cipher=cipher[0] if cipher else "", cert=cert,
            verified=verify, verify_kind=error_kind, verify_error=error_text,
            verification_disabled=not tls.verify, handshake_ms=_ms(started),
            sni=server_name or "", resolution=resolution)
    raise ProbeFailure("tls", f"TLS with {where} failed", _ms(started))


def tls_handshake(host: str, port: int, *, tls: TlsOptions, server_name: str | None,
                  timeout: float) -> ProbeOutcome:
    """One TLS handshake (:func:`tls_connect`), then close: ``facts["tls"]`` is the
    :class:`TlsInfo`."""
    started = time.monotonic()
    where = endpoint_text(host, port)
    try:
        sock, info = tls_connect(host, port, tls=tls, server_name=server_name,
                                 timeout=timeout)
    except ProbeFailure as failure:
        return failure.outcome(where)
    sock.close()
    return ProbeOutcome(where, total_ms=_ms(started), facts={"tls": info})


_VERSION_REFUSALS = ("PROTOCOL_VERSION", "UNSUPPORTED_PROTOCOL", "WRONG_VERSION_NUMBER",
                     "NO_PROTOCOLS_AVAILABLE")


def modern_tls_handshake(host: str, port: int, server_name: str | None,
                         timeout: float) -> ProbeOutcome:
    """A handshake offering only TLS 1.2 and newer, trust not checked: tells a server
    that is too old (``facts["protocol_refused"]``: it answered with a protocol-version
    alert) from other TLS failures. ``facts["version"]`` when it answered."""
    started = time.monotonic()
    deadline = started + timeout
    where = endpoint_text(host, port)
    try:
        raw, connect_ms, _ = connect(host, port, timeout)
    except ProbeFailure as failure:
        return failure.outcome(where)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        with raw:
            raw.settimeout(max(0.01, deadline - time.monotonic()))
            with context.wrap_socket(raw, server_hostname=server_name) as sock:
                return ProbeOutcome(where, connect_ms=connect_ms, total_ms=_ms(started),
                                    facts={"version": sock.version()})
    except (OSError, ssl.SSLError) as exc:
        reason = str(getattr(exc, "reason", None) or exc)
        refused = any(k in reason.upper() for k in _VERSION_REFUSALS)
        failure = as_failure(exc, started, host, port, connected=True)
        return failure.outcome(where, connect_ms=connect_ms,
                               facts={"protocol_refused": refused})


# --- HTTP over TCP/TLS --------------------------------------------------------------

def http_request(host: str, port: int, method: str, target: str, *,
                 headers: list[tuple[str, str]] | None = None, body: bytes = b"",
                 tls: TlsOptions | None = None, server_name: str | None = None,
                 host_header: str | None = None, timeout: float,
                 max_body: int = MAX_REPLY, body_excerpt: int = 512) -> ProbeOutcome:
    """One HTTP/1.1 request (``Connection: close``) over TCP, or TLS when ``tls`` is given.

    ``answer`` is the parsed response (:class:`~accessready.checks.protocols.httpmsg.
    HttpResponse`); ``facts`` hold its evidence (request head, status, headers, a
    ``body_excerpt``-byte body excerpt) and ``tls`` (:class:`TlsInfo`) over TLS. An answer
    that is not HTTP is ``protocol``.
    """
    from accessready.checks.protocols.httpmsg import (
        HttpParseError,
        ResponseParser,
        build_request,
    )

    started = time.monotonic()
    deadline = started + timeout
    where = endpoint_text(host, port)
    name = server_name or host
    default_port = 443 if tls is not None else 80
    host_value = host_header or (name if port == default_port else f"{name}:{port}")
    all_headers = [*(headers or []), ("Connection", "close")]
    request = build_request(method, target, host_value, all_headers, body)
    facts: dict[str, Any] = {"request": request.split(b"\r\n\r\n", 1)[0].decode("latin-1")}
    try:
        if tls is not None:
            sock, info = tls_connect(host, port, tls=tls, server_name=name, timeout=timeout)
            resolution = info.resolution
            facts["tls"] = info
        else:
            sock, _, resolution = connect(host, port, timeout)
    except ProbeFailure as failure:
        return failure.outcome(where, sent=request, facts=facts)
    facts.update(_resolved(resolution))
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
            return ProbeOutcome(where, request, total_ms=_ms(started), kind="protocol",
                                message=f"{where} answered something that is not HTTP: {exc}",
                                facts=facts)
        except Exception as exc:
            return as_failure(exc, started, host, port, connected=True).outcome(
                where, sent=request, facts=facts)
    response = parser.response
    body_bytes = response.body
    facts.update({
        "status": response.status, "reason": response.reason,
        "headers": [f"{k}: {v}" for k, v in response.headers][:40],
        "body_bytes": len(body_bytes),
        "body_excerpt": body_bytes[:body_excerpt].decode("utf-8", "replace")})
    return ProbeOutcome(where, request, total_ms=_ms(started), facts=facts, answer=response)
