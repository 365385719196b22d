"""The shared helpers of the checks that run scripts on servers (agent/plugin/serverscript)
and the one time budget (agent/plugin/checkapi.Budget): one contract each."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import pytest

from accessready.agent.core.model import Requirement, Status
from accessready.agent.core.profile_types import TeamViewerCfg
from accessready.agent.io.transports.base import CommandResult, TransportError
from accessready.agent.plugin import serverscript
from accessready.agent.plugin.checkapi import (
    BUDGET_FLOOR_S,
    Budget,
    Check,
    CheckContext,
    DeadlineExceeded,
    Target,
)
from accessready.agent.plugin.transport_texts import KIND_REMEDIATION
from accessready.checks.account import PrivilegesCheck, StatusCheck
from accessready.checks.adfs.service import AdfsServiceCheck
from accessready.checks.service.running import ServiceRunningCheck
from accessready.checks.teamviewer.host import TeamViewerHostCheck
from accessready.checks.wap.health import WapHealthCheck

from .simhelpers import profile_from

SERVERS = """
[account]
username = "EXEMPEL\\\\support"
password = { env = "AR_TEST_PASSWORD" }
ssh_key = "id_test"
[[servers]]
name = "win"
address = "127.0.0.1"
remote = ["rdp", "ssh", "winrm"]
services = ["W32Time"]
[[servers]]
name = "linux"
address = "127.0.0.1"
remote = ["ssh"]
[[servers]]
name = "rdponly"
address = "127.0.0.1"
remote = ["rdp"]
roles = ["adfs", "wap"]
"""


@pytest.fixture
def profile(tmp_path):
    (tmp_path / "id_test").write_text("not a key, never read here\n")
    return profile_from(SERVERS, tmp_path)


def test_command_method_prefers_winrm_among_those_allowed(profile) -> None:
    win, linux, rdponly = profile.servers
    assert serverscript.command_method(win) == "winrm"
    assert serverscript.command_method(win, ("ssh",)) == "ssh"
    assert serverscript.command_method(linux) == "ssh"
    assert serverscript.command_method(linux, ("winrm",)) is None
    assert serverscript.command_method(rdponly) is None


def test_server_targets_one_contract(profile) -> None:
    """By methods (the remote checks) the check's own needs hold; by a selection with the
    check's needs, a server read over SSH with the key needs no password."""
    rdp = serverscript.server_targets(profile, ("rdp",))
    assert [(t.name, t.needs) for t in rdp] == [("win", None), ("rdponly", None)]
    ssh = serverscript.server_targets(profile, ("ssh",))
    assert [(t.name, t.needs) for t in ssh] == [("win", None), ("linux", None)]
    read = serverscript.server_targets(profile, where=lambda s: bool(s.remote),
                                       needs=("password", "sessions"))
    assert [(t.name, t.needs) for t in read] == [
        ("win", None), ("linux", ("sessions",)), ("rdponly", None)]
    assert all(t.data is s for t, s in zip(read, profile.servers, strict=True))


class _Clock(CheckContext):
    """A context whose remaining time is what the test says (no clock, no sleeping)."""

    left = 0.0

    def remaining(self) -> float:
        return self.left


def _ctx(profile: Any, left: float) -> _Clock:
    ctx = _Clock(profile=profile, deadline=time.monotonic() + 60)
    ctx.left = left
    return ctx


def test_budget_shares_caps_and_has_one_floor(profile) -> None:
    ctx = _ctx(profile, 9.05)
    budget = Budget(ctx, parts=3, cap=10.0)
    assert budget.timeout() == pytest.approx(9.05 / 3)
    ctx.left = 9.05
    assert Budget(ctx, parts=3, cap=2.0).timeout() == 2.0
    ctx.left = 1.05  # a tenth of a second each would be no fair try: the floor
    assert Budget(ctx, parts=10, cap=5.0).timeout() == pytest.approx(BUDGET_FLOOR_S)
    ctx.left = 0.2  # the floor never outlasts the deadline
    assert Budget(ctx, parts=10, cap=5.0).timeout() == pytest.approx(0.15)
    ctx.left = 0.0
    with pytest.raises(DeadlineExceeded):
        Budget(ctx, parts=1, cap=5.0).timeout()


class _Probe(Check):
    id = "test.probe"
    requirement = Requirement.SERVERS
    remediation = dict(KIND_REMEDIATION)


class _Transport:
    def __init__(self, answer: CommandResult) -> None:
        self.answer = answer
        self.calls: list[tuple[str, dict | None]] = []

    def run_powershell(self, script: str, timeout: float, params=None) -> CommandResult:
        self.calls.append((script, params))
        return self.answer


class _Sessions:
    def __init__(self, transport: Any = None, error: TransportError | None = None) -> None:
        self.transport, self.error = transport, error

    def get(self, server, method, timeout):
        if self.error is not None:
            raise self.error
        return self.transport


def _run(profile, sessions: _Sessions) -> Any:
    server = profile.servers[0]
    ctx = CheckContext(profile=profile, deadline=time.monotonic() + 30,
                       services={"sessions": sessions})
    return serverscript.run_script(ctx, server, "winrm", "# script\n", {"Name": "x'y"},
                                   check=_Probe(), target=Target(server.name, server),
                                   details={"method": "winrm", "extra": 1})


def test_run_script_returns_the_parsed_json(profile) -> None:
    transport = _Transport(CommandResult('{"a": [1, 2]}', "", 0))
    assert _run(profile, _Sessions(transport)) == {"a": [1, 2]}
    assert transport.calls == [("# script\n", {"Name": "x'y"})]


@pytest.mark.parametrize(("error", "kind"), [
    (TransportError("refused", "connection refused"), "refused"),
    (TransportError("auth_failed", "HTTP 401"), "auth_failed"),
])
def test_run_script_maps_a_session_failure(profile, error, kind) -> None:
    result = _run(profile, _Sessions(error=error))
    assert result.status is Status.ERROR  # reading decided nothing about the server
    assert result.details["failure"] == kind and result.details["extra"] == 1
    fix = "auth_failed_winrm" if kind == "auth_failed" else kind
    assert result.remediation == KIND_REMEDIATION[fix]
    assert str(error) in result.summary.en and str(error) in result.summary.sv


def test_run_script_maps_a_failed_script_and_garbage(profile) -> None:
    failed = _run(profile, _Sessions(_Transport(CommandResult("", "Access denied", 1))))
    assert failed.status is Status.ERROR and failed.details["failure"] == "error"
    garbage = _run(profile, _Sessions(_Transport(CommandResult("<html>", "", 0))))
    assert garbage.status is Status.ERROR and garbage.details["failure"] == "protocol"


@pytest.mark.parametrize(("check", "methods"), [
    (StatusCheck(), "winrm or ssh"), (PrivilegesCheck(), "winrm or ssh"),
    (ServiceRunningCheck(), "winrm or ssh"), (AdfsServiceCheck(), "winrm"),
    (WapHealthCheck(), "winrm"), (TeamViewerHostCheck(), "winrm"),
])
def test_no_command_method_is_one_skip_everywhere(profile, check, methods) -> None:
    """Issue 12: account.* and adfs/wap skipped while service.running and teamviewer.host
    said error (verdict unknown) for the same server; now every family skips it with one
    reason and one wording. (The profile loader refuses a profile that asks for services
    or TeamViewer there, so the checks are driven directly with such a server.)"""
    server = dataclasses.replace(profile.servers[2], services=("x",))
    data: Any = server
    if isinstance(check, TeamViewerHostCheck):
        [target] = check.targets(dataclasses.replace(
            profile, access=dataclasses.replace(profile.access, teamviewer=TeamViewerCfg(
                server="rdponly"))))
        data = (target.data[0], server)
    ctx = CheckContext(profile=profile, deadline=time.monotonic() + 30, password="x",
                       services={"sessions": _Sessions(error=AssertionError("no login"))})
    result = check.run(ctx, Target("rdponly", data))
    assert result.status is Status.SKIP
    assert result.details["reason"] == "no_command_method"
    assert result.summary.en == (f"rdponly lists no command method ({methods}) in remote, "
                                 "so this cannot be read there.")
    assert result.summary.sv == (f"rdponly anger ingen kommandometod "
                                 f"({methods.replace(' or ', ' eller ')}) i remote, så detta "
                                 "kan inte läsas där.")
