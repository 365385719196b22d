"""Fixtures shared by the unit tests."""

from __future__ import annotations

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
