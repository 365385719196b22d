"""DNS look-ups for checks: the customer's internal resolvers and the outside view.

A small façade over dnspython so checks ask ``lookup(name, "MX", view="external",
timeout=…)`` and get a :class:`Answer` back — never an exception for the ordinary
outcomes (no such name, no data, no answer in time).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from accessready.agent.profile_types import Endpoint, Network


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

    def _resolver(self, servers: tuple[Endpoint, ...]) -> Any:
        import dns.nameserver
        import dns.resolver

        if servers:
            resolver = dns.resolver.Resolver(configure=False)
            resolver.nameservers = [
                dns.nameserver.Do53Nameserver(_address(s.host), s.port or 53) for s in servers]
        else:
            resolver = dns.resolver.Resolver(configure=True)
        resolver.cache = None
        return resolver

    def servers(self, view: str) -> tuple[Endpoint, ...]:
        """The configured servers of ``view`` (``internal`` or ``external``)."""
        if view == "internal":
            return self.network.internal_resolvers
        return self.network.external_resolvers

    def lookup(self, name: str, rdtype: str, *, view: str = "external",
               timeout: float = 3.0) -> Answer:
        """Ask ``view``'s resolvers for ``name``/``rdtype`` within ``timeout`` seconds."""
        import time

        import dns.exception
        import dns.resolver

        servers = self.servers(view)
        where = ", ".join(str(s) for s in servers) or "system"
        resolver = self._resolver(servers)
        started = time.monotonic()

        def answer(outcome: str, records: tuple[str, ...] = (), error: str = "") -> Answer:
            return Answer(name, rdtype, outcome, records, where, error,
                          (time.monotonic() - started) * 1000)

        try:
            result = resolver.resolve(name, rdtype, lifetime=max(timeout, 0.05),
                                      raise_on_no_answer=False, search=False)
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


def _address(host: str) -> str:
    """dnspython wants an address for a nameserver; resolve a name once if one is given."""
    import ipaddress
    import socket

    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        return socket.getaddrinfo(host, 53, proto=socket.IPPROTO_UDP)[0][4][0]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
