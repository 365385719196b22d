"""Split tunnelling on real tunnels: openconnect ↔ ocserv in the lab's client host.

The real openconnect client connects from the client namespace to the lab's ocserv, once to
the split-tunnel gateway (``route = 192.0.2.0/24``) and once to the full-tunnel gateway
(``route = default``); vpnc-script sets the routes exactly as on an engineer's Linux laptop.
``accessready run`` then runs *inside the client host* (the whole CLI path, the real
``LinuxLocalSystem``) and must say split (pass), full (fail) and, with the tunnel down,
not connected (error). Each verdict is cross-checked against what ``ip route get`` says in
the client namespace.

The internet probe is the lab's "internet", the public site 203.0.113.80 (the client
reaches it through the lab router, with no connected route of its own: tests/lab/README.md).
No packet is sent to either address: UDP ``connect()`` only asks the kernel for a route.
"""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.lab

INTERNET_PROBE = "203.0.113.80"  # lab_public_site
INTERNAL_SAMPLE = "192.0.2.1"  # what sample_address() picks in 192.0.2.0/24
CHECKS = ("anyconnect.split_tunnel", "checkpoint.split_tunnel", "winvpn.split_tunnel",
          "winvpn.connection")

PROFILE = f"""
[customer]
name = "Labbkommun"

[network]
internal_subnets = ["192.0.2.0/24"]
internet_probe = "{INTERNET_PROBE}"

[access]
methods = ["anyconnect", "checkpoint", "windows_vpn"]
[access.anyconnect]
gateway = "198.51.100.10"
group = "Leverantorer"
[access.checkpoint]
gateway = "198.51.100.10"
[access.windows_vpn]
server = "198.51.100.20"
tunnel = "ikev2"
connection = "Labbkommun VPN"
"""


def run_split_checks(accessready_run) -> dict[str, dict[str, Any]]:
    """``accessready run --only <the four checks>`` in the client host; results by id."""
    args = [a for check in CHECKS for a in ("--only", check)]
    out = accessready_run(args, PROFILE)
    assert out["result"] is not None, out["stderr"][-2000:]
    results = {r["check"]: r for r in out["result"]["results"]}
    assert set(CHECKS) <= set(results), sorted(results)
    return results


def probe(result: dict[str, Any], role: str) -> dict[str, Any]:
    return next(p for p in result["details"]["probes"] if p["role"] == role)


def test_split_tunnel_passes(lab, vpn_split, accessready_run) -> None:
    results = run_split_checks(accessready_run)
    split = results["anyconnect.split_tunnel"]
    assert split["status"] == "pass", split["summary"]["en"]
    assert split["details"]["state"] == "split"
    internal, internet = probe(split, "internal"), probe(split, "internet")
    assert internal["destination"] == INTERNAL_SAMPLE
    assert internal["interface"] == vpn_split.interface and internal["through_vpn"]
    assert internal["source"] == vpn_split.address
    assert internet["interface"] == "eth0" and not internet["through_vpn"]
    # the kernel's own answer, in the client namespace, agrees with the evidence
    assert lab.vpn.route_get(INTERNAL_SAMPLE)["dev"] == vpn_split.interface
    assert lab.vpn.route_get(INTERNET_PROBE)["dev"] == "eth0"
    assert internal["os_route_lookup"]["interface"] == vpn_split.interface
    assert [a["name"] for a in split["details"]["vpn_adapters"]] == [vpn_split.interface]
    assert split["details"]["vpn_adapters"][0]["kind"] == "tun"
    # a generic tun device counts for every method: the same routing, the same answer
    assert results["checkpoint.split_tunnel"]["status"] == "pass"
    assert results["winvpn.split_tunnel"]["status"] == "pass"
    # no Windows here: skipped with the reason, so it cannot block the windows_vpn method
    connection = results["winvpn.connection"]
    assert connection["status"] == "skip"
    assert connection["details"]["reason"] == "not_windows"


def test_full_tunnel_fails(lab, vpn_full, accessready_run) -> None:
    results = run_split_checks(accessready_run)
    full = results["anyconnect.split_tunnel"]
    assert full["status"] == "fail", full["summary"]["en"]
    assert full["details"]["state"] == "full"
    assert probe(full, "internet")["interface"] == vpn_full.interface
    assert probe(full, "internal")["interface"] == vpn_full.interface
    assert lab.vpn.route_get(INTERNET_PROBE)["dev"] == vpn_full.interface
    assert any(r["destination"] == "0.0.0.0/0" and r["interface"] == vpn_full.interface
               for r in full["details"]["default_routes"])
    remedy = full["remediation"]
    assert remedy and "split-tunnel-policy" in remedy["en"] and "delad tunnel" in remedy["sv"]


def test_not_connected_is_an_error(lab, vpn_down, accessready_run) -> None:
    results = run_split_checks(accessready_run)
    down = results["anyconnect.split_tunnel"]
    assert down["status"] == "error", down["summary"]["en"]
    assert down["details"]["state"] == "not_connected"
    assert "Connect the VPN" in down["summary"]["en"]
    assert probe(down, "internal")["interface"] == "eth0"
    assert down["details"]["vpn_adapters"] == []
    assert lab.vpn.route_get(INTERNAL_SAMPLE)["dev"] == "eth0"
