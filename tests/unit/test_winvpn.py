"""winvpn.ikev2 / winvpn.l2tp / winvpn.pptp against loopback simulators and hostile peers."""

from __future__ import annotations

import pytest

from accessready.agent.core.model import Status
from accessready.agent.demo.simulators.ike import IkeSimulator
from accessready.agent.demo.simulators.pptp import PptpSimulator
from accessready.checks.winvpn import Ikev2Check, L2tpCheck, PptpCheck
from tests.unit import hostile
from tests.unit.access_helpers import ended_by_their_deadline, evidence_bounded, run_access

from .simhelpers import closed_port

CHECKS = [Ikev2Check, L2tpCheck, PptpCheck]

DEADLINE = 3.0


def profile(tunnel: str, **ports: int) -> str:
    table = ", ".join(f"{k} = {v}" for k, v in ports.items())
    return f"""
[access]
methods = ["windows_vpn"]
[access.windows_vpn]
server = "127.0.0.1"
tunnel = "{tunnel}"
ports = {{ {table} }}
"""


def run(tunnel: str, deadline: float = DEADLINE, **ports: int):
    results, took = run_access(profile(tunnel, **ports), CHECKS, timeout=deadline)
    ended_by_their_deadline(results, took, deadline)
    return results


@pytest.mark.parametrize(("tunnel", "runs"), [("ikev2", "winvpn.ikev2"),
                                              ("l2tp", "winvpn.l2tp"),
                                              ("pptp", "winvpn.pptp")])
def test_only_the_configured_tunnel_runs(tunnel, runs):
    results = run(tunnel, ike=closed_port(), natt=closed_port(), pptp=closed_port())
    for check_id, result in results.items():
        if check_id == runs:
            assert result.status is not Status.SKIP
        else:
            assert result.status is Status.SKIP
            assert f"tunnel type is {tunnel}" in result.summary.en.lower()
            assert f"tunneltypen är {tunnel}" in result.summary.sv.lower()


# --- IKE -------------------------------------------------------------------------------

def test_ikev2_sa_reply_passes_with_vendor_ids():
    with IkeSimulator() as sim:
        result = run("ikev2", ike=sim.port, natt=sim.natt_port)["winvpn.ikev2"]
    assert result.status is Status.PASS, result.summary.en
    assert "chose a proposal" in result.summary.en
    assert any("MS NT5 ISAKMPOAKLEY" in v for v in result.details["vendor_ids"])
    main, natt = result.details["probes"]
    assert main["outcome"] == natt["outcome"] == "sa"
    assert main["sent_hex"].startswith(main["sent_hex"][:23])
    assert natt["sent_hex"].startswith("00 00 00 00")  # the non-ESP marker
    assert "DH MODP2048" in main["reply"]["chosen"]


def test_ikev2_invalid_ke_is_retried_with_the_asked_group():
    with IkeSimulator(groups=(2,)) as sim:
        result = run("ikev2", ike=sim.port, natt=sim.natt_port)["winvpn.ikev2"]
    main = result.details["probes"][0]
    assert main["retry_with_group"]["group"] == 2
    assert main["outcome"] == "sa"
    assert result.status is Status.PASS


def test_ikev2_no_proposal_chosen_is_alive_but_warns():
    with IkeSimulator(mode="no_proposal") as sim:
        result = run("ikev2", ike=sim.port, natt=sim.natt_port)["winvpn.ikev2"]
    assert result.status is Status.WARN
    assert "NO_PROPOSAL_CHOSEN" in result.summary.en
    assert result.remediation is not None and "Set-VpnConnectionIPsecConfiguration" in \
        result.remediation.en


def test_ikev2_cookie_demand_counts_as_alive():
    with IkeSimulator(require_cookie=True) as sim:
        result = run("ikev2", ike=sim.port, natt=sim.natt_port)["winvpn.ikev2"]
    assert result.status is Status.PASS
    assert result.details["probes"][0]["outcome"] == "cookie"


def test_ikev2_silent_natt_warns():
    with IkeSimulator(natt_port=None) as sim, hostile.Udp("silent") as natt:
        result = run("ikev2", ike=sim.port, natt=natt.port)["winvpn.ikev2"]
    assert result.status is Status.WARN
    assert "NAT" in result.summary.en
    assert result.remediation is not None and "4500" in result.remediation.en


def test_l2tp_main_mode_sa_passes():
    with IkeSimulator() as sim:
        result = run("l2tp", ike=sim.port, natt=sim.natt_port)["winvpn.l2tp"]
    assert result.status is Status.PASS, result.summary.en
    assert result.details["probes"][0]["reply"]["exchange"].startswith("Identity Protection")
    assert "RFC 3947 NAT-T" in result.details["vendor_ids"]


def test_l2tp_no_proposal_warns():
    with IkeSimulator(groups=(19,)) as sim:
        result = run("l2tp", ike=sim.port, natt=sim.natt_port)["winvpn.l2tp"]
    assert result.status is Status.WARN
    assert result.details["probes"][0]["outcome"] == "no_proposal"


def test_ikev1_only_responder_is_silent_to_ikev2():
    with IkeSimulator(versions=(1,)) as sim:
        result = run("ikev2", ike=sim.port, natt=sim.natt_port)["winvpn.ikev2"]
    assert result.status is Status.FAIL
    assert "did not answer" in result.summary.en


@pytest.mark.parametrize("behaviour", ["silent", "garbage", "echo", "huge", "icmp"])
@pytest.mark.parametrize("check", [Ikev2Check, L2tpCheck])
def test_ike_hostile_peers_fail_within_the_deadline(behaviour, check):
    with hostile.Udp(behaviour) as peer:
        tunnel = "ikev2" if check is Ikev2Check else "l2tp"
        result = run(tunnel, 2.0, ike=peer.port, natt=peer.port)[check.id]
    assert result.status is Status.FAIL, result.summary.en
    main = result.details["probes"][0]
    assert "sent_hex" in main
    if behaviour in ("garbage", "echo", "huge"):
        # something came back, but not an IKE response to our SPI: say so, with evidence
        assert main["failure"] == "protocol"
        assert main["ignored_hex"]
        assert len(main["ignored_hex"]) < 1000
    elif behaviour == "icmp":
        assert main["failure"] == "refused"
    else:
        assert main["failure"] == "timeout"
        assert "source port 500" in result.summary.en
    assert evidence_bounded(result)


# --- PPTP ------------------------------------------------------------------------------

def test_pptp_accepted_warns_about_crypto_and_gre():
    with PptpSimulator() as sim:
        result = run("pptp", pptp=sim.port)["winvpn.pptp"]
    assert result.status is Status.WARN
    assert "cryptographically broken" in result.summary.en
    assert "GRE" in result.summary.en and "GRE" in result.summary.sv
    reply = result.details["reply"]
    assert (reply["host_name"], reply["vendor"], reply["firmware"]) == ("local", "linux", 1)
    assert result.details["gre_verified"] is False
    probe = result.details["probes"][0]
    assert probe["sent_bytes"] == 156 and probe["received_bytes"] == 156
    assert probe["sent_hex"].startswith("00 9c 00 01 1a 2b 3c 4d 00 01")
    assert probe["stop_sent"] is True


def test_pptp_refusal_fails_with_result_code():
    with PptpSimulator(result_code=4) as sim:
        result = run("pptp", pptp=sim.port)["winvpn.pptp"]
    assert result.status is Status.FAIL
    assert "not authorized" in result.summary.en
    assert result.remediation is not None


def test_pptp_script_tags_in_banner_are_kept_as_plain_data():
    with PptpSimulator(host_name="<script>alert(1)</script>", vendor="x\x07\x1b[31m") as sim:
        result = run("pptp", pptp=sim.port)["winvpn.pptp"]
    assert result.details["reply"]["host_name"] == "<script>alert(1)</script>"
    assert "\x1b" not in result.details["reply"]["vendor"]  # control bytes replaced


def test_pptp_closed_port_fails():
    result = run("pptp", pptp=closed_port())["winvpn.pptp"]
    assert result.status is Status.FAIL
    assert result.details["probes"][0]["failure"] == "refused"
    assert "1723" in result.remediation.en


@pytest.mark.parametrize(("behaviour", "failure"), [
    ("silent", "silent"), ("reset", "reset"), ("garbage", "protocol"), ("flood", "too_big"),
    ("drip", "protocol")])
def test_pptp_hostile_peers(behaviour, failure):
    with hostile.tcp(behaviour) as peer:
        result = run("pptp", pptp=peer.port)["winvpn.pptp"]
    assert result.status is Status.FAIL, result.summary.en
    probe = result.details["probes"][0]
    assert probe["failure"] in (failure, "closed", "reset"), probe
    assert evidence_bounded(result)
    if behaviour == "garbage":
        assert probe["received_hex"]


def test_metadata_is_bilingual_for_every_failure_mode():
    for cls in CHECKS:
        assert cls.title.en and cls.title.sv and cls.description.sv
        for key, text in cls.remediation.items():
            assert text.en and text.sv and text.en != text.sv, (cls.id, key)
    assert PptpCheck.requirement.value == "access"
