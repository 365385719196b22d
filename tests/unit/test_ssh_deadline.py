"""Our own time running out before an SSH stage starts is "could not decide", not the
server's timeout (it used to become ``timeout`` and ``remote.ssh`` reported a firewall)."""

from __future__ import annotations

import time

import pytest

from accessready.agent.core.model import Status
from accessready.agent.io.transports import ssh
from accessready.agent.io.transports.base import TransportError
from accessready.agent.plugin.checkapi import Target
from accessready.checks import remote
from accessready.checks.remote.outcomes import transport_failure_result


def test_no_time_left_before_a_stage_is_a_deadline_error() -> None:
    with pytest.raises(TransportError) as info:
        ssh._left(time.monotonic() - 0.5, "before the key exchange", {})
    assert info.value.kind == "deadline"
    result = transport_failure_result(remote.SshCheck(), Target("sync01"), info.value,
                                      "SSH sync01:22")
    assert result.status is Status.ERROR
    assert "before the check's deadline" in result.summary.en
    assert "tidsgräns" in result.summary.sv
