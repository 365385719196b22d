"""DNS look-ups for checks: the customer's internal resolvers and the outside view.

A small façade over dnspython so checks ask ``lookup(name, "MX", view="external",
timeout=…)`` and get an :class:`Answer` back — never an exception for the ordinary
outcomes (no such name, no data, no answer in time).

:func:`resolve` is the one way a host name becomes addresses *within a timeout*, for
everything that connects to a host by name (the probes in :mod:`accessready.agent.io.net`,
the SSH and WinRM transports, resolver names in the profile). It has two modes:

* **the system resolver** (no ``servers``): ``socket.getaddrinfo``, as the engineer's
  browser, RDP client and VPN client resolve. On Windows that is the DNS client, so the
  Name Resolution Policy Table (split DNS of AnyConnect and Always On VPN) and the hosts
  file apply; dnspython would read the resolver addresses from the registry and miss both.
  getaddrinfo has no timeout, so it runs on a small shared pool of daemon threads
  (:data:`SYSTEM_WORKERS`) and the caller waits only its own time left; one that outlives
  it is reported as a resolver timeout (this machine's problem), and goes on finishing in
  its worker. Concurrent askers for one name share one call.
* **named resolvers** (``servers``): DNS packets to exactly those resolvers (dnspython),
  for the views a profile names (``adfs.dns`` compares them on purpose).

In both modes an IP literal is used as it is, then the hosts file (``/etc/hosts``; on
Windows ``drivers\\etc\\hosts`` under System32) and ``localhost``/``*.localhost`` (RFC 6761)
answer before any resolver, as the operating system does for a connection.
:class:`Resolution` says which source answered, for the evidence.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from accessready.agent.core.profile_types import Endpoint, Network
from accessready.agent.io.daemon_pool import DaemonPool

HOSTS_MAX_BYTES = 1 << 20  # a hosts file larger than this is not a hosts file


class ResolveError(Exception):
    """A host name could not be turned into addresses.

    ``kind`` is ``nxdomain`` (the name does not exist), ``nodata`` (it exists but has no
    address), ``timeout`` (no resolver answered in time) or ``error`` (no resolver is
    configured, or every resolver failed). The first two are facts about the name; the
    last two are problems of this machine's resolver (:attr:`local`).
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind

    @property
    def local(self) -> bool:
        """True when the resolver, not the name, is the problem."""
        return self.kind in ("timeout", "error")


def is_ip_literal(host: str) -> bool:
    """Is ``host`` an IPv4/IPv6 address (an IPv6 zone such as ``%eth0`` allowed)?"""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def hosts_file() -> Path:
    """Where this operating system keeps its hosts file."""
    if sys.platform == "win32":
        root = os.environ.get("SYSTEMROOT", r"C:\Windows")
        return Path(root) / "System32" / "drivers" / "etc" / "hosts"
    return Path("/etc/hosts")


def hosts_addresses(name: str, path: Path | None = None) -> tuple[str, ...]:
    """The addresses the hosts file gives ``name`` (case-insensitive), in file order."""
    wanted = name.lower().rstrip(".")
    try:
        with open(path or hosts_file(), "rb") as handle:
            text = handle.read(HOSTS_MAX_BYTES).decode("utf-8", "replace")
    except OSError:
        return ()
    found: list[str] = []
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) < 2 or not is_ip_literal(fields[0]):
            continue
        if wanted in (f.lower().rstrip(".") for f in fields[1:]) and fields[0] not in found:
            found.append(fields[0])
    return tuple(found)


# dnspython sleeps this long after a round of nameservers has failed, before it looks at
# the lifetime again (``_Resolution.backoff``): a lifetime of T can take T + 0.1 s.
_DNSPYTHON_BACKOFF_S = 0.1


def bounded_resolve(resolver: Any, name: str, rdtype: str, timeout: float, *,
                    search: bool) -> Any:
    """``resolver.resolve`` that returns or raises within ``timeout`` seconds.

    dnspython's ``lifetime`` alone is not a bound: each nameserver may take the resolver's
    ``timeout`` (2 s from resolv.conf by default) and the back-off sleep comes on top.
    One round over every nameserver gets the whole budget, shared equally, and the
    lifetime leaves room for the one back-off that follows.
    """
    servers = max(len(resolver.nameservers), 1)
    lifetime = timeout - _DNSPYTHON_BACKOFF_S if timeout > 2 * _DNSPYTHON_BACKOFF_S \
        else timeout / 2
    resolver.timeout = max(lifetime / servers, 0.01)
    return resolver.resolve(name, rdtype, lifetime=max(lifetime, 0.01), search=search,
                            raise_on_no_answer=False)


def system_resolver() -> Any:
    """A dnspython resolver configured as this machine is (``/etc/resolv.conf`` or the
    Windows registry), read afresh: a VPN that connects mid-run changes it. No cache."""
    import dns.resolver

    resolver = dns.resolver.Resolver(configure=True)
    resolver.cache = None
    return resolver


SYSTEM_RESOLVER = "system resolver"
"""The label evidence carries for an answer from getaddrinfo (the operating system)."""

SYSTEM_WORKERS = 8
"""Most getaddrinfo calls in flight at once; a call stuck on a dead resolver holds one."""


@dataclass(frozen=True)
class Resolution:
    """Where a host name's addresses came from (``resolver``: ``IP literal``, ``hosts
    file``, ``localhost``, :data:`SYSTEM_RESOLVER` or ``resolvers A, B``)."""

    name: str
    addresses: tuple[str, ...]
    resolver: str

    def to_json(self) -> dict[str, Any]:
        """Evidence for a result's details."""
        return {"name": self.name, "addresses": list(self.addresses),
                "resolver": self.resolver}


class _SystemLookups:
    """getaddrinfo on :class:`DaemonPool`, one shared call per name in flight."""

    def __init__(self) -> None:
        self.pool = DaemonPool(SYSTEM_WORKERS, "accessready-getaddrinfo", "name look-up")
        # re-entrant: a call that finished at once runs its done-callback (which takes
        # the lock) inside add_done_callback, while the lock is held
        self._lock = threading.RLock()
        self._flight: dict[tuple[str, int], tuple[Future[Any], list[int]]] = {}

    def addresses(self, name: str, timeout: float) -> tuple[str, ...]:
        """The addresses getaddrinfo gives ``name``, or :class:`ResolveError`."""
        future, release = self.begin(name)
        try:
            return future.result(timeout=max(timeout, 0.0))
        except FutureTimeout:
            raise no_answer(name, timeout) from None
        finally:
            release()

    def begin(self, name: str) -> tuple[Future[tuple[str, ...]], Callable[[], None]]:
        """Start (or join) the look-up of ``name`` without waiting: its Future (a result,
        or :class:`ResolveError`) and the call that says this asker no longer waits."""
        # The resolver function is taken now, not when a worker gets to it: a call queued
        # or shared under one resolver (a test's fake, say) never runs under another, and
        # askers share a call only when they would have made the same one.
        lookup = socket.getaddrinfo
        key = (name.lower(), id(lookup))
        with self._lock:
            entry = self._flight.get(key)
            if entry is None:
                future = self.pool.submit(lambda: _getaddrinfo(name, lookup))
                entry = (future, [0])
                self._flight[key] = entry
                future.add_done_callback(lambda _f, k=key, e=entry: self._land(k, e))
            future, waiters = entry
            waiters[0] += 1
        released = [False]

        def release() -> None:
            with self._lock:
                if released[0]:
                    return
                released[0] = True
                waiters[0] -= 1
                if waiters[0] == 0 and not future.done() and future.cancel():
                    self._flight.pop(key, None)  # nobody waits and no worker took it yet

        return future, release

    def waiting(self, name: str) -> int:
        """How many callers wait for ``name``'s call in flight (0: none in flight)."""
        with self._lock:
            entry = self._flight.get((name.lower(), id(socket.getaddrinfo)))
            return entry[1][0] if entry else 0

    def _land(self, key: tuple[str, int], entry: tuple[Future[Any], list[int]]) -> None:
        with self._lock:
            if self._flight.get(key) is entry:
                del self._flight[key]


# getaddrinfo's error codes, by meaning (the names exist on every platform Python
# supports; Windows gives its WSA numbers under them)
_NO_NAME = {getattr(socket, n) for n in ("EAI_NONAME",) if hasattr(socket, n)}
_NO_DATA = {getattr(socket, n) for n in ("EAI_NODATA", "EAI_ADDRFAMILY")
            if hasattr(socket, n)}
_TRY_AGAIN = {getattr(socket, n) for n in ("EAI_AGAIN",) if hasattr(socket, n)}


def _getaddrinfo(name: str, lookup: Callable[..., Any] = socket.getaddrinfo
                 ) -> tuple[str, ...]:
    """The operating system's addresses for ``name`` (blocking; runs on the pool)."""
    try:
        infos = lookup(name, None, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        reason = exc.strerror or str(exc)
        if exc.errno in _NO_NAME:
            raise ResolveError("nxdomain", f"{name} does not resolve "
                               f"({SYSTEM_RESOLVER}: {reason})") from None
        if exc.errno in _NO_DATA:
            raise ResolveError("nodata", f"{name} has no address "
                               f"({SYSTEM_RESOLVER}: {reason})") from None
        kind = "timeout" if exc.errno in _TRY_AGAIN else "error"
        raise ResolveError(kind, f"the {SYSTEM_RESOLVER} could not look up {name} "
                           f"({reason})") from None
    except (UnicodeError, OSError) as exc:
        raise ResolveError("error", f"the {SYSTEM_RESOLVER} could not look up {name} "
                           f"({exc})") from None
    found = tuple(dict.fromkeys(str(info[4][0]).split("%", 1)[0] for info in infos))
    if not found:
        raise ResolveError("nodata", f"{name} has no address ({SYSTEM_RESOLVER})")
    # IPv4 when there is any, as the named mode asks A before AAAA: a probe gives its
    # whole time to the first address, and an IPv6 path dropped by a firewall would
    # otherwise turn a reachable host into a timeout
    ipv4 = tuple(a for a in found if ":" not in a)
    return ipv4 or found


def _netns() -> str:
    """The calling thread's network namespace on Linux ("" elsewhere or when unknown).

    A pool thread keeps the namespace of the thread that started it, so a pool started
    in one namespace would resolve there for every asker: one pool per namespace keeps a
    look-up in the asker's own network (the test lab runs checks in namespaces)."""
    try:
        return os.readlink("/proc/thread-self/ns/net")
    except OSError:
        return ""


SYSTEM_LOOKUPS = _SystemLookups()
"""The bounded getaddrinfo pool of the namespace the process started in."""

_POOLS: dict[str, _SystemLookups] = {_netns(): SYSTEM_LOOKUPS}
_POOLS_LOCK = threading.Lock()


def system_lookups() -> _SystemLookups:
    """The getaddrinfo pool for the calling thread's network namespace."""
    key = _netns()
    with _POOLS_LOCK:
        found = _POOLS.get(key)
        if found is None:
            found = _POOLS[key] = _SystemLookups()
    return found


def no_answer(name: str, timeout: float) -> ResolveError:
    """The error for a system look-up of ``name`` still unanswered after ``timeout``."""
    return ResolveError("timeout", f"the {SYSTEM_RESOLVER} gave no answer for {name} "
                        f"within {timeout:.1f} s")


def resolve_locally(host: str) -> Resolution | None:
    """``host`` resolved from what answers before any resolver (an IP literal, the hosts
    file, ``localhost``), or None when a resolver must be asked; raises
    :class:`ResolveError` for an empty name."""
    if is_ip_literal(host):
        return Resolution(host, (host,), "IP literal")
    name = host.rstrip(".")
    if not name:
        raise ResolveError("nxdomain", "an empty host name")
    listed = hosts_addresses(name)
    if listed:
        return Resolution(host, listed, "hosts file")
    if name.lower() == "localhost" or name.lower().endswith(".localhost"):
        return Resolution(host, ("127.0.0.1", "::1"), "localhost")
    return None


def resolve(host: str, timeout: float, *, servers: Sequence[Endpoint] = ()) -> Resolution:
    """The addresses of ``host`` within ``timeout`` seconds; raises :class:`ResolveError`.

    No ``servers``: the system resolver (getaddrinfo, bounded); else DNS to exactly those
    resolvers. See the module docstring for the sources tried first. Never blocks longer
    than ``timeout`` (plus the time to read the hosts file).
    """
    local = resolve_locally(host)
    if local is not None:
        return local
    name = host.rstrip(".")
    if not servers:
        return Resolution(host, system_lookups().addresses(name, timeout), SYSTEM_RESOLVER)
    deadline = time.monotonic() + timeout
    label = "resolvers " + ", ".join(str(s) for s in servers)
    resolver = named_resolver(servers, timeout)
    return Resolution(host, _dns_addresses(resolver, host, name, deadline - time.monotonic(),
                                           label), label)


def resolve_host(host: str, timeout: float) -> tuple[str, ...]:
    """The addresses of ``host`` from the system resolver (see :func:`resolve`)."""
    return resolve(host, timeout).addresses


def named_resolver(servers: Sequence[Endpoint], timeout: float) -> Any:
    """A dnspython resolver asking exactly ``servers``; one named by a host name is
    resolved first (system resolver, within ``timeout``; raises :class:`ResolveError`)."""
    import dns.nameserver
    import dns.resolver

    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [
        dns.nameserver.Do53Nameserver(resolve(s.host, timeout).addresses[0], s.port or 53)
        for s in servers]
    resolver.cache = None
    return resolver


def _dns_addresses(resolver: Any, host: str, name: str, timeout: float,
                   where: str) -> tuple[str, ...]:
    """A, then AAAA when there is no A, from ``resolver`` within ``timeout``."""
    import dns.exception
    import dns.resolver

    deadline = time.monotonic() + timeout
    for rdtype in ("A", "AAAA"):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            answer = bounded_resolve(resolver, name, rdtype, left, search=False)
        except dns.resolver.NXDOMAIN:
            raise ResolveError("nxdomain", f"{host} does not exist in DNS "
                               f"(NXDOMAIN from {where})") from None
        except (dns.resolver.LifetimeTimeout, dns.exception.Timeout):
            break
        except dns.resolver.NoNameservers as exc:
            raise ResolveError("error", f"no resolver could answer for {host} "
                               f"({_first_line(exc)})") from None
        except dns.exception.DNSException as exc:
            raise ResolveError("error", f"looking up {host} failed: "
                               f"{type(exc).__name__}: {_first_line(exc)}") from None
        if answer.rrset is not None:
            addresses = tuple(dict.fromkeys(r.to_text() for r in answer.rrset))
            if addresses:
                return addresses
    else:
        raise ResolveError("nodata", f"{host} exists in DNS but has no address record")
    raise ResolveError("timeout", f"no DNS answer for {host} from {where} within "
                       f"{timeout:.1f} s")


@dataclass(frozen=True)
class Answer:
    """The outcome of one DNS question."""

    name: str
    rdtype: str
    outcome: str  # "ok" | "nxdomain" | "nodata" | "timeout" | "error"
    records: tuple[str, ...] = ()
    server: str = ""
    error: str = ""
    elapsed_ms: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """Evidence for a result's details."""
        out: dict[str, Any] = {"name": self.name, "type": self.rdtype, "outcome": self.outcome,
                               "records": list(self.records), "server": self.server or "system",
                               "elapsed_ms": round(self.elapsed_ms, 1)}
        if self.error:
            out["error"] = self.error
        return out


@dataclass
class Resolvers:
    """The resolvers a profile names: ``internal`` and ``external`` (empty: the system's)."""

    network: Network
    _cache: dict[str, Any] = field(default_factory=dict)
    _gates: dict[str, threading.Lock] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def _resolver(self, servers: tuple[Endpoint, ...], timeout: float) -> Any:
        """A dnspython resolver for ``servers`` (none: as this machine is configured);
        raises :class:`ResolveError` when a server named by host name cannot be resolved
        within ``timeout``."""
        return named_resolver(servers, timeout) if servers else system_resolver()

    def servers(self, view: str) -> tuple[Endpoint, ...]:
        """The configured servers of ``view`` (``internal`` or ``external``)."""
        if view == "internal":
            return self.network.internal_resolvers
        return self.network.external_resolvers

    def lookup(self, name: str, rdtype: str, *, view: str = "external",
               timeout: float = 3.0) -> Answer:
        """Ask ``view``'s resolvers for ``name``/``rdtype`` within ``timeout`` seconds.

        Definite answers (records, no such name, no data) are remembered for the run, so
        contacts sharing a mail domain ask once; timeouts and errors are not, since they
        may come from one check's short remaining budget.
        """
        key = f"answer:{view}:{rdtype}:{name.lower().rstrip('.')}"
        with self._guard:
            gate = self._gates.setdefault(key, threading.Lock())
        # Checks run concurrently: the first asks, the others wait for its answer.
        started = time.monotonic()
        waited = gate.acquire(timeout=max(timeout, 0.0))
        try:
            known = self._cache.get(key)
            if known is not None:
                return known
            left = max(timeout - (time.monotonic() - started), 0.05)
            found = self._ask(name, rdtype, view, left)
            if found.outcome in ("ok", "nxdomain", "nodata"):
                self._cache[key] = found
            return found
        finally:
            if waited:
                gate.release()

    def _ask(self, name: str, rdtype: str, view: str, timeout: float) -> Answer:
        import dns.exception
        import dns.resolver

        servers = self.servers(view)
        where = ", ".join(str(s) for s in servers) or "system"
        started = time.monotonic()

        def answer(outcome: str, records: tuple[str, ...] = (), error: str = "") -> Answer:
            return Answer(name, rdtype, outcome, records, where, error,
                          (time.monotonic() - started) * 1000)

        try:
            resolver = self._resolver(servers, max(timeout, 0.05))
        except ResolveError as exc:  # a resolver named by a host name that does not resolve
            return answer("timeout" if exc.kind == "timeout" else "error",
                          error=f"the resolver's own name: {exc}")
        except dns.exception.DNSException as exc:  # no system resolver configured
            return answer("error", error=f"{type(exc).__name__}: {_first_line(exc)}")
        left = max(timeout - (time.monotonic() - started), 0.05)
        try:
            result = bounded_resolve(resolver, name, rdtype, left, search=False)
        except dns.resolver.NXDOMAIN:
            return answer("nxdomain")
        except (dns.resolver.LifetimeTimeout, dns.exception.Timeout):
            return answer("timeout", error=f"no answer within {timeout:.1f} s")
        except dns.resolver.NoNameservers as exc:
            return answer("error", error=_first_line(exc))
        except dns.exception.DNSException as exc:
            return answer("error", error=f"{type(exc).__name__}: {_first_line(exc)}")
        if result.rrset is None:
            return answer("nodata")
        return answer("ok", tuple(sorted(r.to_text() for r in result.rrset)))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
