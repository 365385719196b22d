"""Stand-ins for this machine's resolver: a loopback DNS simulator or a silent socket.

:func:`accessready.agent.io.dns.resolve` reads the hosts file and then asks the operating
system (``socket.getaddrinfo``, on its bounded pool); :class:`~accessready.agent.io.dns.
Resolvers` asks dnspython's view of the system's resolvers. These helpers point the hosts
file, getaddrinfo (for names only: literals still go to the real one) and that view at
loopback, so no test query leaves the machine.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from accessready.agent.demo.simulators.dns import DnsSimulator
from accessready.agent.io import dns as agent_dns

from .hostile import Udp


def resolver_at(address: str) -> Any:
    """A dnspython resolver asking only ``host:port``."""
    import dns.nameserver
    import dns.resolver

    host, port = address.rsplit(":", 1)
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [dns.nameserver.Do53Nameserver(host, int(port))]
    resolver.cache = None
    return resolver


def empty_hosts(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make the hosts file an empty one in ``folder``; returns its path."""
    hosts = folder / "hosts"
    hosts.write_text("# nothing\n")
    monkeypatch.setattr(agent_dns, "hosts_file", lambda: hosts)
    return hosts


def os_resolver_at(address: str, monkeypatch: pytest.MonkeyPatch,
                   lifetime: float = 3.0) -> None:
    """Make ``socket.getaddrinfo`` answer names as an OS stub resolver asking only
    ``host:port`` would: NXDOMAIN is EAI_NONAME, no address EAI_NODATA, silence EAI_AGAIN
    after ``lifetime`` seconds (glibc's retries, shortened)."""
    import dns.exception
    import dns.resolver

    real = socket.getaddrinfo

    def fake(host, port, family=0, type=0, proto=0, flags=0):
        if agent_dns.is_ip_literal(str(host)) or flags & socket.AI_NUMERICHOST:
            return real(host, port, family, type, proto, flags)
        resolver = resolver_at(address)
        found: list[str] = []
        try:
            for rdtype in ("A", "AAAA"):
                answer = resolver.resolve(host, rdtype, lifetime=lifetime,
                                          raise_on_no_answer=False)
                found += [r.to_text() for r in answer.rrset or []]
        except dns.resolver.NXDOMAIN:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None
        except dns.exception.Timeout:
            raise socket.gaierror(socket.EAI_AGAIN,
                                  "Temporary failure in name resolution") from None
        if not found:
            raise socket.gaierror(socket.EAI_NODATA, "No address associated with hostname")
        return [info for a in found for info in real(a, port, family, type, proto,
                                                     flags | socket.AI_NUMERICHOST)]

    monkeypatch.setattr(socket, "getaddrinfo", fake)


@contextlib.contextmanager
def system_dns(records: Mapping[tuple[str, str], Sequence[str]], folder: Path,
               monkeypatch: pytest.MonkeyPatch) -> Iterator[DnsSimulator]:
    """The system resolver is a loopback simulator serving ``records``."""
    empty_hosts(folder, monkeypatch)
    with DnsSimulator(records) as sim:
        monkeypatch.setattr(agent_dns, "system_resolver", lambda: resolver_at(sim.address))
        os_resolver_at(sim.address, monkeypatch)
        yield sim


@contextlib.contextmanager
def dead_system_dns(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Udp]:
    """The system resolver is a UDP socket that never answers."""
    empty_hosts(folder, monkeypatch)
    with Udp("silent") as silent:
        monkeypatch.setattr(agent_dns, "system_resolver",
                            lambda: resolver_at(f"127.0.0.1:{silent.port}"))
        os_resolver_at(f"127.0.0.1:{silent.port}", monkeypatch)
        yield silent
