"""Split tunnelling and the Windows VPN connection: pure decisions, then the checks.

The checks run against a fake ``local`` service built from recorded outputs (Linux: the
lab client's real tun device; Windows: Get-NetAdapter/Get-NetRoute/Get-VpnConnection
fixtures), so the same parsing and decision code runs as in the field.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import sys
import time

import pytest

from accessready.agent.core.model import Requirement, Result, Status
from accessready.agent.core.profile import parse_profile
from accessready.agent.core.verdict import decide as verdict
from accessready.agent.demo.simulators.workstation import SimulatedVpnWorkstation
from accessready.agent.io import localsys as ls
from accessready.agent.io.localsys import Adapter, Egress, Route
from accessready.agent.plugin.checkapi import CheckContext, Target
from accessready.checks.anyconnect.split_tunnel import AnyConnectSplitTunnel
from accessready.checks.checkpoint.split_tunnel import CheckPointSplitTunnel
from accessready.checks.common import split_tunnel as st
from accessready.checks.common import tunnel as tn
from accessready.checks.winvpn import connection as wc
from accessready.checks.winvpn.connection import WindowsVpnConnection
from accessready.checks.winvpn.split_tunnel import WindowsVpnSplitTunnel
from tests.unit.fake_local import FakeLocal, fixture, linux_local, windows_local

PROFILE = """
[customer]
name = "Exempel kommun"
[network]
internal_subnets = ["192.0.2.0/24"]
internet_probe = "198.51.100.53"
[access]
methods = ["anyconnect", "checkpoint", "windows_vpn"]
[access.anyconnect]
gateway = "vpn.exempel.se"
[access.checkpoint]
gateway = "cp.exempel.se"
[access.windows_vpn]
server = "vpn2.exempel.se"
tunnel = "ikev2"
connection = "Exempel VPN"
"""


def profile(text: str = PROFILE):
    return parse_profile(text)


def run(check_cls, local, prof=None, services=None) -> Result:
    check = check_cls()
    prof = prof or profile()
    ctx = CheckContext(prof, time.monotonic() + 10, {"local": local, **(services or {})})
    target = check.targets(prof)[0]
    result = check.run(ctx, target)
    assert isinstance(result, Result)
    return result


# --- classification ----------------------------------------------------------------------


@pytest.mark.parametrize(("adapter", "vendor"), [
    (Adapter("Ethernet 2", "Cisco AnyConnect Secure Mobility Client Virtual Miniport Adapter "
             "for Windows x64", kind="ethernet"), "anyconnect"),
    (Adapter("Ethernet 4", "Cisco Secure Client Virtual Miniport Adapter for Windows x64"),
     "anyconnect"),
    (Adapter("cscotun0", kind="tun"), "anyconnect"),
    (Adapter("Ethernet 3", "Check Point Virtual Network Adapter For Endpoint VPN Client"),
     "checkpoint"),
    (Adapter("tunsnx", kind="tun"), "checkpoint"),
    (Adapter("WAN Miniport (IKEv2)", "WAN Miniport (IKEv2)", kind="ras"), "windows_vpn"),
    (Adapter("Exempel VPN", "", kind="ras"), "windows_vpn"),
    (Adapter("vpn-split", "tun", kind="tun"), tn.GENERIC),
    (Adapter("utun4", kind="tun"), tn.GENERIC),
    (Adapter("ppp0", kind="ppp"), tn.GENERIC),
    (Adapter("tun0"), tn.GENERIC),
    (Adapter("Ethernet 5", "PANGP Virtual Ethernet Adapter Secure"), tn.OTHER),
    (Adapter("Local Area Connection", "TAP-Windows Adapter V9"), tn.OTHER),
])
def test_vpn_adapters_are_recognised(adapter: Adapter, vendor: str) -> None:
    match = tn.classify_adapter(adapter)
    assert match is not None and match.vendor == vendor and match.reason


@pytest.mark.parametrize("adapter", [
    Adapter("Wi-Fi", "Intel(R) Wi-Fi 6 AX201 160MHz", kind="wireless"),
    Adapter("eth0", "veth", kind="virtual"),
    Adapter("en0", kind="ethernet"),
    Adapter("lo", kind="loopback"),
    Adapter("Loopback Pseudo-Interface 1", kind="loopback"),
])
def test_lan_adapters_are_not_vpns(adapter: Adapter) -> None:
    assert tn.classify_adapter(adapter) is None


def test_windows_connection_name_makes_an_adapter_a_windows_vpn() -> None:
    match = tn.classify_adapter(Adapter("Kund VPN", kind="unknown"), ["kund vpn"])
    assert match is not None and match.vendor == "windows_vpn"
    assert tn.serves_method(tn.VpnMatch(tn.GENERIC, "x"), "checkpoint")
    assert not tn.serves_method(tn.VpnMatch("anyconnect", "x"), "checkpoint")


def test_sample_address_avoids_own_addresses() -> None:
    net = ipaddress.ip_network("192.0.2.0/24")
    assert str(tn.sample_address(net)) == "192.0.2.1"
    assert str(tn.sample_address(net, ["192.0.2.1", "bogus"])) == "192.0.2.2"
    assert str(tn.sample_address(ipaddress.ip_network("192.0.2.7/32"))) == "192.0.2.7"
    assert str(tn.sample_address(ipaddress.ip_network("2001:db8::/64"))) == "2001:db8::1"


def test_lookup_route_longest_prefix_then_metric() -> None:
    routes = [Route("0.0.0.0/0", "wlan", "192.168.1.1", 35),
              Route("0.0.0.0/0", "vpn", None, 1),
              Route("192.0.2.0/24", "vpn"), Route("192.0.2.0/25", "lan")]
    assert tn.lookup_route(routes, "192.0.2.200").interface == "vpn"
    assert tn.lookup_route(routes, "192.0.2.5").interface == "lan"
    assert tn.lookup_route(routes, "203.0.113.1").interface == "vpn"  # metric 1 wins
    assert tn.lookup_route(routes, "2001:db8::1") is None
    assert [r.destination for r in tn.covering_routes(routes, "192.0.2.5")][:2] == [
        "192.0.2.0/25", "192.0.2.0/24"]
    assert {r.destination for r in tn.default_routes(
        [Route("0.0.0.0/1", "utun4"), Route("128.0.0.0/1", "utun4"), Route("10.0.0.0/8", "x")]
    )} == {"0.0.0.0/1", "128.0.0.0/1"}


# --- decisions on recorded Linux facts -------------------------------------------------------


@pytest.mark.parametrize(("state", "expected"), [
    ("split", tn.TunnelState.SPLIT), ("full", tn.TunnelState.FULL),
    ("disconnected", tn.TunnelState.NOT_CONNECTED),
])
def test_decision_on_recorded_lab_client(state: str, expected: tn.TunnelState) -> None:
    local = linux_local(state)
    adapters = local.adapters(1)
    routes = local.routes(1).routes
    probes = [tn.resolve_probe(role, dest, local.egress(dest), adapters, routes,
                               local.route_to(dest, 1), subnet)
              for role, dest, subnet in (("internal", "192.0.2.1", "192.0.2.0/24"),
                                         ("internet", "198.51.100.53", None))]
    decision = tn.decide("anyconnect", probes, adapters)
    assert decision.state is expected
    if expected is not tn.TunnelState.NOT_CONNECTED:
        assert decision.tunnel_interfaces == (f"vpn-{state}",)


def _probe(role: str, dest: str, interface: str | None, adapters: list[Adapter],
           subnet: str | None = None) -> tn.Probe:
    egress = Egress(dest, "x", interface, (interface,) if interface else (),
                    "" if interface else "no route")
    return tn.resolve_probe(role, dest, egress, adapters, [], None, subnet)


WIFI = Adapter("Wi-Fi", "Intel Wi-Fi", ("192.168.1.34",), True, "wireless")
AC = Adapter("Ethernet 2", "Cisco AnyConnect Secure Mobility Client Virtual Miniport Adapter",
             ("198.51.100.130",), True, "ethernet")
GP = Adapter("Ethernet 5", "PANGP Virtual Ethernet Adapter", ("10.1.1.1",), True, "ethernet")
TS = Adapter("tailscale0", "tun", ("100.64.0.1",), True, "tun")


def test_partial_when_the_method_tunnel_is_up_but_a_subnet_bypasses_it() -> None:
    adapters = [WIFI, AC]
    probes = [_probe("internal", "192.0.2.1", "Ethernet 2", adapters, "192.0.2.0/24"),
              _probe("internal", "10.20.0.1", "Wi-Fi", adapters, "10.20.0.0/16"),
              _probe("internet", "198.51.100.53", "Wi-Fi", adapters)]
    decision = tn.decide("anyconnect", probes, adapters)
    assert decision.state is tn.TunnelState.PARTIAL and decision.bypassing == ("10.20.0.0/16",)
    none_routed = tn.decide("anyconnect", [probes[1], probes[2]], adapters)
    assert none_routed.state is tn.TunnelState.PARTIAL and none_routed.notes


def test_other_vpn_and_unrelated_tunnels() -> None:
    adapters = [WIFI, AC, GP, TS]
    through_gp = [_probe("internal", "192.0.2.1", "Ethernet 5", adapters, "192.0.2.0/24"),
                  _probe("internet", "198.51.100.53", "Wi-Fi", adapters)]
    decision = tn.decide("anyconnect", through_gp, adapters)
    assert decision.state is tn.TunnelState.OTHER_VPN and decision.other_vpn == "Ethernet 5"
    # a tailscale-like tun device is up but carries nothing of the customer's
    idle = [_probe("internal", "192.0.2.1", "Wi-Fi", [WIFI, TS], "192.0.2.0/24"),
            _probe("internet", "198.51.100.53", "Wi-Fi", [WIFI, TS])]
    decision = tn.decide("checkpoint", idle, [WIFI, TS])
    assert decision.state is tn.TunnelState.NOT_CONNECTED
    assert "tailscale0" in decision.notes[0]


def test_internet_through_a_different_vpn_is_still_split_with_a_note() -> None:
    adapters = [WIFI, AC, GP]
    probes = [_probe("internal", "192.0.2.1", "Ethernet 2", adapters, "192.0.2.0/24"),
              _probe("internet", "198.51.100.53", "Ethernet 5", adapters)]
    decision = tn.decide("anyconnect", probes, adapters)
    assert decision.state is tn.TunnelState.SPLIT and "another VPN" in decision.notes[0]


def test_no_internal_probe_is_undecided() -> None:
    decision = tn.decide("anyconnect", [_probe("internet", "198.51.100.53", "Wi-Fi", [WIFI])],
                         [WIFI])
    assert decision.state is tn.TunnelState.UNDECIDED


# --- the checks ------------------------------------------------------------------------------


def test_split_passes_with_evidence_on_recorded_linux_split() -> None:
    result = run(AnyConnectSplitTunnel, linux_local("split"))
    assert result.status is Status.PASS, result.summary.en
    assert "vpn-split" in result.summary.en and "198.51.100.53" in result.summary.en
    assert "Delad tunnel" in result.summary.sv
    details = result.details
    assert details["state"] == "split" and details["method"] == "anyconnect"
    internal, internet = details["probes"]
    assert internal["interface"] == "vpn-split" and internal["through_vpn"]
    assert internal["routes"][0]["destination"] == "192.0.2.0/24"
    assert internet["interface"] == "eth0" and not internet["through_vpn"]
    assert details["vpn_adapters"][0]["name"] == "vpn-split"
    assert "no packet" in details["how"]
    assert result.remediation is None and "simulated" not in details


def test_full_tunnel_fails_with_admin_remediation_in_both_languages() -> None:
    result = run(AnyConnectSplitTunnel, linux_local("full"))
    assert result.status is Status.FAIL and result.details["state"] == "full"
    assert "Full tunnel" in result.summary.en
    assert result.remediation is not None
    assert "split-tunnel-policy" in result.remediation.en
    assert "delad tunnel" in result.remediation.sv
    assert any(r["destination"] == "0.0.0.0/0" and r["interface"] == "vpn-full"
               for r in result.details["default_routes"])


def test_not_connected_is_an_error_that_says_connect_first() -> None:
    result = run(AnyConnectSplitTunnel, linux_local("disconnected"))
    assert result.status is Status.ERROR and result.details["state"] == "not_connected"
    assert "Connect" in result.summary.en and "Anslut" in result.summary.sv
    assert result.remediation is not None and "while connected" in result.remediation.en


@pytest.mark.parametrize(("state", "status"), [("split", Status.PASS), ("full", Status.FAIL)])
def test_windows_fixtures_through_checkpoint_and_anyconnect(state: str, status: Status) -> None:
    local = windows_local(state, connections=[])
    result = run(AnyConnectSplitTunnel, local)
    assert result.status is status
    assert result.details["probes"][0]["interface"] == "Ethernet 2"
    # one PowerShell start less: the socket named a single adapter, Find-NetRoute is skipped
    assert "os_route_lookup" not in result.details["probes"][0]
    assert result.details["probes"][0]["found_by"] == "udp-connect"
    # the AnyConnect adapter is not Check Point's tunnel
    other = run(CheckPointSplitTunnel, local)
    assert other.status is Status.ERROR and other.details["state"] == "other_vpn"


def test_windows_builtin_vpn_split_via_ras_interface() -> None:
    local = windows_local("split", connections=ls.parse_vpn_connections_json(
        fixture("windows", "get-vpnconnection.json")))
    local.route_list.append(Route("192.0.2.0/24", "Exempel VPN", None, 0))
    result = run(WindowsVpnSplitTunnel, local)
    assert result.status is Status.PASS, result.summary.en
    assert result.details["probes"][0]["interface"] == "Exempel VPN"
    assert "Exempel VPN" in result.details["windows_vpn_connections"]


def test_profile_problems_are_errors() -> None:
    no_subnets = profile(PROFILE.replace('internal_subnets = ["192.0.2.0/24"]', ""))
    result = run(AnyConnectSplitTunnel, linux_local("split"), no_subnets)
    assert result.status is Status.ERROR and result.details["reason"] == "no_internal_subnets"


def test_internet_probe_by_name_resolves_and_default_probe_is_used() -> None:
    class Dns:
        def __init__(self, outcome: str) -> None:
            self.outcome = outcome

        def lookup(self, name, rdtype, *, view="external", timeout=3.0):  # type: ignore[no-untyped-def]
            assert view == "external" and timeout > 0
            from accessready.agent.io.dns import Answer
            records = ("198.51.100.53",) if self.outcome == "ok" else ()
            return Answer(name, rdtype, self.outcome, records)

    named = profile(PROFILE.replace('"198.51.100.53"', '"probe.exempel.se"'))
    ok = run(AnyConnectSplitTunnel, linux_local("split"), named, {"dns": Dns("ok")})
    assert ok.status is Status.PASS and "resolved" in ok.details["internet_probe_from"]
    bad = run(AnyConnectSplitTunnel, linux_local("split"), named, {"dns": Dns("nxdomain")})
    assert bad.status is Status.ERROR and bad.details["reason"] == "internet_probe_unresolved"
    default = profile(PROFILE.replace('internet_probe = "198.51.100.53"', ""))
    got = run(AnyConnectSplitTunnel, linux_local("split"), default)
    assert got.status is Status.PASS
    assert got.details["probes"][1]["destination"] == st.DEFAULT_INTERNET_PROBE


def test_simulated_workstation_is_labelled_in_the_evidence() -> None:
    result = run(AnyConnectSplitTunnel, SimulatedVpnWorkstation(FakeLocal()))
    assert result.status is Status.PASS
    assert result.details["simulated"] is True
    assert "simulated" in result.summary.en and "simulerad" in result.summary.sv
    assert any("simulated" in n for n in result.details["notes"])
    assert "(simulated)" in result.details["vpn_adapters"][0]["description"]


# --- winvpn.connection ------------------------------------------------------------------------


def connections() -> list[ls.VpnConnection]:
    return ls.parse_vpn_connections_json(fixture("windows", "get-vpnconnection.json"))


def test_winvpn_connection_skips_off_windows_and_does_not_block_access() -> None:
    result = run(WindowsVpnConnection, linux_local("split"))
    assert result.status is Status.SKIP and result.details["reason"] == "not_windows"
    assert "Linux" in result.summary.en
    split = run(WindowsVpnSplitTunnel, dataclasses.replace(
        linux_local("split"), system="linux"))
    # the verdict rule: every non-skipped check of windows_vpn passed -> access is usable
    prof = profile(PROFILE.replace('methods = ["anyconnect", "checkpoint", "windows_vpn"]',
                                   'methods = ["windows_vpn"]'))
    _, outcomes = verdict([result, split], prof)
    access = next(o for o in outcomes if o.requirement is Requirement.ACCESS)
    assert split.status is Status.PASS and not access.blocking


def test_winvpn_connection_passes_for_the_named_ikev2_split_connection() -> None:
    result = run(WindowsVpnConnection, FakeLocal("windows", connections=connections()))
    assert result.status is Status.PASS, result.summary.en
    assert result.details["chosen"]["name"] == "Exempel VPN"
    assert "fix_command" not in result.details
    assert "routes_note" not in result.details  # its routes cover 192.0.2.0/24


@pytest.mark.parametrize(("change", "status", "words"), [
    ({"tunnel_type": "L2tp"}, Status.FAIL, "tunnel type is L2tp"),
    ({"tunnel_type": "Automatic"}, Status.WARN, "Automatic"),
    ({"split_tunneling": False}, Status.FAIL, "split tunnelling is off"),
    ({"split_tunneling": None}, Status.WARN, "could not be read"),
    ({"server_address": "vpn.other.se"}, Status.FAIL, "server is vpn.other.se"),
])
def test_winvpn_connection_settings(change: dict, status: Status, words: str) -> None:
    conns = connections()
    conns[0] = dataclasses.replace(conns[0], **change)
    result = run(WindowsVpnConnection, FakeLocal("windows", connections=conns))
    assert result.status is status and words in result.summary.en
    assert result.details["fix_command"].startswith("Set-VpnConnection -Name 'Exempel VPN'")
    assert "-SplitTunneling $true" in result.details["fix_command"]
    assert result.remediation is not None and result.remediation.sv


def test_winvpn_connection_missing_and_hostile_name_in_fix_command() -> None:
    hostile = PROFILE.replace('connection = "Exempel VPN"', """connection = "Kund's VPN'; x" """)
    result = run(WindowsVpnConnection, FakeLocal("windows", connections=connections()),
                 profile(hostile))
    assert result.status is Status.FAIL and "Hemma" in result.summary.en
    assert result.details["fix_command"].startswith(
        "Add-VpnConnection -Name 'Kund''s VPN''; x' -ServerAddress 'vpn2.exempel.se'")


def test_winvpn_connection_unnamed_matches_by_server_and_errors_cleanly() -> None:
    unnamed = profile(PROFILE.replace('connection = "Exempel VPN"', ""))
    result = run(WindowsVpnConnection, FakeLocal("windows", connections=connections()),
                 unnamed)
    assert result.status is Status.PASS and result.details["chosen"]["name"] == "Exempel VPN"
    broken = FakeLocal("windows", connections=ls.CommandFailed("Access is denied"))
    result = run(WindowsVpnConnection, broken)
    assert result.status is Status.ERROR and "Access is denied" in result.summary.en


def test_evaluate_connection_pure() -> None:
    conn = connections()[0]
    assert wc.evaluate_connection(conn, "VPN2.exempel.se.", "ikev2")[0] is Status.PASS
    status, en, sv = wc.evaluate_connection(conn, "vpn2.exempel.se", "pptp")
    assert status is Status.FAIL and en and sv


# --- metadata ----------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [AnyConnectSplitTunnel, CheckPointSplitTunnel,
                                 WindowsVpnConnection, WindowsVpnSplitTunnel])
def test_metadata_in_both_languages(cls) -> None:  # type: ignore[no-untyped-def]
    assert cls.requirement is Requirement.ACCESS and cls.method
    for text in (cls.title, cls.description):
        assert text.en and text.sv and text.en != text.sv
    assert cls.remediation
    for key, text in cls.remediation.items():
        assert text.en and text.sv, key
    # each check's module says what it proves and what it cannot, as does the shared base
    for module in (sys.modules[cls.__module__], st):
        assert module.__doc__ and "cannot" in module.__doc__, module.__name__


def test_registered_as_plugins() -> None:
    from accessready.agent.plugin.registry import load_registry

    ids = {c.id for c in load_registry().checks}
    assert {"anyconnect.split_tunnel", "checkpoint.split_tunnel", "winvpn.split_tunnel",
            "winvpn.connection"} <= ids


def test_demo_shows_a_split_tunnel_pass_with_evidence() -> None:
    from accessready.agent.demo.environment import run_demo

    result = next(r for r in run_demo().results if r.check_id == "anyconnect.split_tunnel")
    assert result.status is Status.PASS
    assert result.details["simulated"] is True and result.details["state"] == "split"


def test_target_name_is_the_customer() -> None:
    assert AnyConnectSplitTunnel().targets(profile()) == [Target("Exempel kommun")]
