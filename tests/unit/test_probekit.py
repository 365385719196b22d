"""One table turns a ProbeFailure into a status and words, for every network check.

Before, probekit, adfs and remote each had their own: a timeout was FAIL in one, ERROR in
another, and remote failed even on this machine's own errors.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from accessready.agent.core.model import Status
from accessready.agent.io.net import ProbeFailure
from accessready.agent.plugin.checkapi import Target
from accessready.agent.plugin.probekit import FAILURES, describe_failure, failure_status
from accessready.checks.adfs import http as adfs
from accessready.checks.remote import checks as remote

from .access_helpers import run_access
from .dnsfakes import dead_system_dns, system_dns
from .hostile import tcp
from .simhelpers import profile_from, run_profile

TARGET_KINDS = ("refused", "timeout", "silent", "unreachable", "dns", "reset", "closed",
                "garbage", "too_big", "tls")
LOCAL_KINDS = ("resolver", "deadline", "error")


def test_the_table_says_fail_for_the_target_and_error_for_this_machine() -> None:
    assert set(FAILURES) == set(TARGET_KINDS) | set(LOCAL_KINDS)
    for kind in TARGET_KINDS:
        assert failure_status(kind) is Status.FAIL, kind
    for kind in LOCAL_KINDS:
        assert failure_status(kind) is Status.ERROR, kind
    assert failure_status("something-new") is Status.ERROR  # unknown: cannot decide
    for kind, meaning in FAILURES.items():
        assert meaning.text.en and meaning.text.sv and meaning.text.en != meaning.text.sv, kind


def test_silent_and_timeout_read_differently() -> None:
    silent = describe_failure("gw:443", ProbeFailure("silent", ""))
    timeout = describe_failure("gw:443", ProbeFailure("timeout", ""))
    assert "accepted the connection" in silent.en and "tog emot anslutningen" in silent.sv
    assert "firewall drops" in timeout.en and "accepted" not in timeout.en


@pytest.mark.parametrize("kind", TARGET_KINDS + LOCAL_KINDS)
def test_adfs_and_remote_follow_the_table(kind: str, tmp_path: Path) -> None:
    failure = ProbeFailure(kind, f"probe said {kind}")
    assert adfs._undecided(failure) is (failure_status(kind) is Status.ERROR)
    en, sv = adfs.describe_failure(failure)
    assert FAILURES[kind].text.en in en and FAILURES[kind].text.sv in sv
    result = remote._probe_failure_result(remote.RdpCheck(), Target("srv"), failure,
                                          "RDP srv:3389", {})
    assert result.status is failure_status(kind)
    assert FAILURES[kind].text.sv in result.summary.sv
    assert result.remediation is not None


def _rdp_toml(address: str) -> str:
    return f"""
[[servers]]
name = "srv"
address = "{address}"
roles = ["adfs"]
remote = ["rdp"]
"""


def test_remote_rdp_with_a_dead_resolver_is_an_error(tmp_path, monkeypatch) -> None:
    # the deadline is above RDP's 4 s probe cap: the bounded look-up ends first
    with dead_system_dns(tmp_path, monkeypatch):
        [result] = run_profile(profile_from(_rdp_toml("rdp.kund.test"), tmp_path),
                               [remote.RdpCheck], password=None, timeout=6.0)
    assert result.status is Status.ERROR, result.summary.en
    assert result.details["failure"] == "resolver"
    assert "DNS" in result.summary.en and "DNS" in result.summary.sv


def test_remote_rdp_with_a_name_that_does_not_exist_fails(tmp_path, monkeypatch) -> None:
    with system_dns({}, tmp_path, monkeypatch):
        [result] = run_profile(profile_from(_rdp_toml("rdp.kund.test"), tmp_path),
                               [remote.RdpCheck], password=None, timeout=3.0)
    assert result.status is Status.FAIL and result.details["failure"] == "dns"


def test_adfs_probe_on_a_silent_node_is_a_finding() -> None:
    # Before: a timeout was "could not be reached from here" (ERROR) in adfs only.
    with tcp("silent") as peer:
        results, _ = run_access(f"""
[access]
methods = ["teamviewer"]
[adfs]
federation_service = "sts.kund.test"
ports = {{ http = {peer.port} }}
[[servers]]
name = "adfs01"
address = "127.0.0.1"
roles = ["adfs"]
remote = ["rdp"]
""", [adfs.AdfsProbeCheck], timeout=2.0)
    result = results["adfs.probe"]
    assert result.status is Status.FAIL, result.summary.en
    assert result.details["probe"]["failure"] == "silent"
