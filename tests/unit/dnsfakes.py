"""Stand-ins for this machine's resolver: a loopback DNS simulator or a silent socket.

:func:`accessready.agent.dns.resolve_host` reads the hosts file and then asks the system's
resolvers; these helpers point both at loopback so no test query leaves the machine.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from accessready.agent import dns as agent_dns
from accessready.agent.simulators.dns import DnsSimulator

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


@contextlib.contextmanager
def system_dns(records: Mapping[tuple[str, str], Sequence[str]], folder: Path,
               monkeypatch: pytest.MonkeyPatch) -> Iterator[DnsSimulator]:
    """The system resolver is a loopback simulator serving ``records``."""
    empty_hosts(folder, monkeypatch)
    with DnsSimulator(records) as sim:
        monkeypatch.setattr(agent_dns, "system_resolver", lambda: resolver_at(sim.address))
        yield sim


@contextlib.contextmanager
def dead_system_dns(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Udp]:
    """The system resolver is a UDP socket that never answers."""
    empty_hosts(folder, monkeypatch)
    with Udp("silent") as silent:
        monkeypatch.setattr(agent_dns, "system_resolver",
                            lambda: resolver_at(f"127.0.0.1:{silent.port}"))
        yield silent
