"""SessionPool: bounded waiting for a session another check is opening, and which failures
are remembered (credentials: yes, to avoid lockouts; one check's short budget: no)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import pytest

from accessready.agent.io.transports.base import SessionPool, TransportError, remembered


@dataclass(frozen=True)
class _Server:
    name: str = "adfs01"


class _Session:
    method = "ssh"

    def close(self) -> None:
        """Nothing to close."""


class _Opener:
    """Fails with ``failures`` in turn, then opens sessions; counts its calls."""

    def __init__(self, *failures: TransportError, gate: threading.Event | None = None):
        self.failures = list(failures)
        self.calls = 0
        self.gate = gate
        self.entered = threading.Event()

    def __call__(self, server: Any, method: str, timeout: float) -> Any:
        self.calls += 1
        self.entered.set()
        if self.gate is not None:
            self.gate.wait(30)
        if self.failures:
            raise self.failures.pop(0)
        return _Session()


def test_waiting_for_another_checks_login_is_bounded() -> None:
    gate = threading.Event()
    opener = _Opener(gate=gate)
    pool = SessionPool(opener)
    first = threading.Thread(target=pool.get, args=(_Server(), "ssh", 30.0), daemon=True)
    first.start()
    assert opener.entered.wait(10)
    outcome: dict[str, Any] = {}

    def second() -> None:
        try:
            outcome["session"] = pool.get(_Server(), "ssh", 0.2)
        except TransportError as exc:
            outcome["error"] = exc

    waiter = threading.Thread(target=second, daemon=True)
    waiter.start()
    waiter.join(10)  # before the fix this waited until the first login finished
    gate.set()
    first.join(10)
    waiter.join(10)
    assert "error" in outcome, outcome
    assert outcome["error"].kind == "timeout"
    assert opener.calls == 1
    assert isinstance(pool.get(_Server(), "ssh", 1.0), _Session)  # the first one's session


@pytest.mark.parametrize("kind", ["timeout", "silent", "resolver"])
def test_a_short_budget_failure_is_not_remembered(kind: str) -> None:
    opener = _Opener(TransportError(kind, "one check had little time left"))
    pool = SessionPool(opener)
    with pytest.raises(TransportError) as info:
        pool.get(_Server(), "winrm", 0.1)
    assert info.value.kind == kind
    assert isinstance(pool.get(_Server(), "winrm", 5.0), _Session)
    assert opener.calls == 2


@pytest.mark.parametrize("kind", ["auth_failed", "account_locked", "refused", "dns",
                                  "host_key_mismatch"])
def test_other_failures_are_remembered_and_not_retried(kind: str) -> None:
    opener = _Opener(TransportError(kind, "no"))
    pool = SessionPool(opener)
    for _ in range(3):
        with pytest.raises(TransportError) as info:
            pool.get(_Server(), "ssh", 5.0)
        assert info.value.kind == kind
    assert opener.calls == 1


def test_a_timeout_while_authenticating_is_remembered() -> None:
    # the password may have reached the server: a retry could count as another failed logon
    failure = TransportError("timeout", "authentication broke off", {"stage": "auth"})
    assert remembered(failure)
    opener = _Opener(failure)
    pool = SessionPool(opener)
    for _ in range(2):
        with pytest.raises(TransportError):
            pool.get(_Server(), "ssh", 5.0)
    assert opener.calls == 1
