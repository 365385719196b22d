"""Local-system facts: the pure parsers on recorded outputs and the collectors.

Windows outputs are parsed from fixtures, and the real ``WindowsLocalSystem`` is driven
with a scripted runner that hands it those same fixtures, so the field's code path runs.
The only live system calls here go to loopback (UDP ``connect()`` sends nothing anyway).
"""

from __future__ import annotations

import datetime as dt
import socket
import sys

import pytest

from accessready.agent.core import powershell
from accessready.agent.io import localsys as ls
from tests.unit.fake_local import ScriptedRunner, failed, fixture, json_text

# --- JSON shapes ---------------------------------------------------------------------


def test_json_list_accepts_ps51_bare_object_nothing_and_arrays() -> None:
    assert powershell.as_list(ls.load_json('{"a": 1}')) == [{"a": 1}]
    assert powershell.as_list(ls.load_json("")) == []
    assert powershell.as_list(ls.load_json("\ufeff[1,2]\r\n")) == [1, 2]
    assert powershell.as_list(None) == []


# --- Linux (recorded in a namespace with a real tun device) ------------------------------


def test_ip_addr_recorded_split() -> None:
    adapters = {a.name: a for a in ls.parse_ip_addr_json(fixture("linux", "ip-addr-split.json"))}
    assert adapters["lo"].kind == "loopback"
    vpn = adapters["vpn-split"]
    assert vpn.kind == "tun" and vpn.is_up and vpn.addresses[0] == "198.51.100.130"
    assert adapters["eth0"].kind == "virtual"  # the lab's veth
    assert "203.0.113.100" in adapters["eth0"].addresses


def test_ip_route_recorded_split_and_full() -> None:
    split = ls.parse_ip_route_json(fixture("linux", "ip-route-split.json"))
    assert ls.Route("192.0.2.0/24", "vpn-split") in split
    assert any(r.destination == "0.0.0.0/0" and r.interface == "eth0" for r in split)
    full = ls.parse_ip_route_json(fixture("linux", "ip-route-full.json"))
    default = next(r for r in full if r.destination == "0.0.0.0/0")
    assert default.interface == "vpn-full" and default.gateway is None
    gw = next(r for r in full if r.destination == "198.51.100.11/32")
    assert gw.gateway == "203.0.113.1" and gw.interface == "eth0"
    six = ls.parse_ip_route_json(fixture("linux", "ip-route6.json"), family=6)
    assert all(r.network.version == 6 for r in six)


def test_ip_route_get_recorded() -> None:
    got = ls.parse_ip_route_get_json(fixture("linux", "ip-route-get-split-internal.json"),
                                     "192.0.2.1", "ip -j route get 192.0.2.1")
    assert (got.interface, got.source, got.gateway) == ("vpn-split", "198.51.100.130", None)
    full = ls.parse_ip_route_get_json(fixture("linux", "ip-route-get-full-internet.json"),
                                      "198.51.100.53", "c")
    assert full.interface == "vpn-full"
    assert ls.parse_ip_route_get_json("", "192.0.2.1", "c").error


def test_systemctl_dpkg_os_release() -> None:
    units = {s.name: s for s in ls.parse_systemctl_units(fixture("linux", "systemctl-units.txt"))}
    assert units["teamviewerd"].running and not units["vpnagentd"].running
    assert units["snx-rs"].state == "failed"
    pkgs = {p.name for p in ls.parse_dpkg_query(fixture("linux", "dpkg-query.txt"))}
    assert pkgs == {"openconnect", "teamviewer", "vpnc-scripts"}  # "rc" = removed
    rel = ls.parse_os_release('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nVERSION_ID="12"\n')
    assert rel["VERSION_ID"] == "12"


def test_linux_collector_through_scripted_runner() -> None:
    runner = ScriptedRunner([
        ("-d addr show", fixture("linux", "ip-addr-split.json")),
        ("-4 route show", fixture("linux", "ip-route-split.json")),
        ("-6 route show", fixture("linux", "ip-route6.json")),
        ("route get 192.0.2.1", fixture("linux", "ip-route-get-split-internal.json")),
    ])
    local = ls.LinuxLocalSystem(runner)
    assert {a.name for a in local.adapters(2)} >= {"vpn-split", "eth0", "lo"}
    table = local.routes(2)
    assert table.command.startswith("ip -j route") and not table.error
    assert local.route_to("192.0.2.1", 2).interface == "vpn-split"
    local.adapters(2)  # cached: no second call
    assert sum("addr" in " ".join(a) for a in runner.seen) == 1
    for argv in runner.seen:
        assert isinstance(argv, list) and all(isinstance(a, str) for a in argv)


def test_linux_route_to_refuses_non_addresses() -> None:
    local = ls.LinuxLocalSystem(ScriptedRunner([]))
    with pytest.raises(ValueError):
        local.route_to("192.0.2.1; reboot", 1)


# --- macOS -----------------------------------------------------------------------------


def test_macos_ifconfig() -> None:
    adapters = {a.name: a for a in ls.parse_macos_ifconfig(fixture("macos", "ifconfig-split.txt"))}
    assert adapters["utun4"].kind == "tun" and adapters["utun4"].is_up
    assert adapters["utun4"].addresses[0] == "198.51.100.130"
    assert adapters["utun0"].addresses == ("fe80::8d2a:e5f1:7b3c:1d2e",)  # scope stripped
    assert not adapters["anpi0"].is_up  # status: inactive
    assert adapters["lo0"].kind == "loopback" and adapters["en0"].kind == "ethernet"
    assert not adapters["gif0"].is_up


def test_macos_netstat_split_and_full() -> None:
    split = ls.parse_netstat_rn(fixture("macos", "netstat-rn-split.txt"))
    by_dest = {(r.destination, r.interface): r for r in split}
    assert ("10.20.0.0/16", "utun4") in by_dest
    assert ("192.0.2.0/24", "utun4") in by_dest
    assert ("127.0.0.0/8", "lo0") in by_dest
    assert ("198.51.100.11/32", "en0") in by_dest
    assert by_dest[("0.0.0.0/0", "en0")].gateway == "192.168.1.1"
    assert by_dest[("192.168.1.0/24", "en0")].gateway is None  # link#11
    assert not any(r.gateway and ":" in r.gateway and r.gateway.count(":") == 5 for r in split)
    assert ("::/0", "utun0") in by_dest
    full = {(r.destination, r.interface) for r in
            ls.parse_netstat_rn(fixture("macos", "netstat-rn-full.txt"))}
    assert {("0.0.0.0/1", "utun4"), ("128.0.0.0/1", "utun4")} <= full


def test_macos_route_get_sw_vers_launchctl() -> None:
    got = ls.parse_macos_route_get(fixture("macos", "route-get-internal.txt"), "192.0.2.1", "c")
    assert (got.interface, got.prefix) == ("utun4", "192.0.2.0/24")
    net = ls.parse_macos_route_get(fixture("macos", "route-get-internet.txt"), "x", "c")
    assert (net.interface, net.prefix, net.gateway) == ("en0", "0.0.0.0/0", "192.168.1.1")
    assert ls.parse_macos_route_get("route: writing to routing socket: not in table", "x",
                                    "c").error
    assert ls.parse_sw_vers(fixture("macos", "sw_vers.txt"))["BuildVersion"] == "23F79"
    jobs = {j.name: j for j in ls.parse_launchctl_list(fixture("macos", "launchctl-list.txt"))}
    assert jobs["com.cisco.secureclient.vpnagentd"].running
    assert not jobs["com.teamviewer.teamviewer_service"].running


# --- Windows ---------------------------------------------------------------------------


def test_netadapter_array_and_ps51_single_object() -> None:
    many = ls.parse_netadapter_json(fixture("windows", "get-netadapter.json"))
    by = {a.name: a for a in many}
    assert by["Ethernet 2"].description.startswith("Cisco AnyConnect")
    assert by["Ethernet 2"].is_up and by["Ethernet 2"].index == 18
    assert not by["Ethernet"].is_up  # "Disconnected"
    assert by["Wi-Fi"].kind == "wireless"
    single = ls.parse_netadapter_json(fixture("windows", "get-netadapter-single.json"))
    assert [a.name for a in single] == ["Wi-Fi"]


def test_merge_marks_ras_interfaces_of_the_builtin_vpn() -> None:
    merged = {a.name: a for a in ls.merge_windows_adapters(
        ls.parse_netadapter_json(fixture("windows", "get-netadapter.json")),
        ls.parse_netipinterface_json(fixture("windows", "get-netipinterface.json")),
        {"Exempel VPN": ["10.99.0.7"], "Ethernet 2": ["198.51.100.130"]})}
    assert merged["Exempel VPN"].kind == "ras" and merged["Exempel VPN"].is_up
    assert merged["Exempel VPN"].addresses == ("10.99.0.7",)
    assert merged["Loopback Pseudo-Interface 1"].kind == "loopback"
    assert merged["Ethernet 2"].addresses == ("198.51.100.130",)


def test_netroute_split_and_full() -> None:
    split = ls.parse_netroute_json(fixture("windows", "get-netroute-split.json"))
    inside = next(r for r in split if r.destination == "192.0.2.0/24")
    assert inside.interface == "Ethernet 2" and inside.gateway == "198.51.100.1"
    onlink = next(r for r in split if r.destination == "192.168.1.0/24")
    assert onlink.gateway is None
    assert any(r.destination == "::/0" for r in split)
    full = ls.parse_netroute_json(fixture("windows", "get-netroute-full.json"))
    defaults = sorted((r.metric, r.interface) for r in full if r.destination == "0.0.0.0/0")
    assert defaults == [(1, "Ethernet 2"), (9000, "Wi-Fi")]


def test_route_print() -> None:
    routes, interfaces = ls.parse_route_print(fixture("windows", "route-print-split.txt"))
    assert interfaces[18].startswith("Cisco AnyConnect")
    assert interfaces[33] == "Exempel VPN" and interfaces[1] == "Software Loopback Interface 1"
    inside = next(r for r in routes if r.destination == "192.0.2.0/24")
    assert (inside.interface, inside.gateway, inside.metric) == ("198.51.100.130",
                                                                  "198.51.100.1", 2)
    assert next(r for r in routes if r.destination == "192.168.1.0/24").gateway is None
    wrapped = next(r for r in routes if r.destination.startswith("fe80::5d2c"))
    assert wrapped.gateway is None and wrapped.interface.startswith("Intel")
    assert not any(r.destination == "0.0.0.0/0" and r.interface == "198.51.100.130"
                   for r in routes)


ROUTE_PRINT_GERMAN = {  # titles and the two-word on-link value (facts: windows-facts.md)
    "Interface List": "Schnittstellenliste", "IPv4 Route Table": "IPv4-Routentabelle",
    "IPv6 Route Table": "IPv6-Routentabelle", "Active Routes:": "Aktive Routen:",
    "Persistent Routes:": "Ständige Routen:", "On-link": "Auf Verbindung",
    "Network Destination": "Netzwerkziel", "Netmask": "Netzwerkmaske"}


def test_route_print_in_swedish_parses_like_english() -> None:
    """Pins issue 15: the route print fallback must not depend on the display language."""
    english = ls.parse_route_print(fixture("windows", "route-print-split.txt"))
    swedish = ls.parse_route_print(fixture("windows", "route-print-sv-split.txt"))
    assert swedish == english
    assert len(english[0]) == 21


def test_route_print_in_the_oem_code_page_parses_too() -> None:
    """route.exe writes the console's OEM code page (850 on Swedish Windows); the runner
    decodes as UTF-8 with replacement, which mangles only the words nothing reads."""
    mangled = fixture("windows", "route-print-sv-split.txt").encode("cp850").decode(
        "utf-8", "replace")
    assert "\ufffd" in mangled
    assert ls.parse_route_print(mangled) == ls.parse_route_print(
        fixture("windows", "route-print-split.txt"))


def test_route_print_with_a_two_word_on_link_value() -> None:
    text = fixture("windows", "route-print-split.txt")
    for word, german in ROUTE_PRINT_GERMAN.items():
        text = text.replace(word, german)
    assert ls.parse_route_print(text) == ls.parse_route_print(
        fixture("windows", "route-print-split.txt"))


def test_route_print_leaves_persistent_routes_out() -> None:
    routes, _ = ls.parse_route_print(fixture("windows", "route-print-sv-split.txt"))
    assert "10.99.0.0      255.255.0.0" in fixture("windows", "route-print-sv-split.txt")
    assert not any(r.destination == "10.99.0.0/16" for r in routes)


def test_win32_ip4routetable_matches_route_print() -> None:
    cim = ls.parse_netroute_json(fixture("windows", "win32-ip4routetable.json"))
    printed, _ = ls.parse_route_print(fixture("windows", "route-print-split.txt"))
    v4 = [r for r in printed if ":" not in r.destination]
    assert [(r.destination, r.gateway, r.metric) for r in cim] == \
        [(r.destination, r.gateway, r.metric) for r in v4]
    inside = next(r for r in cim if r.destination == "192.0.2.0/24")
    assert inside.interface == "Ethernet 2"
    assert next(r for r in cim if r.destination == "127.0.0.0/8").interface == "1"


def test_windows_routes_script_asks_for_get_netroute_first() -> None:
    script = ls.WINDOWS_ROUTES_PS
    assert script.index("Get-Command -Name 'Get-NetRoute'") < script.index("Get-NetRoute -")
    assert "Win32_IP4RouteTable" in script


def test_windows_routes_from_wmi_where_get_netroute_is_missing() -> None:
    local, _ = _windows([("Get-NetRoute", fixture("windows", "win32-ip4routetable.json"))])
    table = local.routes(5)
    assert table.command == "Win32_IP4RouteTable" and not table.error
    assert any(r.destination == "192.0.2.0/24" and r.interface == "Ethernet 2"
               for r in table.routes)


def test_find_netroute_projection() -> None:
    got = ls.parse_find_netroute_json(fixture("windows", "find-netroute-internal.json"),
                                      "192.0.2.1", "c")
    assert (got.interface, got.source, got.prefix) == ("Ethernet 2", "198.51.100.130",
                                                       "192.0.2.0/24")


def test_vpn_connections_projection_and_single() -> None:
    conns = ls.parse_vpn_connections_json(fixture("windows", "get-vpnconnection.json"))
    first = conns[0]
    assert (first.name, first.tunnel_type, first.split_tunneling, first.all_user) == (
        "Exempel VPN", "Ikev2", True, False)
    assert first.routes == ("192.0.2.0/24", "10.20.0.0/16")
    assert conns[2].all_user and conns[2].split_tunneling is False
    single = ls.parse_vpn_connections_json(fixture("windows", "get-vpnconnection-single.json"))
    assert [c.name for c in single] == ["Kund-VPN Örebro"] and single[0].all_user
    raw = ls.parse_vpn_connections_json(json_text({
        "Name": "Raw", "TunnelType": 3, "SplitTunneling": "True",
        "Routes": [{"DestinationPrefix": "192.0.2.0/24", "CimClass": {}}],
        "CimInstanceProperties": ["noise"]}))
    assert raw[0].tunnel_type == "Ikev2" and raw[0].routes == ("192.0.2.0/24",)
    assert raw[0].split_tunneling is True


@pytest.mark.parametrize(("name", "latest"), [
    ("get-hotfix-ps51.json", dt.date(2024, 7, 9)),  # 1720562400000 ms = 2024-07-09 22:00 UTC
    ("get-hotfix-ps7.json", dt.date(2024, 7, 10)),
    ("win32-quickfixengineering.json", dt.date(2024, 7, 10)),
    ("get-hotfix-ps51-datetime-object.json", dt.date(2024, 7, 9)),
])
def test_hotfix_dates_in_every_shape(name: str, latest: dt.date) -> None:
    hotfixes = ls.parse_hotfix_json(fixture("windows", name))
    hotfix, date = ls.latest_update(hotfixes)
    assert hotfix == "KB5040442" and date == latest


def test_ps_date_odd_values() -> None:
    assert powershell.ps_date(None) is None and powershell.ps_date("") is None
    assert powershell.ps_date("not a date") is None
    assert powershell.ps_date("/Date(1707865200000+0100)/") == dt.date(2024, 2, 13)
    assert ls.latest_update([("KB1", None)]) == ("", None)


def test_windows_os_info() -> None:
    win11 = ls.parse_windows_os_json(fixture("windows", "os-info-win11.json"))
    assert (win11.name, win11.release, win11.build) == ("Windows 11 Pro", "23H2", "22631.3880")
    assert win11.last_update == dt.date(2024, 7, 10) and win11.last_update_id == "KB5040442"
    assert win11.updates_seen == 3 and win11.workstation
    win10 = ls.parse_windows_os_json(fixture("windows", "os-info-win10.json"))
    assert win10.last_update == dt.date(2024, 4, 9)  # bare HotFixes object
    server = ls.parse_windows_os_json(fixture("windows", "os-info-server2022.json"))
    assert not server.workstation and server.last_update is None


def _windows(answers: list) -> tuple[ls.WindowsLocalSystem, ScriptedRunner]:
    runner = ScriptedRunner(answers)
    return ls.WindowsLocalSystem(runner), runner


def test_windows_collector_vpn_os_and_routes() -> None:
    local, runner = _windows([
        ("Get-VpnConnection", fixture("windows", "get-vpnconnection.json")),
        ("Win32_OperatingSystem", fixture("windows", "os-info-win11.json")),
        ("Get-NetRoute", fixture("windows", "get-netroute-split.json")),
    ])
    assert [c.name for c in local.vpn_connections(5)][:1] == ["Exempel VPN"]
    assert local.os_info(5).name == "Windows 11 Pro"
    table = local.routes(5)
    assert table.command.startswith("Get-NetRoute") and len(table.routes) == 12
    argv = runner.seen[0]
    assert argv[0].lower().endswith("powershell.exe") and "\\System32\\" in argv[0]
    assert "-EncodedCommand" in argv and not any(" " in a for a in argv[1:])
    assert all(s.startswith(powershell.PRELUDE) for s in runner.scripts)


@pytest.mark.parametrize("recording", ["route-print-split.txt", "route-print-sv-split.txt"])
def test_windows_routes_fall_back_to_route_print(recording) -> None:
    local, _ = _windows([("Get-NetRoute", failed()),
                         ("route print", fixture("windows", recording))])
    table = local.routes(5)
    assert table.command == "route print"
    assert any(r.destination == "192.0.2.0/24" for r in table.routes)


def test_windows_route_to_passes_the_address_as_a_literal() -> None:
    local, runner = _windows([("Find-NetRoute", fixture("windows",
                                                        "find-netroute-internal.json"))])
    got = local.route_to("192.0.2.1", 5)
    assert got.interface == "Ethernet 2"
    assert "$Destination = '192.0.2.1'\n" in runner.scripts[0]
    with pytest.raises(ValueError):
        local.route_to("192.0.2.1'; Stop-Computer; '", 5)


def test_windows_failures_are_command_failed() -> None:
    local, _ = _windows([("Get-VpnConnection", failed("Get-VpnConnection : Access denied"))])
    with pytest.raises(ls.CommandFailed, match="Access denied"):
        local.vpn_connections(5)
    local, _ = _windows([("Get-VpnConnection", "WARNING: not json")])
    with pytest.raises(ls.CommandFailed, match="not JSON"):
        local.vpn_connections(5)
    # powershell.exe -EncodedCommand writes its errors as CLIXML: read as over WinRM
    clixml = ('#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/'
              'powershell/2004/04"><S S="Error">Get-VpnConnection : Access is denied._x000D__x000A_'
              '</S></Objs>')
    local, _ = _windows([("Get-VpnConnection", ls.CommandResult("powershell.exe", 1, "",
                                                                 clixml, 0.5))])
    with pytest.raises(ls.CommandFailed) as caught:
        local.vpn_connections(5)
    assert "Get-VpnConnection : Access is denied." in str(caught.value)
    assert "CLIXML" not in str(caught.value) and "<Objs" not in str(caught.value)
    # a script that never finished: the runner's own words, through the same one path
    slow = ls.CommandResult("powershell.exe", None, "", "", 5.0,
                            "powershell.exe did not finish within 5.0 s")
    local, _ = _windows([("Get-VpnConnection", slow)])
    with pytest.raises(ls.CommandFailed, match="did not finish"):
        local.vpn_connections(5)
    local, _ = _windows([])
    assert local.os_info(5).error  # falls back to platform, says why


def test_macos_collector() -> None:
    runner = ScriptedRunner([
        ("/sbin/ifconfig", fixture("macos", "ifconfig-split.txt")),
        ("netstat -rn", fixture("macos", "netstat-rn-split.txt")),
        ("route -n get 192.0.2.1", fixture("macos", "route-get-internal.txt")),
        ("sw_vers", fixture("macos", "sw_vers.txt")),
    ])
    local = ls.MacLocalSystem(runner)
    assert "utun4" in {a.name for a in local.adapters(2)}
    assert local.routes(2).routes
    assert local.route_to("192.0.2.1", 2).interface == "utun4"
    assert local.os_info(2).name == "macOS 14.5"


# --- running programs and the live egress (loopback only) -------------------------------


def test_run_command_is_argv_only_with_timeout() -> None:
    done = ls.run_command([sys.executable, "-c", "import sys; print(sys.argv[1])",
                           "a; echo injected"], 10)
    assert done.ok and done.stdout.strip() == "a; echo injected"
    slow = ls.run_command([sys.executable, "-c", "import time; time.sleep(5)"], 0.3)
    assert not slow.ok and "did not finish" in slow.error and slow.duration_s < 3
    missing = ls.run_command(["/nonexistent/accessready-nothing"], 1)
    assert not missing.ok and "cannot run" in missing.error
    bad = ls.run_command([sys.executable, "-c", "import sys; sys.exit('boom')"], 10)
    assert "exited 1" in bad.problem() and "boom" in bad.problem()


def test_interfaces_with_address() -> None:
    addrs = {"eth0": ["192.0.2.2", "fe80::1"], "tun0": ["198.51.100.130"], "lo": ["127.0.0.1"]}
    assert ls.interfaces_with_address(addrs, "198.51.100.130") == ["tun0"]
    assert ls.interfaces_with_address(addrs, "fe80::1%eth0") == ["eth0"]
    assert ls.interfaces_with_address(addrs, "203.0.113.9") == []
    assert ls.interfaces_with_address(addrs, "garbage") == []


def test_live_egress_to_loopback_names_the_loopback_adapter() -> None:
    local = ls.local_system()
    got = local.egress("127.0.0.1")  # a UDP connect(): no packet leaves
    assert got.source == "127.0.0.1" and got.interface is not None and not got.error
    loopbacks = [a.name for a in local.adapters(5) if "127.0.0.1" in a.addresses]
    assert got.interface in loopbacks


def test_live_egress_v6_loopback_or_clean_error() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    got = ls.local_system().egress("::1")
    assert got.source == "::1" or got.error
