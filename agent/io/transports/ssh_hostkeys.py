"""SSH host keys: the known_hosts file as OpenSSH reads it (hashed names, patterns,
``[host]:port``, ``@revoked`` and ``@cert-authority`` markers), the verdict on a presented
key (:class:`HostKeyVerdict`), and the handshake evidence that carries it
(:class:`Handshake`). Used by :mod:`accessready.agent.io.transports.ssh`.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from accessready.agent.core.safefile import oversized
from accessready.agent.io.transports.base import TransportError

# Host key algorithms to offer first when known_hosts has a key of that type, so the server
# presents the key we can check (what OpenSSH does with HostKeyAlgorithms ordering).
_ALGORITHMS_FOR_KEY_TYPE = {
    "ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256"),
    "ssh-ed25519": ("ssh-ed25519",),
    "ecdsa-sha2-nistp256": ("ecdsa-sha2-nistp256",),
    "ecdsa-sha2-nistp384": ("ecdsa-sha2-nistp384",),
    "ecdsa-sha2-nistp521": ("ecdsa-sha2-nistp521",),
}


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


_IPAD = bytes(x ^ 0x36 for x in range(256))  # RFC 2104's pads, as translation tables
_OPAD = bytes(x ^ 0x5C for x in range(256))


class _HashedName:
    """A hashed known_hosts name ``|1|salt|hash``, decoded on its first lookup and then
    kept: HMAC-SHA1 (RFC 2104) with the key's inner and outer SHA-1 states prepared, so
    each further name costs two hash copies instead of a base64 decode and a keyed HMAC
    set-up (every looked-up name is tried against every hashed line)."""

    __slots__ = ("_digest", "_inner", "_outer", "entry")

    def __init__(self, entry: str) -> None:
        self.entry = entry
        self._digest: bytes | None = None  # None: not decoded yet; b"": stands for no name

    def _prepare(self) -> None:
        parts = self.entry.split("|")
        try:
            if len(parts) != 4 or parts[1] != "1":
                raise ValueError(self.entry)
            key, digest = base64.b64decode(parts[2]), base64.b64decode(parts[3])
        except (ValueError, binascii.Error):
            self._digest = b""
            return
        key = hashlib.sha1(key).digest() if len(key) > 64 else key  # noqa: S324
        key = key.ljust(64, b"\0")
        self._inner = hashlib.sha1(key.translate(_IPAD))  # noqa: S324
        self._outer = hashlib.sha1(key.translate(_OPAD))  # noqa: S324
        self._digest = digest or b"\0"  # set last: other threads test it

    def stands_for(self, name: str) -> bool:
        """Is this the hash of ``name``?"""
        if self._digest is None:
            self._prepare()
        if not self._digest:
            return False
        inner = self._inner.copy()
        inner.update(name.encode())
        outer = self._outer.copy()
        outer.update(inner.digest())
        return hmac.compare_digest(outer.digest(), self._digest)


def _hashed_name_matches(entry: str, name: str) -> bool:
    """Does the hashed known_hosts name ``|1|salt|hash`` stand for ``name``?"""
    return _HashedName(entry).stands_for(name)


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


_READS: OrderedDict[bytes, tuple[Any, ...]] = OrderedDict()
_READS_LOCK = threading.Lock()
_READS_KEPT = 4  # the user's and the system's file, and a couple more
"""What recent known_hosts contents said, by the SHA-256 of the bytes, for
:meth:`KnownHosts._adopt`; the least recently used goes first."""


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
    :data:`MAX_KNOWN_HOSTS_BYTES` are read. Readers of the same content (every profile of
    an audit opens the same file) share one parse (:meth:`_adopt`).

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

        self.path = path
        self.accept_new = accept_new
        self.load_problem = ""
        self.skipped = {"cert_authority": 0, "unreadable": 0}
        self._plain: dict[str, dict[str, list[bytes]]] = {}  # name -> type -> key blobs
        self._added: dict[str, dict[str, list[bytes]]] = {}  # accepted in this run
        self._hashed: list[tuple[_HashedName, str, bytes]] = []  # (name, type, blob)
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
        stamp = hashlib.sha256(data).digest()  # reading is cheap, parsing is not
        if self._adopt(stamp):
            return
        for line in data.decode("utf-8", "replace").splitlines():
            self._parse(line)
        with _READS_LOCK:
            _READS[stamp] = self._read_facts()
            while len(_READS) > _READS_KEPT:
                _READS.popitem(last=False)

    def _read_facts(self) -> tuple[Any, ...]:
        """What the file said, as :meth:`_adopt` takes it (never changed after the read)."""
        return (self._plain, self._hashed, self._hashed_found, self._patterns,
                self._authorities, self._hashed_authorities, self._revoked, self.skipped)

    def _adopt(self, stamp: bytes) -> bool:
        """Take what an earlier read of the same content said: an audit opens the same
        known_hosts for every customer profile, and parsing it (and the HMACs of its
        hashed names) costs milliseconds per hundred lines. True when there was one."""
        with _READS_LOCK:
            facts = _READS.get(stamp)
            if facts is None:
                return False
            _READS.move_to_end(stamp)
        (self._plain, self._hashed, self._hashed_found, self._patterns, self._authorities,
         self._hashed_authorities, self._revoked, skipped) = facts
        self.skipped = dict(skipped)
        return True

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
                self._hashed.append((_HashedName(name), key_type, blob))
            elif name:
                self._plain.setdefault(normal_host_name(name), {}).setdefault(
                    key_type, []).append(blob)

    def _lookup(self, name: str) -> dict[str, list[bytes]]:
        """Key type → blobs known for ``name`` (already :func:`normal_host_name`)."""
        if name not in self._hashed_found:  # the HMACs once per hashed line and name
            spellings = _spellings(name)
            hits: dict[str, list[bytes]] = {}
            for hashed, key_type, blob in self._hashed:
                if any(hashed.stands_for(s) for s in spellings):
                    hits.setdefault(key_type, []).append(blob)
            self._hashed_found[name] = hits
        known: dict[str, list[bytes]] = {}
        sources = [self._hashed_found[name], self._plain.get(name, {}),
                   self._added.get(name, {})]
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
            # not into _plain: that may be shared with other readers of the same file
            self._added.setdefault(name, {}).setdefault(key_type, []).append(blob)
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
    note: str = ""  # how the exchange went when not as usual (a second connection)

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
        if self.note:
            out["note"] = self.note
        return out
