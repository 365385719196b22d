"""TLS for probes: the certificate's facts, what a handshake showed (:class:`TlsInfo`), the
contexts a current client and an observer use, and the handshake probe
(:func:`tls_handshake`, returning a :class:`~accessready.agent.core.outcome.ProbeOutcome`).

:func:`tls_connect` is the building block that hands back a connected socket (it raises
:class:`~accessready.agent.io.net.ProbeFailure`); :mod:`accessready.agent.io.http` uses it.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import ipaddress
import os
import ssl
import threading
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

from accessready.agent.core.outcome import ProbeOutcome
from accessready.agent.core.profile_types import TlsOptions
from accessready.agent.core.safefile import oversized
from accessready.agent.io.dns import Resolution
from accessready.agent.io.net import (
    Conversation,
    ProbeFailure,
    as_failure,
    connect,
    endpoint_text,
    ms_since,
    resolve_json,
    tcp_dialogue,
)

MODERN_TLS = ("TLSv1.2", "TLSv1.3")

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
    """Parse a DER certificate with ``cryptography``; raises ValueError on garbage.

    The same bytes give the same (frozen) :class:`CertInfo`, so a bounded cache keyed by
    the DER answers repeats: ``remote.winrm`` makes two HTTPS requests to each server, and
    an audit meets the same certificate on many servers and runs.
    """
    der = bytes(der)
    if len(der) > _CACHED_CERT_BYTES:  # bounded memory whatever a hostile server sends
        return _read_certificate(der)
    return _cached_certificate(der)


_CACHED_CERT_BYTES = 16 * 1024  # real certificates are 0.5-3 KiB
"""Largest DER kept in the cache; the cache holds at most 1024 (at most 16 MiB with
their CertInfo, a few MiB in practice)."""


def _read_certificate(der: bytes) -> CertInfo:
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


_cached_certificate = functools.lru_cache(maxsize=1024)(_read_certificate)


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
    # an abbreviated handshake with a session of an earlier verified one (not evidence:
    # what the server showed is the same either way)
    resumed: bool = field(default=False, compare=False)

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


class TlsSessions:
    """TLS sessions kept for resumption, one per endpoint, by whoever makes several
    connections to one server (``remote.winrm``: its Identify, then the request that
    lists the auth schemes): the second pays for an abbreviated handshake, not a full one.

    Explicit and short-lived (one check's), never process-wide: nothing of one customer's
    connections is offered to another's server. Only sessions of *verified* handshakes
    are kept: resuming one proves the server is the one verified (it holds the session's
    secret), so trust is not weakened; the report shows the same certificate either way.
    """

    MAX = 16  # a check talks to a handful of endpoints

    def __init__(self) -> None:
        # endpoint -> (context, session): a session is only offered to its own context
        self._kept: dict[tuple[str, int, str | None], tuple[ssl.SSLContext,
                                                             ssl.SSLSession]] = {}

    def get(self, context: ssl.SSLContext, host: str, port: int,
            server_name: str | None) -> ssl.SSLSession | None:
        """The session kept for the endpoint with ``context``, if any."""
        kept = self._kept.get((host, port, server_name))
        return kept[1] if kept is not None and kept[0] is context else None

    def keep(self, sock: ssl.SSLSocket, host: str, port: int,
             server_name: str | None) -> None:
        """Keep ``sock``'s session if its handshake was verified. Call it once the answer
        was read: a TLS 1.3 server sends its session tickets after the handshake."""
        if sock.context.verify_mode != ssl.CERT_REQUIRED or sock.session_reused:
            return  # not verified; or resumed: the session kept still serves (and taking
            # a session out of OpenSSL costs a third of a millisecond)
        try:
            session = sock.session
        except (OSError, ValueError):
            return
        if session is None or not (session.has_ticket or session.id):
            return
        if len(self._kept) >= self.MAX:
            self._kept.pop(next(iter(self._kept)))
        self._kept[(host, port, server_name)] = (sock.context, session)


def tls_connect(host: str, port: int, *, tls: TlsOptions, server_name: str | None,
                timeout: float, sessions: TlsSessions | None = None
                ) -> tuple[ssl.SSLSocket, TlsInfo]:
    """A TLS connection and what its handshake showed.

    With verification on, the first handshake is a current client's
    (:func:`verifying_context`). When it fails — a certificate the system (or
    ``tls.ca_file``) does not trust, or a server whose protocol version, ciphers or keys a
    current client refuses — the handshake is repeated with :func:`observing_context`,
    so the report can show the certificate, the negotiated version and why a real client
    would refuse it (``verified=False``; ``verify_kind`` ``old_tls`` or ``weak_tls`` for
    the second kind). Callers judge the version explicitly (:func:`modern_tls`).

    A verified handshake resumes the session ``sessions`` kept for the endpoint, when
    there is one (the server may decline: then it is a full handshake).
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
                               ms_since(started))
        raw, _, resolution = connect(host, port, left)
        session = sessions.get(context, host, port, server_name) \
            if sessions is not None and verify else None
        try:
            raw.settimeout(max(0.01, deadline - time.monotonic()))
            sock = context.wrap_socket(raw, server_hostname=server_name, session=session)
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
                                   ms_since(started)) from None
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
            verification_disabled=not tls.verify, handshake_ms=ms_since(started),
            sni=server_name or "", resolution=resolution, resumed=sock.session_reused)
    raise ProbeFailure("tls", f"TLS with {where} failed", ms_since(started))


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
    return ProbeOutcome(where, total_ms=ms_since(started), facts={"tls": info})


_VERSION_REFUSALS = ("PROTOCOL_VERSION", "UNSUPPORTED_PROTOCOL", "WRONG_VERSION_NUMBER",
                     "NO_PROTOCOLS_AVAILABLE")


def modern_tls_handshake(host: str, port: int, server_name: str | None,
                         timeout: float) -> ProbeOutcome:
    """A handshake offering only TLS 1.2 and newer, trust not checked: tells a server
    that is too old (``facts["protocol_refused"]``: it answered with a protocol-version
    alert) from other TLS failures. ``facts["version"]`` when it answered."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_2

    def talk(conversation: Conversation) -> None:
        try:
            conversation.facts["version"] = conversation.tls_version(context, server_name)
        except (OSError, ssl.SSLError) as exc:
            reason = str(getattr(exc, "reason", None) or exc).upper()
            conversation.facts["protocol_refused"] = any(k in reason
                                                         for k in _VERSION_REFUSALS)
            raise

    return tcp_dialogue(host, port, timeout, talk)
