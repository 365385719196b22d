"""Fixtures shared by the unit tests."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from accessready.agent.io import net


@pytest.fixture
def taken(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, int]]]:
    """Every (host, port) whose connection a check took from those the runner opened
    ahead (``Check.first_contact``)."""
    seen: list[tuple[str, int]] = []
    real = net._take_opened

    def spy(host: str, port: int) -> net.Opened | None:
        ready = real(host, port)
        if ready is not None:
            seen.append((host, port))
        return ready

    monkeypatch.setattr(net, "_take_opened", spy)
    yield seen


@pytest.fixture
def silent_ports() -> Iterator[list[int]]:
    """Three ports that never answer a SYN (full accept queues)."""
    made = []
    for _ in range(3):
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        port = server.getsockname()[1]
        filler = socket.create_connection(("127.0.0.1", port), timeout=2)
        made.append((server, filler, port))
    yield [port for _, _, port in made]
    for server, filler, _ in made:
        filler.close()
        server.close()
