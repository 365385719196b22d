"""SSH through paramiko: the unauthenticated handshake ``remote.ssh`` needs, and a login
session (:class:`SshTransport`) the account and service checks run commands over.

Order of events, each step bounded by what is left of one deadline:

1. TCP connect (``refused`` / ``timeout`` / ``unreachable`` / ``dns``);
2. wait for the server's first bytes with ``MSG_PEEK`` — a host that accepts TCP and then
   says nothing is told apart from one that says something that is not SSH;
3. paramiko reads the banner and runs the key exchange (``banner_timeout``,
   ``handshake_timeout`` set to the time left; paramiko's own defaults are 15 s and 15 s);
4. the host key is compared with the known_hosts file **before any credential is sent**: an
   unknown key is ``host_key_unknown`` (the SHA256 fingerprint is in the details) unless the
   run opted in with ``--accept-new-host-keys``; a different key of the same type is
   ``host_key_mismatch`` and is never accepted;
5. authentication (``auth_timeout``): the key file, then the password, then keys from a
   running ssh-agent. Every attempt is recorded (method and outcome, never a secret).

An expired password shows on OpenSSH in one of three ways, all detected:
keyboard-interactive PAM prompts asking for a new password; the password method answered
with SSH_MSG_USERAUTH_PASSWD_CHANGEREQ (paramiko: "Illegal info request from server");
or a successful login whose commands all fail with "Password change required but no TTY
available" (sshd's ``do_pwchange``: PAM said NEW_AUTHTOK_REQD). OpenSSH deliberately answers a
wrong password, an unknown user and a locked account alike, so those are one kind,
``auth_failed``.

paramiko is imported inside the functions so ``accessready --help`` stays fast.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import logging
import os
import shlex
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from accessready.agent.io.transports.base import (
    CommandResult,
    TransportError,
    library_message,
    unexpected_answer,
)

MAX_OUTPUT = 1024 * 1024
"""Most bytes kept of one command's stdout (and, separately, stderr)."""

# Host key algorithms to offer first when known_hosts has a key of that type, so the server
# presents the key we can check (what OpenSSH does with HostKeyAlgorithms ordering).
_ALGORITHMS_FOR_KEY_TYPE = {
    "ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256"),
    "ssh-ed25519": ("ssh-ed25519",),
    "ecdsa-sha2-nistp256": ("ecdsa-sha2-nistp256",),
    "ecdsa-sha2-nistp384": ("ecdsa-sha2-nistp384",),
    "ecdsa-sha2-nistp521": ("ecdsa-sha2-nistp521",),
}

# What sshd prints when PAM demands a new password and there is no TTY (session.c
# do_pwchange), plus the PAM texts that precede it.
_EXPIRED_TEXTS = (
    "password change required but no tty available",
    "your password has expired",
    "you are required to change your password immediately",
    "password expired",
)
_ACCOUNT_EXPIRED_TEXTS = ("your account has expired", "account expired")
_NEW_PASSWORD_PROMPTS = ("new password", "current password", "(current)", "retype",
                         "change your password")


def fingerprint_sha256(key_blob: bytes) -> str:
    """OpenSSH's fingerprint of a public key blob: ``SHA256:<base64, no padding>``."""
    digest = hashlib.sha256(key_blob).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def known_hosts_name(host: str, port: int) -> str:
    """The name a host has in known_hosts: ``host`` on port 22, else ``[host]:port``."""
    return host if port == 22 else f"[{host}]:{port}"


@dataclass(frozen=True)
class HostKeyVerdict:
    """How the presented host key compares with the known_hosts file."""

    status: str  # "known" | "unknown" | "mismatch" | "revoked" | "added"
    key_type: str
    fingerprint: str
    known_hosts: str
    known_fingerprints: tuple[str, ...] = ()
    other_types_known: tuple[str, ...] = ()
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        """Evidence."""
        out: dict[str, Any] = {"status": self.status, "key_type": self.key_type,
                               "fingerprint": self.fingerprint, "known_hosts": self.known_hosts}
        if self.known_fingerprints:
            out["known_fingerprints"] = list(self.known_fingerprints)
        if self.other_types_known:
            out["other_key_types_known"] = list(self.other_types_known)
        if self.note:
            out["note"] = self.note
        return out


MAX_KNOWN_HOSTS_BYTES = 8 * 1024 * 1024  # = safefile.MAX_TRUST_FILE_BYTES, its size check
"""Most bytes of a known_hosts file read (some 40,000 keys). The size check before the
read refuses a larger file; this bound holds for one that grows in between."""


def _hashed_name_matches(entry: str, name: str) -> bool:
    """Does the hashed known_hosts name ``|1|salt|hash`` stand for ``name``?"""
    parts = entry.split("|")
    if len(parts) != 4 or parts[1] != "1":
        return False
    try:
        salt, digest = base64.b64decode(parts[2]), base64.b64decode(parts[3])
    except (ValueError, binascii.Error):
        return False
    return hmac.compare_digest(hmac.new(salt, name.encode(), hashlib.sha1).digest(), digest)


def normal_host_name(name: str) -> str:
    """A known_hosts host name or pattern as compared: lowercase (OpenSSH lowercases, and
    ``ssh-keygen -H`` hashes the lowercase name), without a trailing dot, and ``[h]:22``
    written ``h`` (22 is the default port)."""
    name = name.lower()
    port = ""
    if name.startswith("[") and "]:" in name:
        name, port = name[1:].rsplit("]:", 1)
    name = name[:-1] if name.endswith(".") and len(name) > 1 else name
    return name if port in ("", "22") else f"[{name}]:{port}"


def _pattern_matches(pattern: str, name: str) -> bool:
    """OpenSSH's ``match_pattern``: ``*`` any run of characters, ``?`` exactly one, the
    rest literal (no character classes, unlike fnmatch). Iterative, linear-ish: a hostile
    pattern of many ``*`` cannot make it exponential."""
    p = n = 0
    star, star_n = -1, 0
    while n < len(name):
        if p < len(pattern) and pattern[p] in ("?", name[n]):
            p, n = p + 1, n + 1
        elif p < len(pattern) and pattern[p] == "*":
            star, star_n, p = p, n, p + 1
        elif star >= 0:
            star_n += 1
            p, n = star + 1, star_n
        else:
            return False
    return all(c == "*" for c in pattern[p:])


@dataclass(frozen=True)
class _PatternLine:
    """A known_hosts line whose host field has a wildcard or a negation."""

    positive: tuple[str, ...]
    negative: tuple[str, ...]
    key_type: str
    blob: bytes

    def covers(self, name: str) -> bool:
        """OpenSSH's ``match_pattern_list``: a negated match excludes whatever else matched."""
        if any(_pattern_matches(p, name) for p in self.negative):
            return False
        return any(_pattern_matches(p, name) for p in self.positive)


def _pattern_line(names: str, key_type: str, blob: bytes) -> _PatternLine | None:
    """The host field as a pattern line, or None when it lists plain names only."""
    if not any(c in names for c in "*?!"):
        return None
    parts = [n for n in names.split(",") if n]
    return _PatternLine(tuple(normal_host_name(n) for n in parts if not n.startswith("!")),
                        tuple(normal_host_name(n[1:]) for n in parts if n.startswith("!")),
                        key_type, blob)


def _spellings(name: str) -> set[str]:
    """The spellings of ``name`` (already :func:`normal_host_name`) a hashed entry may
    stand for: hashes are of the name as written, and OpenSSH treats these alike."""
    if name.startswith("["):
        return {name}
    return {name, f"{name}.", f"[{name}]:22"}


def _default_system_known_hosts() -> Path:
    """OpenSSH's system-wide known_hosts on this platform."""
    if os.name == "nt":
        return Path(os.environ.get("PROGRAMDATA", r"C:\ProgramData")) / "ssh" / \
            "ssh_known_hosts"
    return Path("/etc/ssh/ssh_known_hosts")


class KnownHosts:
    """One known_hosts file: read once, consulted by every SSH connection of the run.

    Read here, not by paramiko: paramiko raises on ``@cert-authority`` and ``@revoked``
    lines (every SSH check then crashed, whatever host the line named) and its loading is
    quadratic in the number of lines. Lines it cannot use are skipped, as OpenSSH does;
    a ``@revoked`` key is refused for every host. Names match as OpenSSH matches them:
    lowercase, hashed or plain, wildcard patterns (``*``, ``?``) with ``!`` negation, and
    ``[h]:22`` is ``h``. A host a pattern names is known with that line's keys. Host
    certificates are not checked: a host an ``@cert-authority`` line covers is refused
    unless one of its plain keys matches, never added. At most
    :data:`MAX_KNOWN_HOSTS_BYTES` are read.

    The system-wide file (``/etc/ssh/ssh_known_hosts``; ``%ProgramData%\\ssh\\`` on
    Windows; ``system_path`` in tests, None for none) is read the same way: its keys are
    known too, and a host it knows in any way is never added.

    With ``accept_new`` an unknown host's key is appended to the file (created 0600, in a
    0700 folder when missing), as OpenSSH's ``StrictHostKeyChecking=accept-new`` does; a
    changed key is never accepted, nor a key of a new type for a host whose other key
    types are known (a man in the middle need only offer another type). Thread-safe:
    checks run concurrently. A file too large to be a known_hosts is not read:
    TransportError (``error``: our file, not the server, is at fault).
    """

    def __init__(self, path: Path, accept_new: bool = False,
                 system_path: Path | str | None = "default") -> None:
        from accessready.agent.core.safefile import oversized

        self.path = path
        self.accept_new = accept_new
        self.load_problem = ""
        self.skipped = {"cert_authority": 0, "unreadable": 0}
        self._plain: dict[str, dict[str, list[bytes]]] = {}  # name -> type -> key blobs
        self._hashed: list[tuple[str, str, bytes]] = []  # (|1|salt|hash, type, blob)
        self._hashed_found: dict[str, dict[str, list[bytes]]] = {}  # name -> hashed hits
        self._patterns: list[_PatternLine] = []
        self._authorities: list[_PatternLine] = []  # @cert-authority host patterns
        self._hashed_authorities: list[str] = []  # @cert-authority hashed names
        self._revoked: set[bytes] = set()
        self._lock = threading.Lock()
        self.system: KnownHosts | None = None
        if system_path == "default":
            system_path = _default_system_known_hosts()
        if isinstance(system_path, Path):  # too large: TransportError, as for ours
            self.system = KnownHosts(system_path, False, None)
        too_big = oversized(path)
        if too_big:  # we cannot decide about any host key: an error, never "unknown key"
            raise TransportError("error", f"known_hosts {path} {too_big}",
                                 {"known_hosts": str(path)})
        try:
            if not path.is_file():
                self.load_problem = "the file does not exist"
                return
            with path.open("rb") as handle:
                data = handle.read(MAX_KNOWN_HOSTS_BYTES + 1)
        except OSError as exc:
            self.load_problem = f"cannot read it: {exc.__class__.__name__}"
            return
        if len(data) > MAX_KNOWN_HOSTS_BYTES:
            # Fail closed: no key is trusted from a file read only in part.
            self.load_problem = (f"larger than {MAX_KNOWN_HOSTS_BYTES // (1024 * 1024)} MiB: "
                                 "not read")
            return
        for line in data.decode("utf-8", "replace").splitlines():
            self._parse(line)

    def _parse(self, line: str) -> None:
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            return
        marker = fields.pop(0) if fields[0].startswith("@") else ""
        if len(fields) < 3 or marker not in ("", "@revoked", "@cert-authority"):
            self.skipped["cert_authority" if marker == "@cert-authority" else
                         "unreadable"] += 1
            return
        names, key_type, encoded = fields[:3]
        try:
            blob = base64.b64decode(encoded, validate=True)
        except (ValueError, binascii.Error):
            self.skipped["unreadable"] += 1
            return
        if marker == "@revoked":
            self._revoked.add(blob)
            return
        pattern = _pattern_line(names, key_type, blob)
        if marker == "@cert-authority":
            self.skipped["cert_authority"] += 1
            self._authorities.append(pattern or _PatternLine(
                tuple(normal_host_name(n) for n in names.split(",") if n), (), key_type, blob))
            self._hashed_authorities += [n for n in names.split(",") if n.startswith("|1|")]
            return
        if pattern is not None:
            self._patterns.append(pattern)
            return
        for name in names.split(","):
            if name.startswith("|1|"):
                self._hashed.append((name, key_type, blob))
            elif name:
                self._plain.setdefault(normal_host_name(name), {}).setdefault(
                    key_type, []).append(blob)

    def _lookup(self, name: str) -> dict[str, list[bytes]]:
        """Key type → blobs known for ``name`` (already :func:`normal_host_name`)."""
        if name not in self._hashed_found:  # the HMACs once per hashed line and name
            spellings = _spellings(name)
            hits: dict[str, list[bytes]] = {}
            for entry, key_type, blob in self._hashed:
                if any(_hashed_name_matches(entry, s) for s in spellings):
                    hits.setdefault(key_type, []).append(blob)
            self._hashed_found[name] = hits
        known: dict[str, list[bytes]] = {}
        sources = [self._hashed_found[name], self._plain.get(name, {})]
        sources += [{p.key_type: [p.blob]} for p in self._patterns if p.covers(name)]
        for source in sources:
            for key_type, blobs in source.items():
                known.setdefault(key_type, []).extend(blobs)
        return known

    def _authority_covers(self, name: str) -> bool:
        return any(a.covers(name) for a in self._authorities) or any(
            _hashed_name_matches(entry, s) for entry in self._hashed_authorities
            for s in _spellings(name))

    def preferred_algorithms(self, host: str, port: int, offered: Sequence[str]) -> list[str]:
        """``offered`` host key algorithms, those of already known key types first."""
        name = normal_host_name(known_hosts_name(host, port))
        with self._lock:
            types = list(self._lookup(name))
        if self.system is not None:
            with self.system._lock:
                types += [t for t in self.system._lookup(name) if t not in types]
        first = [a for t in types for a in _ALGORITHMS_FOR_KEY_TYPE.get(t, (t,)) if a in offered]
        return first + [a for a in offered if a not in first]

    def _verdict(self, name: str, key_type: str, blob: bytes) -> HostKeyVerdict | None:
        """This file's verdict on the key, or None when it knows nothing of the host."""
        fingerprint = fingerprint_sha256(blob)
        if blob in self._revoked:
            return HostKeyVerdict(
                "revoked", key_type, fingerprint, str(self.path),
                note="known_hosts marks this key @revoked: it must never be accepted")
        known = self._lookup(name)
        if blob in known.get(key_type, []):
            return HostKeyVerdict("known", key_type, fingerprint, str(self.path))
        if key_type in known:
            return HostKeyVerdict(
                "mismatch", key_type, fingerprint, str(self.path),
                known_fingerprints=tuple(fingerprint_sha256(b) for b in known[key_type]),
                note="the server presents a different key than known_hosts holds for "
                     "it: a reinstalled server, or someone in the middle")
        others = tuple(sorted(known))
        if others:
            # Never added, even with --accept-new-host-keys: it is not a new host.
            return HostKeyVerdict(
                "unknown", key_type, fingerprint, str(self.path),
                known_fingerprints=tuple(fingerprint_sha256(b) for bs in known.values()
                                         for b in bs),
                other_types_known=others,
                note=f"known_hosts holds {', '.join(others)} for this host but the "
                     f"server presents {key_type}: a new key type, or someone in the "
                     "middle offering another type; not added")
        if self._authority_covers(name):
            return HostKeyVerdict(
                "unknown", key_type, fingerprint, str(self.path),
                note="known_hosts trusts a certificate authority (@cert-authority) for this "
                     "host; host certificates are not checked here, so only a plain key "
                     "line for the host is accepted; not added")
        return None

    def check(self, host: str, port: int, key: Any) -> HostKeyVerdict:
        """Compare the presented ``key`` (a paramiko PKey) with the file."""
        name = normal_host_name(known_hosts_name(host, port))
        key_type = key.get_name()
        blob = key.asbytes()
        fingerprint = fingerprint_sha256(blob)
        with self._lock:
            verdict = self._verdict(name, key_type, blob)
            if verdict is None and self.system is not None:
                with self.system._lock:
                    verdict = self.system._verdict(name, key_type, blob)
                if verdict is not None and verdict.status == "unknown":
                    verdict = dataclasses.replace(
                        verdict, note=f"{self.system.path}: {verdict.note}")
            if verdict is not None:
                return verdict
            # A file that exists but could not be read may know this host: add nothing.
            system_problem = self.system is not None and self.system.load_problem not in (
                "", "the file does not exist")
            if not self.accept_new or system_problem or self.load_problem not in (
                    "", "the file does not exist"):
                notes = [f"known_hosts: {self.load_problem}"] if self.load_problem else []
                if system_problem:
                    notes.append(f"{self.system.path}: {self.system.load_problem}")
                return HostKeyVerdict("unknown", key_type, fingerprint, str(self.path),
                                      note="; ".join(notes))
            self._append(name, key)  # lowercase, as OpenSSH writes it
            self._plain.setdefault(name, {}).setdefault(key_type, []).append(blob)
            return HostKeyVerdict("added", key_type, fingerprint, str(self.path),
                                  note="added to known_hosts (--accept-new-host-keys)")

    def _append(self, name: str, key: Any) -> None:
        """Append one entry; raise TransportError when the file cannot be written."""
        line = f"{name} {key.get_name()} {key.get_base64()}\n"
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "a", encoding="ascii") as f:
                f.write(line)
        except OSError as exc:
            raise TransportError("error", f"cannot add the host key to {self.path}: "
                                 f"{exc.strerror}", {"known_hosts": str(self.path)}) from None


@dataclass
class Handshake:
    """What the unauthenticated part of an SSH connection showed (evidence)."""

    host: str
    port: int
    banner: str = ""
    host_key: HostKeyVerdict | None = None
    connect_ms: float = 0.0
    banner_ms: float = 0.0
    kex_ms: float = 0.0
    cipher: str = ""
    first_bytes: bytes = b""

    def to_json(self) -> dict[str, Any]:
        """Evidence."""
        out: dict[str, Any] = {"endpoint": f"{self.host}:{self.port}", "banner": self.banner,
                               "connect_ms": round(self.connect_ms, 1),
                               "banner_ms": round(self.banner_ms, 1),
                               "kex_ms": round(self.kex_ms, 1)}
        if self.cipher:
            out["cipher"] = self.cipher
        if self.host_key:
            out["host_key"] = self.host_key.to_json()
        return out


def _ms(started: float) -> float:
    return (time.monotonic() - started) * 1000


def _left(deadline: float, what: str, details: Mapping[str, Any]) -> float:
    # No time left *before* a stage starts: we could not decide (``deadline``, an error),
    # not "the server did not answer" (a stage that waits and hears nothing is a timeout).
    left = deadline - time.monotonic()
    if left <= 0.01:
        raise TransportError("deadline", f"ran out of time {what}", details)
    return left


def _quiet_paramiko() -> None:
    """paramiko logs a traceback when a transport we gave up on is closed under its reader
    thread; without a handler Python prints that to stderr. The evidence is in our errors."""
    logger = logging.getLogger("paramiko")
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
        logger.propagate = False


def _connect(host: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection, name resolution included, bounded by ``timeout``.

    The probes' :func:`~accessready.agent.io.net.connect` does it (a bounded resolver,
    not ``getaddrinfo``, which has no timeout); its failure kind, one of the one table's,
    is the TransportError's.
    """
    from accessready.agent.io.net import ProbeFailure, connect

    try:
        sock, _, _ = connect(host, port, timeout)
    except ProbeFailure as failure:
        raise TransportError(failure.kind, str(failure), failure.outcome(
            f"{host}:{port}").to_json()) from None
    return sock


def handshake(host: str, port: int, known: KnownHosts, timeout: float,
              key_check: bool = True) -> tuple[Any, Handshake]:
    """Connect, read the banner, exchange keys and check the host key.

    Returns the live paramiko Transport (not yet authenticated) and the evidence. Raises
    :class:`TransportError`; the transport is closed on every failure, so no thread leaks.
    """
    import paramiko

    _quiet_paramiko()
    started = time.monotonic()
    deadline = started + timeout
    info = Handshake(host, port)
    where = f"{host}:{port}"
    sock = _connect(host, port, timeout)
    info.connect_ms = _ms(started)
    try:
        # Peek, so paramiko still reads the banner itself: distinguishes a silent host
        # (TCP open, no bytes) from one speaking another protocol.
        sock.settimeout(_left(deadline, "waiting for the SSH banner", info.to_json()))
        try:
            info.first_bytes = sock.recv(256, socket.MSG_PEEK)
        except TimeoutError:
            raise TransportError(
                "silent", f"{where} accepted TCP but sent no SSH banner within "
                f"{timeout:.1f} s (a silent host, a very slow sshd, or a firewall that "
                "accepts and drops)", {**info.to_json(), "stage": "banner"}) from None
        if not info.first_bytes:
            raise TransportError("protocol", f"{where} closed the connection without an "
                                 "SSH banner (sshd refusing us: MaxStartups, tcp wrappers, "
                                 "or not SSH)", {**info.to_json(), "stage": "banner"})
        info.banner_ms = _ms(started)
    except BaseException:
        sock.close()
        raise
    transport = paramiko.Transport(sock)
    try:
        left = _left(deadline, "before the key exchange", info.to_json())
        transport.banner_timeout = left
        transport.handshake_timeout = left
        transport.auth_timeout = left
        options = transport.get_security_options()
        options.key_types = known.preferred_algorithms(host, port, list(options.key_types))
        try:
            transport.start_client(timeout=left)
        except paramiko.SSHException as exc:
            raise _kex_error(exc, where, info) from None
        except (EOFError, OSError) as exc:
            raise TransportError("protocol", f"{where} closed the connection during the key "
                                 "exchange", {**info.to_json(), "stage": "kex",
                                              "exception": exc.__class__.__name__}) from None
        except Exception as exc:
            raise unexpected_answer(where, exc, "key exchange", info.to_json()) from None
        # start_client returns without an error when its timeout passes mid-exchange.
        if not transport.is_active() or not transport.initial_kex_done:
            if not info.first_bytes.startswith(b"SSH-"):
                raise TransportError("protocol", f"{where} does not speak SSH: it answered "
                                     f"{info.first_bytes[:40]!r}",
                                     {**info.to_json(), "stage": "banner",
                                      "first_bytes": info.first_bytes[:80].decode("latin-1")})
            # connected and answering, but not to the end in time: "silent", not "timeout"
            raise TransportError("silent", f"the key exchange with {where} did not finish "
                                 f"within {timeout:.1f} s", {**info.to_json(), "stage": "kex"})
        info.kex_ms = _ms(started)
        info.banner = transport.remote_version
        info.cipher = getattr(transport, "remote_cipher", "") or ""
        key = transport.get_remote_server_key()
        info.host_key = known.check(host, port, key)
        if key_check:
            require_trusted_key(info)
        return transport, info
    except BaseException:
        transport.close()
        raise


def require_trusted_key(info: Handshake) -> None:
    """Raise unless the host key is known (or was just added on the user's request)."""
    verdict = info.host_key
    if verdict is None or verdict.status in ("known", "added"):
        return
    where = f"{info.host}:{info.port}"
    if verdict.status == "revoked":
        raise TransportError(
            "host_key_mismatch", f"the {verdict.key_type} host key of {where} "
            f"({verdict.fingerprint}) is marked @revoked in {verdict.known_hosts}; nothing "
            "was sent", {**info.to_json(), "fingerprint": verdict.fingerprint})
    if verdict.status == "unknown" and verdict.other_types_known:
        raise TransportError(
            "host_key_unknown", f"{where} presents a {verdict.key_type} host key "
            f"({verdict.fingerprint}), but {verdict.known_hosts} holds "
            f"{', '.join(verdict.other_types_known)} for it: not accepted, even with "
            "--accept-new-host-keys (a man in the middle need only offer another key type); "
            "nothing was sent", {**info.to_json(), "fingerprint": verdict.fingerprint})
    if verdict.status == "mismatch":
        raise TransportError(
            "host_key_mismatch", f"the {verdict.key_type} host key of {where} "
            f"({verdict.fingerprint}) differs from the one in {verdict.known_hosts} "
            f"({', '.join(verdict.known_fingerprints)}); nothing was sent",
            {**info.to_json(), "fingerprint": verdict.fingerprint})
    raise TransportError(
        "host_key_unknown", f"the {verdict.key_type} host key of {where} is not in "
        f"{verdict.known_hosts}: {verdict.fingerprint}; nothing was sent"
        + (f" ({verdict.note})" if verdict.note else ""),
        {**info.to_json(), "fingerprint": verdict.fingerprint})


def _kex_error(exc: Exception, where: str, info: Handshake) -> TransportError:
    text = str(exc)
    details = {**info.to_json(), "stage": "kex",
               "first_bytes": info.first_bytes[:80].decode("latin-1")}
    if "banner" in text.lower() or "protocol version" in text.lower():
        if not info.first_bytes.startswith(b"SSH-"):
            return TransportError("protocol", f"{where} does not speak SSH: it answered "
                                  f"{info.first_bytes[:40]!r}", details)
        return TransportError("silent", f"{where} did not finish its SSH banner in time",
                              details)
    if "incompatible" in text.lower() or "no acceptable" in text.lower():
        return TransportError("protocol", f"{where} and this client share no SSH algorithms: "
                              f"{text}", details)
    return TransportError("protocol", f"the SSH key exchange with {where} failed: {text}",
                          details)


@dataclass
class SshCredentials:
    """What to try, in order: a key file, the password, the ssh-agent's keys."""

    username: str
    password: Any = None  # accessready.agent.io.secrets.Secret
    key_file: Path | None = None
    use_agent: bool = False
    agent_key_limit: int = 3


@dataclass
class _AuthState:
    attempts: list[dict[str, Any]] = field(default_factory=list)
    expired: bool = False
    account_expired: bool = False
    prompts: list[str] = field(default_factory=list)


def _interactive_handler(password: str, state: _AuthState) -> Any:
    """A keyboard-interactive handler that answers one password prompt, once.

    A prompt for a new or current password, or a PAM text saying the password expired,
    marks the password as expired and gets an empty answer, which ends the attempt.
    """
    answered = [False]

    def handler(title: str, instructions: str, prompts: list[tuple[str, bool]]) -> list[str]:
        texts = " ".join([title, instructions, *(p for p, _ in prompts)]).lower()
        state.prompts.append(" | ".join(t for t in [title, instructions,
                                                     *(p for p, _ in prompts)] if t)[:200])
        if any(t in texts for t in _ACCOUNT_EXPIRED_TEXTS):
            state.account_expired = True
            return ["" for _ in prompts]
        if any(t in texts for t in _EXPIRED_TEXTS) or any(
                t in texts for t in _NEW_PASSWORD_PROMPTS):
            state.expired = True
            return ["" for _ in prompts]
        if not prompts:
            return []
        if answered[0] or len(prompts) > 1:
            return ["" for _ in prompts]
        answered[0] = True
        return [password]

    return handler


def _try_password(transport: Any, creds: SshCredentials, state: _AuthState) -> bool:
    import paramiko

    secret = creds.password.reveal()
    try:
        transport.auth_password(creds.username, secret, fallback=False)
        state.attempts.append({"method": "password", "result": "accepted"})
        return True
    except paramiko.BadAuthenticationType as exc:
        allowed = list(exc.allowed_types)
        if "keyboard-interactive" not in allowed:
            state.attempts.append({"method": "password", "result": "not offered",
                                   "allowed": allowed})
            return False
    except paramiko.AuthenticationException:
        state.attempts.append({"method": "password", "result": "rejected"})
        return False
    except paramiko.SSHException as exc:
        if "illegal info request" in str(exc).lower():
            # SSH_MSG_USERAUTH_PASSWD_CHANGEREQ (RFC 4252 §8): the server wants a new one.
            state.expired = True
            state.attempts.append({"method": "password", "result": "change requested"})
            return False
        raise
    try:
        transport.auth_interactive(creds.username, _interactive_handler(secret, state))
        state.attempts.append({"method": "keyboard-interactive", "result": "accepted"})
        return True
    except paramiko.AuthenticationException:
        result = "password expired" if state.expired else "rejected"
        state.attempts.append({"method": "keyboard-interactive", "result": result})
        return False


def _try_key(transport: Any, username: str, key: Any, label: str, state: _AuthState) -> bool:
    import paramiko

    try:
        transport.auth_publickey(username, key)
        state.attempts.append({"method": "publickey", "key": label, "result": "accepted"})
        return True
    except paramiko.BadAuthenticationType as exc:
        state.attempts.append({"method": "publickey", "key": label, "result": "not offered",
                               "allowed": list(exc.allowed_types)})
    except paramiko.AuthenticationException:
        state.attempts.append({"method": "publickey", "key": label, "result": "rejected"})
    return False


def _load_key(path: Path, state: _AuthState) -> Any:
    import paramiko

    from accessready.agent.core.safefile import oversized

    too_big = oversized(path)  # a key is a few KB; never read a huge file whole
    if too_big:
        state.attempts.append({"method": "publickey", "key": str(path), "result": too_big})
        return None
    try:
        return paramiko.PKey.from_path(str(path))
    except paramiko.PasswordRequiredException:
        note = "passphrase-protected: load it into ssh-agent instead"
    except TypeError as exc:  # PKey.from_path on an encrypted PEM key without a password
        note = ("passphrase-protected: load it into ssh-agent instead"
                if "password" in str(exc).lower() else f"cannot be read: {exc}")
    except FileNotFoundError:
        note = "file not found"
    except (OSError, paramiko.SSHException, ValueError) as exc:
        note = f"cannot be read: {exc.__class__.__name__}"
    state.attempts.append({"method": "publickey", "key": str(path), "result": note})
    return None


def _agent_keys(limit: int) -> list[Any]:
    import paramiko

    try:
        agent = paramiko.Agent()
        return list(agent.get_keys())[:limit]
    except Exception:  # no agent, or it went away: simply no keys
        return []


def authenticate(transport: Any, creds: SshCredentials, info: Handshake) -> list[dict]:
    """Authenticate ``transport``; return the attempts. Raises a classified TransportError."""
    import paramiko

    state = _AuthState()
    where = f"{info.host}:{info.port}"
    try:
        if creds.key_file is not None:
            key = _load_key(creds.key_file, state)
            if key is not None and _try_key(transport, creds.username, key,
                                            str(creds.key_file), state):
                return state.attempts
        if creds.password is not None and _try_password(transport, creds, state):
            return state.attempts
        if creds.use_agent and not state.expired:
            for i, key in enumerate(_agent_keys(creds.agent_key_limit)):
                label = f"agent key {i + 1} ({fingerprint_sha256(key.asbytes())})"
                if _try_key(transport, creds.username, key, label, state):
                    return state.attempts
    except paramiko.SSHException as exc:
        timed_out = "timeout" in str(exc).lower()
        # stage "auth": credentials may have reached the server, so even a timeout here
        # is remembered by the SessionPool (a retry could count as another failed logon)
        raise TransportError("timeout" if timed_out else "protocol",
                             f"authentication with {where} broke off: {exc}",
                             {**info.to_json(), "attempts": state.attempts,
                              "stage": "auth"}) from None
    except (EOFError, OSError) as exc:
        raise TransportError("protocol", f"{where} closed the connection during "
                             "authentication", {**info.to_json(), "attempts": state.attempts,
                                                "exception": exc.__class__.__name__}) from None
    except Exception as exc:
        # stage "auth": credentials may have been sent, so the session pool remembers it
        raise unexpected_answer(where, exc, "auth", {**info.to_json(),
                                                     "attempts": state.attempts}) from None
    details = {**info.to_json(), "attempts": state.attempts}
    if state.prompts:
        details["prompts"] = state.prompts
    if state.account_expired:
        raise TransportError("account_expired", f"{creds.username} on {where}: the account "
                             "has expired", details)
    if state.expired:
        raise TransportError("password_expired", f"{creds.username} on {where}: the "
                             "password has expired and must be changed", details)
    if not state.attempts:
        raise TransportError("auth_failed", f"no credentials to try for {creds.username} on "
                             f"{where} (no password, key file or agent)", details)
    raise TransportError("auth_failed", f"{where} rejected {creds.username} "
                         f"({', '.join(_attempt_text(a) for a in state.attempts)}); OpenSSH "
                         "answers a wrong password, an unknown user and a locked account "
                         "alike", details)


def _attempt_text(attempt: Mapping[str, Any]) -> str:
    key = f" {attempt['key']}" if "key" in attempt else ""
    return f"{attempt['method']}{key}: {attempt['result']}"


class SshTransport:
    """An authenticated SSH session; each command runs on its own channel.

    Commands are POSIX argv, joined with :func:`shlex.join` for the remote login shell.
    paramiko's Transport is thread-safe, so checks may run commands concurrently.
    """

    method = "ssh"

    def __init__(self, transport: Any, info: Handshake, attempts: list[dict],
                 username: str) -> None:
        self._transport = transport
        self.info = info
        self.attempts = attempts
        self.username = username

    def evidence(self) -> dict[str, Any]:
        """The handshake and login as evidence."""
        return {**self.info.to_json(), "auth": self.attempts}

    def run(self, argv: Sequence[str], timeout: float) -> CommandResult:
        """Run ``argv`` on a new channel; raise TransportError on timeout or a dead link."""
        if not argv:
            raise ValueError("empty command")
        return self._exec(shlex.join(argv), timeout)

    def run_powershell(self, script: str, timeout: float,
                       params: Mapping[str, str] | None = None) -> CommandResult:
        """Run PowerShell on a Windows OpenSSH server (``-EncodedCommand``: no quoting)."""
        from accessready.agent.io.transports.winrm import encode_powershell, powershell_argv

        return self.run(powershell_argv(encode_powershell(script, params)), timeout)

    def _exec(self, command: str, timeout: float) -> CommandResult:
        import paramiko

        started = time.monotonic()
        deadline = started + timeout
        where = f"{self.info.host}:{self.info.port}"
        try:
            channel = self._transport.open_session(timeout=max(0.1, timeout))
        except (paramiko.SSHException, EOFError, OSError) as exc:
            kind = "timeout" if "timeout" in str(exc).lower() else "protocol"
            raise TransportError(kind, f"cannot open an SSH channel on {where}: "
                                 f"{library_message(exc) or 'the connection broke'}") from None
        except Exception as exc:
            raise unexpected_answer(where, exc, "channel") from None
        out, err = bytearray(), bytearray()
        try:
            channel.settimeout(max(0.05, deadline - time.monotonic()))
            channel.exec_command(command)
            while True:
                if channel.recv_ready():
                    out += channel.recv(65536)[: max(0, MAX_OUTPUT - len(out))]
                    continue
                if channel.recv_stderr_ready():
                    err += channel.recv_stderr(65536)[: max(0, MAX_OUTPUT - len(err))]
                    continue
                # sshd may send the exit status before the last output (it is still in the
                # child's pipe): finished only once the output ended (EOF or close) too.
                if channel.exit_status_ready() and (channel.eof_received or channel.closed) \
                        and not (channel.recv_ready() or channel.recv_stderr_ready()):
                    break
                if time.monotonic() >= deadline:
                    raise TransportError(
                        "timeout", f"the command did not finish on {where} within "
                        f"{timeout:.1f} s", {"command": command[:200],
                                             "stdout": out[:500].decode("utf-8", "replace")})
                channel.status_event.wait(0.02)
            code = channel.recv_exit_status()
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise TransportError("protocol", f"the SSH channel on {where} broke",
                                 {"exception": exc.__class__.__name__}) from None
        except TransportError:
            raise
        except Exception as exc:
            raise unexpected_answer(where, exc, "command") from None
        finally:
            channel.close()
        result = CommandResult(out.decode("utf-8", "replace"), err.decode("utf-8", "replace"),
                               code, (time.monotonic() - started) * 1000)
        if code != 0 and any(t in result.stderr.lower() for t in _EXPIRED_TEXTS):
            raise TransportError("password_expired", f"{self.username} logged in on {where}, "
                                 "but sshd demands a password change before any command "
                                 "runs", {"stderr": result.stderr[:300], "exit_code": code})
        return result

    def close(self) -> None:
        """End the session."""
        self._transport.close()


def probe(host: str, port: int, known: KnownHosts, timeout: float) -> Handshake:
    """The handshake only (banner, key exchange, host key verdict), then disconnect.

    Unlike :func:`login` an unknown or changed key is not an exception here: the verdict is
    in the returned evidence, which is what ``remote.ssh`` reports.
    """
    transport, info = handshake(host, port, known, timeout, key_check=False)
    transport.close()
    return info


def login(host: str, port: int, known: KnownHosts, creds: SshCredentials,
          timeout: float) -> SshTransport:
    """A verified, authenticated session, or a classified :class:`TransportError`."""
    started = time.monotonic()
    transport, info = handshake(host, port, known, timeout)
    try:
        transport.auth_timeout = max(0.1, timeout - (time.monotonic() - started))
        attempts = authenticate(transport, creds, info)
    except BaseException:
        transport.close()
        raise
    return SshTransport(transport, info, attempts, creds.username)
