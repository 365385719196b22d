"""DNS look-ups for checks: the customer's internal resolvers and the outside view.

A small façade over dnspython so checks ask ``lookup(name, "MX", view="external",
timeout=…)`` and get a :class:`Answer` back — never an exception for the ordinary
outcomes (no such name, no data, no answer in time).

:func:`resolve_host` turns a host name into addresses *within a timeout*, for everything
that connects to a host by name (the probes in :mod:`accessready.checks.net`, the SSH
transport, resolver names in the profile). ``socket.getaddrinfo`` cannot do that: it
has no timeout, so a dead resolver would hold a check's thread past its deadline. The
order follows what the operating system does for a connection, minus the parts that
cannot be bounded:

1. an IP literal is used as it is;
2. the hosts file (``/etc/hosts``; on Windows ``drivers\\etc\\hosts`` under System32);
3. ``localhost`` and ``*.localhost`` are loopback (RFC 6761) even without a hosts entry;
4. otherwise DNS, through the resolvers the system is configured with (dnspython reads
   ``/etc/resolv.conf`` or the Windows registry, search domains included), with the
   timeout as the query's lifetime. IPv4 addresses are asked for first; IPv6 only when
   the name has no IPv4 address.

Other name services (mDNS ``.local``, NIS, LDAP via nsswitch) are not consulted.
"""

from __future__ import annotations

import ipaddress
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from accessready.agent.profile_types import Endpoint, Network

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


def resolve_host(host: str, timeout: float) -> tuple[str, ...]:
    """The addresses of ``host`` within ``timeout`` seconds; raises :class:`ResolveError`.

    See the module docstring for the order of sources. Never blocks longer than
    ``timeout`` (plus the time to read the hosts file and the resolver configuration).
    """
    import dns.exception
    import dns.resolver

    if is_ip_literal(host):
        return (host,)
    name = host.rstrip(".")
    if not name:
        raise ResolveError("nxdomain", "an empty host name")
    listed = hosts_addresses(name)
    if listed:
        return listed
    if name.lower() == "localhost" or name.lower().endswith(".localhost"):
        return ("127.0.0.1", "::1")
    deadline = time.monotonic() + timeout
    try:
        resolver = system_resolver()
    except dns.exception.DNSException as exc:  # NoResolverConfiguration and kin
        raise ResolveError("error", f"no DNS resolver is configured on this machine "
                           f"({_first_line(exc)})") from None
    where = ", ".join(str(s) for s in resolver.nameservers) or "the system's resolvers"
    for rdtype in ("A", "AAAA"):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            answer = bounded_resolve(resolver, name, rdtype, left, search=True)
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
        """A dnspython resolver for ``servers``; raises :class:`ResolveError` when a
        server named by host name cannot be resolved within ``timeout``."""
        import dns.nameserver
        import dns.resolver

        if servers:
            resolver = dns.resolver.Resolver(configure=False)
            resolver.nameservers = [
                dns.nameserver.Do53Nameserver(self._address(s.host, timeout), s.port or 53)
                for s in servers]
        else:
            resolver = system_resolver()
        resolver.cache = None
        return resolver

    def _address(self, host: str, timeout: float) -> str:
        """A resolver's address: ``host`` itself, or its first address (remembered)."""
        key = f"address:{host}"
        if key not in self._cache:
            self._cache[key] = resolve_host(host, timeout)[0]
        return str(self._cache[key])

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
