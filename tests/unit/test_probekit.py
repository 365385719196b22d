"""One failure table turns a probe's (or a transport's) failure kind into a status and
words, for every network check and every transport.

Before, probekit, adfs and remote each had their own: a timeout was FAIL in one, ERROR in
another, and remote failed even on this machine's own errors; transport_texts had a
second vocabulary with different wording.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from accessready.agent.core.failures import ACCOUNT, FAILURES, US, describe, fix_for, status_of
from accessready.agent.core.model import Status
from accessready.agent.core.outcome import ProbeOutcome
from accessready.agent.io import http, net, tls
from accessready.agent.io.transports.base import TransportError
from accessready.agent.plugin import transport_texts
from accessready.agent.plugin.checkapi import Target
from accessready.agent.plugin.probekit import describe_failure
from accessready.checks import remote
from accessready.checks.adfs.probe import AdfsProbeCheck
from accessready.checks.adfs.tls import AdfsTlsCheck
from accessready.checks.remote.outcomes import probe_failure_result, transport_failure_result

from .access_helpers import run_access
from .dnsfakes import dead_system_dns, system_dns
from .hostile import tcp
from .simhelpers import profile_from, run_profile

TARGET_KINDS = ("refused", "timeout", "silent", "unreachable", "dns", "reset", "closed",
                "protocol", "too_big", "tls")
LOCAL_KINDS = ("resolver", "deadline", "error")


def test_the_table_says_fail_for_the_target_and_error_for_this_machine() -> None:
    for kind in TARGET_KINDS:
        assert status_of(kind) is Status.FAIL, kind
    for kind in LOCAL_KINDS:
        assert status_of(kind) is Status.ERROR, kind
    assert status_of("something-new") is Status.ERROR  # unknown: cannot decide
    assert "garbage" not in FAILURES  # one kind for "not the expected protocol"
    for kind, entry in FAILURES.items():
        assert entry.says.en and entry.says.sv and entry.says.en != entry.says.sv, kind
        assert status_of(kind) is (Status.ERROR if entry.about == US else Status.FAIL)
        assert fix_for(kind) is not None, kind


def test_silent_and_timeout_read_differently() -> None:
    silent = describe_failure("gw:443", ProbeOutcome("gw:443", kind="silent"))
    timeout = describe_failure("gw:443", ProbeOutcome("gw:443", kind="timeout"))
    assert "accepted the connection" in silent.en and "tog emot anslutningen" in silent.sv
    assert "firewall drops" in timeout.en and "accepted" not in timeout.en


@pytest.mark.parametrize("kind", TARGET_KINDS + LOCAL_KINDS)
def test_adfs_and_remote_follow_the_table(kind: str, tmp_path: Path) -> None:
    failure = ProbeOutcome("srv:443", kind=kind, message=f"probe said {kind}")
    status, summary, _ = AdfsTlsCheck._failed(failure, False)
    assert (status is Status.ERROR) is (status_of(kind) is Status.ERROR)
    assert FAILURES[kind].says.en in summary.en and FAILURES[kind].says.sv in summary.sv
    result = probe_failure_result(remote.RdpCheck(), Target("srv"), failure, "RDP srv:3389", {})
    assert result.status is status_of(kind)
    assert FAILURES[kind].says.sv in result.summary.sv
    assert result.remediation is not None


@pytest.mark.parametrize("kind", sorted(FAILURES))
def test_transport_texts_read_the_one_table(kind: str) -> None:
    exc = TransportError(kind, "the transport said so")
    summary = transport_texts.failure_summary(exc)
    assert FAILURES[kind].says.en in summary.en and FAILURES[kind].says.sv in summary.sv
    # the account checks: FAIL only when the account is at fault
    assert (transport_texts.status_for(exc) is Status.FAIL) is (FAILURES[kind].about == ACCOUNT)
    key = transport_texts.remediation_key(exc, "ssh")
    assert transport_texts.KIND_REMEDIATION[key] == fix_for(kind, "ssh")
    assert transport_texts.KIND_OWNERS.get(kind, "customer") == FAILURES[kind].owner
    # remote.ssh: a login-stage kind says nothing about reachability
    result = transport_failure_result(remote.SshCheck(), Target("srv"), exc, "SSH srv:22")
    assert result.summary == describe("SSH srv:22", kind, str(exc), detail=True)
    if FAILURES[kind].about in (ACCOUNT, US) and kind != "host_key_unknown":
        assert result.status is Status.ERROR, kind
    else:
        assert result.status is Status.FAIL, kind


def test_refined_remediation_keys_come_from_the_table() -> None:
    assert transport_texts.KIND_REMEDIATION["auth_failed_winrm"] == fix_for("auth_failed",
                                                                          "winrm")
    assert transport_texts.KIND_REMEDIATION["host_key_other_type"] == fix_for(
        "host_key_unknown", "other_key_types_known")
    assert transport_texts.KIND_REMEDIATION["host_key_other_type"] != fix_for(
        "host_key_unknown")


def test_every_probe_returns_one_outcome_and_no_check_catches_a_probe_exception() -> None:
    """The five shapes are gone: the probes say ProbeOutcome, and the exception of the
    building blocks under them never reaches a check."""
    probes = [net.tcp_reach, net.tcp_dialogue, net.tcp_exchange, net.udp_exchange,
              tls.tls_handshake, tls.modern_tls_handshake, http.http_request]
    for probe in probes:
        assert inspect.signature(probe).return_annotation == "ProbeOutcome", probe
    checks_dir = Path(remote.__file__).resolve().parents[1]
    for path in sorted(checks_dir.rglob("*.py")):
        nodes = list(ast.walk(ast.parse(path.read_text(encoding="utf-8"))))
        names = {n.id for n in nodes if isinstance(n, ast.Name)}
        names |= {n.attr for n in nodes if isinstance(n, ast.Attribute)}  # net.ProbeFailure
        names |= {a.name for n in nodes if isinstance(n, ast.ImportFrom) for a in n.names}
        assert "ProbeFailure" not in names, path


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
""", [AdfsProbeCheck], timeout=2.0)
    result = results["adfs.probe"]
    assert result.status is Status.FAIL, result.summary.en
    assert result.details["probe"]["failure"] == "silent"
