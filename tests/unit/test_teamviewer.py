"""teamviewer.network and teamviewer.host: parsers on recorded output, checks on loopback.

TeamViewer's own router names are never resolved or contacted here: every profile sets
``routers`` to names served by a loopback DNS simulator or to 127.0.0.1.
"""

from __future__ import annotations

import plistlib

import pytest

from accessready.agent.core.model import Status
from accessready.agent.demo.simulators.dns import DnsSimulator
from accessready.agent.demo.simulators.teamviewer import RouterSimulator
from accessready.agent.io.localsys import CommandResult, ServiceInfo
from accessready.agent.io.transports.base import CommandResult as RemoteResult
from accessready.agent.io.transports.base import TransportError
from accessready.agent.io.tvhost import (
    WINDOWS_TEAMVIEWER_PS,
    LocalTeamViewerSource,
    TeamViewerFacts,
    facts_from_windows,
    format_id,
    normalize_id,
    parse_global_conf,
    parse_plist,
    parse_registry_export,
    parse_teamviewer_info,
    remote_windows_facts,
    strip_ansi,
)
from accessready.agent.plugin.checkapi import Target
from accessready.checks.teamviewer import CHECKS
from accessready.checks.teamviewer.host import TeamViewerHostCheck
from accessready.checks.teamviewer.network import TeamViewerNetworkCheck, split_router
from tests.unit.access_helpers import ended_by_their_deadline, run_access
from tests.unit.dnsfakes import empty_hosts, os_resolver_at

from .simhelpers import closed_port
from .teamviewer_host import INFO_OUTPUT, SimulatedTeamViewerHost

REG_EXPORT = """\ufeffWindows Registry Editor Version 5.00

[HKEY_LOCAL_MACHINE\\SOFTWARE\\TeamViewer]
"InstallationDirectory"="C:\\\\Program Files\\\\TeamViewer"
"Version"="15.51.5"
"ClientID"=dword:499602d2
"LastMACUsed"=hex(7):00,00

[HKEY_LOCAL_MACHINE\\SOFTWARE\\TeamViewer\\DefaultSettings]
"Autostart_GUI"=dword:00000001
"""

GLOBAL_CONF = """TeamViewer Global Settings
[int32] ClientID = 987654321
[int32] EulaAccepted = 1
[strng] Owner = "root"
"""


# --- pure parsers -------------------------------------------------------------------------

def test_info_output_with_ansi_codes():
    info = parse_teamviewer_info(INFO_OUTPUT)
    assert info.client_id == "987654321"
    assert info.version == "15.51.5"
    assert info.daemon_active is True
    assert "\x1b" not in strip_ansi(INFO_OUTPUT)


@pytest.mark.parametrize("text", [
    "TeamViewer ID:\x1b[0m 123456789\n", "  TeamViewer ID:  1 234 567 890 \n",
    "\x1b[1mTeamViewer ID:\x1b[0m \x1b[1m 1234567890 \x1b[0m"])
def test_info_id_variants(text):
    assert parse_teamviewer_info(text).client_id in ("123456789", "1234567890")


def test_info_without_id_or_daemon_down():
    info = parse_teamviewer_info("TeamViewer 15.51.5\n     Active: inactive (dead)\n")
    assert info.client_id is None
    assert info.daemon_active is False


def test_registry_export_dword_client_id():
    keys = parse_registry_export(REG_EXPORT)
    main = keys["HKEY_LOCAL_MACHINE\\SOFTWARE\\TeamViewer"]
    assert main["ClientID"] == 1234567890
    assert main["Version"] == "15.51.5"
    assert main["InstallationDirectory"] == "C:\\Program Files\\TeamViewer"


def test_global_conf_and_plist():
    assert parse_global_conf(GLOBAL_CONF) == "987654321"
    assert parse_global_conf("nothing here") is None
    data = plistlib.dumps({"ClientID": 1234567890, "Version": "15.50.3"}, fmt=plistlib.FMT_BINARY)
    assert parse_plist(data) == {"ClientID": 1234567890, "Version": "15.50.3"}
    assert parse_plist(b"garbage \x00\xff") == {}


@pytest.mark.parametrize(("raw", "digits"), [
    ("1 234 567 890", "1234567890"), (1234567890, "1234567890"), ("12", None),
    (None, None), (True, None), ("000000000", None)])
def test_normalize_and_format_id(raw, digits):
    assert normalize_id(raw) == digits
    if digits:
        assert format_id(digits) == "1 234 567 890"


def test_windows_json_as_powershell_returns_it():
    data = {"registry": [{"path": "HKLM:\\SOFTWARE\\TeamViewer", "ClientID": 1234567890,
                          "Version": "15.51.5"}],
            "services": {"name": "TeamViewer", "display_name": "TeamViewer",
                         "status": "Running"},
            "processes": ["TeamViewer_Service.exe", "TeamViewer.exe"], "computer": "TV01"}
    facts = facts_from_windows(data)
    assert facts.installed and facts.running
    assert facts.client_id == "1234567890"
    assert facts.host == "TV01"
    stopped = facts_from_windows({**data, "services": [{"name": "TeamViewer",
                                                       "status": "Stopped"}]})
    assert not stopped.running
    missing = facts_from_windows({"registry": [], "services": [], "processes": []})
    assert not missing.installed and missing.service_state == "missing"


# --- teamviewer.host ------------------------------------------------------------------------

def judge(facts: TeamViewerFacts, expected: str | None = "987654321"):
    return TeamViewerHostCheck().judge(Target("this machine"), facts, expected)


def test_host_passes_with_the_expected_id():
    result = judge(SimulatedTeamViewerHost().teamviewer_facts(1))
    assert result.status is Status.PASS
    assert "987 654 321" in result.summary.en


@pytest.mark.parametrize(("facts", "expected", "status", "fix"), [
    (TeamViewerFacts("linux", installed=False), "1", Status.FAIL, "not_installed"),
    (TeamViewerFacts("linux", True, service_state="stopped", client_id="987654321"),
     "987654321", Status.FAIL, "not_running"),
    (TeamViewerFacts("linux", True, service_state="running"), "987654321", Status.FAIL,
     "no_id"),
    (TeamViewerFacts("linux", True, service_state="running", client_id="111222333"),
     "987654321", Status.FAIL, "id_mismatch"),
    (TeamViewerFacts("linux", True, service_state="running", client_id="111222333"), None,
     Status.WARN, "no_profile_id"),
    (TeamViewerFacts("windows", True, service_state="unknown", client_id="987654321",
                     processes=("TeamViewer_Service.exe",)), "987654321", Status.PASS, None),
])
def test_host_verdicts(facts, expected, status, fix):
    result = judge(facts, expected)
    assert result.status is status, result.summary.en
    if fix:
        assert result.remediation == TeamViewerHostCheck.remediation[fix]


LOCAL_HOST_PROFILE = """
[access]
methods = ["teamviewer"]
[access.teamviewer]
id = "1 234 567 890"
routers = ["127.0.0.1"]
ports = [1]
"""


def test_host_check_on_this_machine_only_in_a_self_check():
    results, _ = run_access(LOCAL_HOST_PROFILE, [TeamViewerHostCheck], self_check=True,
                            services={"teamviewer_host": SimulatedTeamViewerHost()})
    result = results["teamviewer.host"]
    assert result.status is Status.FAIL and result.target == "this machine"
    assert "987 654 321" in result.summary.en and "1 234 567 890" in result.summary.en


class RefusingSource:
    """A teamviewer_host service that must never be asked: this machine is not the host."""

    def teamviewer_facts(self, timeout):
        raise AssertionError("inspected this machine although it is not the customer's host")


@pytest.mark.parametrize("vantage", ["engineer", "audit"])
def test_host_check_never_inspects_the_engineers_laptop_or_the_audit_host(vantage):
    """Issue 14: without `server` an engineer's TeamViewer-only run said "not installed on
    this machine" (the laptop) and not ready."""
    results, _ = run_access(LOCAL_HOST_PROFILE, [TeamViewerHostCheck], vantage=vantage,
                            services={"teamviewer_host": RefusingSource()})
    result = results["teamviewer.host"]
    assert result.status is Status.ERROR and result.details["reason"] == "no_server"
    assert "name the server where TeamViewer Host runs" in result.summary.en
    assert "ange servern där TeamViewer Host körs" in result.summary.sv
    assert result.remediation == TeamViewerHostCheck.remediation["no_server"]


class FakeLocal:
    """A LocalSystem stand-in for the Linux collector."""

    system = "linux"

    def __init__(self, installed: bool = True, unit: str = "running") -> None:
        self.installed = installed
        self.unit = unit
        self.argv: list[list[str]] = []

    def which(self, program):
        return "/usr/bin/teamviewer" if self.installed else None

    def existing_paths(self, candidates):
        return ["/opt/teamviewer"] if self.installed else []

    def services(self, timeout):
        return [ServiceInfo("teamviewerd", "", self.unit)] if self.installed else []

    def processes(self):
        return ["teamviewerd", "bash"] if self.unit == "running" else ["bash"]

    def run_command(self, argv, timeout):
        self.argv.append(list(argv))
        assert timeout <= 5.0
        return CommandResult(" ".join(argv), 0, INFO_OUTPUT, "", 0.1)


def test_linux_collector_runs_argv_with_timeout_and_parses():
    local = FakeLocal()
    facts = LocalTeamViewerSource(local).teamviewer_facts(3.0)
    assert local.argv == [["/usr/bin/teamviewer", "--info"]]
    assert facts.installed and facts.running and facts.client_id == "987654321"
    assert facts.commands[0]["command"] == "teamviewer --info"
    absent = LocalTeamViewerSource(FakeLocal(installed=False)).teamviewer_facts(3.0)
    assert not absent.installed


class FakeTransport:
    method = "winrm"

    def __init__(self, stdout: str) -> None:
        self.stdout = stdout
        self.scripts: list[str] = []

    def run_powershell(self, script, timeout, params=None):
        self.scripts.append(script)
        return RemoteResult(self.stdout, "", 0)

    def run(self, argv, timeout):
        raise AssertionError("no argv commands")

    def close(self):
        pass


def test_remote_windows_collector_over_a_transport():
    stdout = ('{"registry":[{"path":"HKLM:\\\\SOFTWARE\\\\TeamViewer","ClientID":1234567890,'
              '"Version":"15.51.5"}],"services":[{"name":"TeamViewer","display_name":'
              '"TeamViewer","status":"Running"}],"processes":["TeamViewer_Service.exe"],'
              '"computer":"TV01"}')
    transport = FakeTransport(stdout)
    facts = remote_windows_facts(transport, 5.0, "tv01")
    assert transport.scripts == [WINDOWS_TEAMVIEWER_PS]
    assert facts.client_id == "1234567890" and facts.running and facts.host == "tv01"


class FakeSessions:
    def __init__(self, transport):
        self.transport = transport

    def get(self, server, method, timeout):
        assert method == "winrm"
        return self.transport


REMOTE_PROFILE = """
[access]
methods = ["teamviewer"]
[access.teamviewer]
id = "1 234 567 890"
server = "tv01"
[account]
username = 'EXEMPEL\\support'
password = { env = "ACCESSREADY_TEST_TV_PASSWORD" }
[[servers]]
name = "tv01"
address = "127.0.0.1"
roles = ["other"]
remote = ["winrm"]
"""


class RefusedSessions:
    """A sessions service whose WinRM port refuses the connection."""

    def get(self, server, method, timeout):
        raise TransportError("refused", "connection refused", {"port": 5985})


def test_named_server_whose_winrm_refuses_errors_with_the_failure_table(monkeypatch):
    monkeypatch.setenv("ACCESSREADY_TEST_TV_PASSWORD", "x")
    results, _ = run_access(REMOTE_PROFILE, [TeamViewerHostCheck],
                            services={"sessions": RefusedSessions()})
    result = results["teamviewer.host"]
    assert result.status is Status.ERROR and result.target == "tv01"
    assert result.summary.en.startswith("Could not examine tv01 over WinRM:")
    assert result.details["failure"] == "refused"
    assert result.remediation == TeamViewerHostCheck.remediation["refused"]


def test_named_server_without_winrm_is_skipped_like_every_server_script() -> None:
    """The one decision for "no command method" (issue 12): skip, not error (which made
    the verdict unknown). The profile loader refuses such a profile, so the check is
    driven directly here with the server's remote list taken away."""
    import dataclasses
    import time

    from accessready.agent.core.profile import parse_profile
    from accessready.agent.plugin.checkapi import CheckContext
    from tests.unit.access_helpers import CUSTOMER

    profile = parse_profile(CUSTOMER + REMOTE_PROFILE)
    [server] = profile.servers
    check = TeamViewerHostCheck()
    [target] = check.targets(profile)
    target = dataclasses.replace(target, data=(target.data[0],
                                               dataclasses.replace(server, remote=("rdp",))))
    ctx = CheckContext(profile=profile, deadline=time.monotonic() + 5, password="x")
    result = check.run(ctx, target)
    assert result.status is Status.SKIP and result.details["reason"] == "no_command_method"
    assert "(winrm)" in result.summary.en and "(winrm)" in result.summary.sv


@pytest.mark.parametrize("vantage", ["engineer", "audit"])
def test_named_server_over_a_fake_transport(monkeypatch, vantage):
    """The named server is examined over WinRM from the engineer's side and the audit host
    alike; this machine is never asked."""
    monkeypatch.setenv("ACCESSREADY_TEST_TV_PASSWORD", "x")
    stdout = ('{"registry":{"path":"HKLM:\\\\SOFTWARE\\\\TeamViewer","ClientID":1234567890},'
              '"services":{"name":"TeamViewer","status":"Running"},"processes":[]}')
    results, _ = run_access(REMOTE_PROFILE, [TeamViewerHostCheck], vantage=vantage,
                            services={"sessions": FakeSessions(FakeTransport(stdout)),
                                      "teamviewer_host": RefusingSource()})
    result = results["teamviewer.host"]
    assert result.status is Status.PASS, result.summary.en
    assert "on tv01" in result.summary.en


# --- teamviewer.network ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def routers():
    with RouterSimulator(count=2) as sim:
        yield sim


@pytest.fixture(scope="module")
def dns():
    with DnsSimulator({("router1.tv.test.", "A"): ["127.0.0.1"],
                       ("router2.tv.test.", "A"): ["127.0.0.2"],
                       ("master1.tv.test.", "AAAA"): ["::1"]}) as server:
        yield server


@pytest.fixture
def network(monkeypatch, tmp_path):
    """Run teamviewer.network with the operating system's resolver asking ``dns_address``
    (the profile's external resolver is ``profile_resolver``, by default the same)."""
    def run(dns_address: str, routers: list[str], ports: list[int], timeout: float = 3.0,
            profile_resolver: str | None = None):
        empty_hosts(tmp_path, monkeypatch)
        os_resolver_at(dns_address, monkeypatch)
        toml = f"""
[network]
external_resolvers = ["{profile_resolver or dns_address}"]
[access]
methods = ["teamviewer"]
[access.teamviewer]
routers = [{", ".join(f'"{r}"' for r in routers)}]
ports = [{", ".join(str(p) for p in ports)}]
"""
        results, took = run_access(toml, [TeamViewerNetworkCheck], timeout=timeout)
        ended_by_their_deadline(results, took, timeout)
        return results["teamviewer.network"]
    return run


def test_preferred_port_passes_with_latency(dns, routers, network):
    result = network(dns.address, ["router1.tv.test", "nosuch.tv.test"],
                     [routers.ports[0], routers.ports[1]])
    assert result.status is Status.PASS, result.summary.en
    assert result.details["working_port"] == routers.ports[0]
    assert result.details["latency_ms"] >= 0
    assert result.details["unresolved"] == ["nosuch.tv.test"]
    assert "router1.tv.test (127.0.0.1)" in result.summary.en
    assert result.details["dns"][0]["resolver"] == "system resolver"


def test_routers_resolve_as_this_machine_does_not_via_the_profile(dns, routers, network):
    """Pins issue 15: the TeamViewer client resolves through the OS (hosts file, NRPT
    split DNS on Windows); a profile resolver that is silent is not asked."""
    from tests.unit.hostile import Udp

    with Udp("silent") as silent:
        result = network(dns.address, ["router1.tv.test"], [routers.ports[0]],
                         profile_resolver=f"127.0.0.1:{silent.port}")
        assert silent.received == 0
    assert result.status is Status.PASS, result.summary.en
    assert result.details["dns"][0] == {"outcome": "ok", "name": "router1.tv.test",
                                        "addresses": ["127.0.0.1"],
                                        "resolver": "system resolver"}


def test_only_fallback_port_warns(dns, routers, network):
    result = network(dns.address, ["router1.tv.test"], [closed_port(), routers.ports[1]])
    assert result.status is Status.WARN
    assert result.details["working_port"] == routers.ports[1]
    assert result.remediation == TeamViewerNetworkCheck.remediation["fallback"]
    assert [a["outcome"] for a in result.details["attempts"]] == ["refused", "connected"]


def test_nothing_connects_fails(dns, network):
    result = network(dns.address, ["router1.tv.test", "router2.tv.test"],
                     [closed_port(), closed_port()])
    assert result.status is Status.FAIL
    assert len(result.details["attempts"]) == 4


def test_no_name_resolves_fails(dns, network):
    result = network(dns.address, ["nosuch.tv.test", "other.tv.test"], [5938])
    assert result.status is Status.FAIL
    assert result.remediation == TeamViewerNetworkCheck.remediation["dns"]
    assert result.details["attempts"] == []


def test_silent_dns_is_an_error_within_the_deadline(network):
    from tests.unit.hostile import Udp

    with Udp("silent") as silent:
        result = network(f"127.0.0.1:{silent.port}", ["router1.tv.test"], [5938], timeout=2)
    assert result.status is Status.ERROR


def test_ipv6_router_from_aaaa_and_pinned_port(dns, routers, network):
    result = network(dns.address, [f"127.0.0.1:{routers.ports[1]}"], [closed_port()])
    assert result.status is Status.PASS
    assert result.details["working_port"] == routers.ports[1]
    assert split_router("[::1]:5938") == ("::1", 5938)
    assert split_router("router1.teamviewer.com") == ("router1.teamviewer.com", None)


def test_default_routers_are_teamviewers_documented_names():
    from accessready.agent.core.profile_types import TeamViewerCfg

    cfg = TeamViewerCfg()
    assert cfg.ports == (5938, 443, 80)
    assert all(r.endswith(".teamviewer.com") for r in cfg.routers)


def test_metadata_is_bilingual():
    for cls in CHECKS:
        assert cls.method == "teamviewer"
        for key, text in cls.remediation.items():
            assert text.en and text.sv and text.en != text.sv, (cls.id, key)


def test_a_failure_of_this_machine_is_undecided_not_blocked(dns, network):
    """The failure table decides: an attempt that failed on this machine (kind ``error``:
    here an IPv6 link-local address without a zone, which the OS cannot send to) says
    nothing about the routers, so the result is ERROR, not a FAIL that blames them."""
    result = network(dns.address, ["fe80::1"], [closed_port()])
    assert [a["outcome"] for a in result.details["attempts"]] == ["error"]
    assert result.status is Status.ERROR, result.summary.en
    assert "could not test every one (error)" in result.summary.en
