"""A connect squeezed into the last moments of a check is not the target's timeout.

When name resolution (or our own busy process) leaves only a sliver of the budget, a
connect that then times out proves nothing about the target: ``deadline`` (an error of
ours), never ``timeout`` (a fail). With a fair window, silence stays the target's timeout.
"""

from __future__ import annotations

import socket
import time

import pytest

from accessready.agent.core.failures import status_of
from accessready.agent.core.model import Status
from accessready.agent.io import net


class _Silent(socket.socket):
    """A socket whose connect waits out its timeout, as to a host that drops SYNs."""

    def connect(self, address):  # type: ignore[no-untyped-def, override]
        time.sleep(self.gettimeout() or 0)
        raise TimeoutError("timed out")


@pytest.fixture
def silent_target(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(net.socket, "socket", _Silent)

    def slow_resolution(delay: float) -> None:
        real = net.resolve_targets

        def resolve(host, port, timeout, *args, **kwargs):  # type: ignore[no-untyped-def]
            time.sleep(delay)
            return real("127.0.0.1", port, timeout, *args, **kwargs)

        monkeypatch.setattr(net, "resolve_targets", resolve)

    return slow_resolution


def test_a_sliver_of_time_left_is_our_deadline(silent_target) -> None:
    silent_target(0.95)
    with pytest.raises(net.ProbeFailure) as info:
        net.tcp_connect("gateway.kund.test", 443, 1.0)
    assert info.value.kind == "deadline"
    assert status_of(info.value.kind) is Status.ERROR


def test_silence_in_a_fair_window_is_the_targets_timeout(silent_target) -> None:
    silent_target(0.0)
    with pytest.raises(net.ProbeFailure) as info:
        net.tcp_connect("gateway.kund.test", 443, 1.0)
    assert info.value.kind == "timeout"
    assert status_of(info.value.kind) is Status.FAIL
