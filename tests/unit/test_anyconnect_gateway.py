"""anyconnect.gateway against the ocserv-like simulator and hostile HTTPS peers."""

from __future__ import annotations

import datetime as dt

import pytest

from accessready.agent.core.model import Status
from accessready.agent.demo.simulators import pki
from accessready.agent.demo.simulators.anyconnect import AnyConnectSimulator
from accessready.checks.anyconnect.gateway import AnyConnectGatewayCheck, gateway_url
from tests.unit import hostile
from tests.unit.access_helpers import ended_by_their_deadline, evidence_bounded, run_access

from .simhelpers import closed_port

DEADLINE = 3.0


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """A CA, a good leaf for 127.0.0.1, an expired one and one for another name."""
    folder = tmp_path_factory.mktemp("tls")
    ca = pki.make_ca("Test CA")
    now = dt.datetime.now(dt.UTC)
    good = pki.write_tls_files(folder, "good", ca, *pki.issue(ca, ["vpn.test", "127.0.0.1"]))
    expired = pki.write_tls_files(folder, "expired", ca, *pki.issue(
        ca, ["127.0.0.1"], now - dt.timedelta(days=60), now - dt.timedelta(days=1)))
    soon = pki.write_tls_files(folder, "soon", ca, *pki.issue(
        ca, ["127.0.0.1"], now - dt.timedelta(days=60), now + dt.timedelta(days=5)))
    other = pki.write_tls_files(folder, "other", ca, *pki.issue(ca, ["other.test"]))
    return {"ca": str(good.ca_file), "good": pki.server_context(good),
            "expired": pki.server_context(expired), "soon": pki.server_context(soon),
            "other": pki.server_context(other)}


def run(port: int, ca_file: str | None, group: str | None = "staff", verify: bool = True,
        deadline: float = DEADLINE):
    lines = ['gateway = "127.0.0.1"', f"port = {port}"]
    if group is not None:
        lines.append(f'group = "{group}"')
    if ca_file:
        lines.append(f'ca_file = "{ca_file}"')
    if not verify:
        lines.append("verify = false")
    toml = '\n[access]\nmethods = ["anyconnect"]\n[access.anyconnect]\n' + "\n".join(lines)
    results, took = run_access(toml, [AnyConnectGatewayCheck], timeout=deadline)
    ended_by_their_deadline(results, took, deadline)
    return results["anyconnect.gateway"]


def test_ocserv_like_gateway_with_the_group_passes(tls):
    with AnyConnectSimulator(tls["good"]) as sim:
        result = run(sim.port, tls["ca"], "staff")
        request = sim.requests[0]
    assert result.status is Status.PASS, result.summary.en
    reply = result.details["reply"]
    assert reply["flavour"] == "ocserv" and reply["server_version"] == "0.1(1)"
    assert [g[0] for g in reply["groups"]] == ["staff", "students"]
    assert reply["auth_methods"] == ["username/password"]
    assert result.details["exchange"]["tls"]["verified"] is True
    method, target, headers, body = request
    assert (method, target) == ("POST", "/")
    assert headers["x-aggregate-auth"] == "1" and headers["x-transcend-version"] == "1"
    assert "x-anyconnect-platform" not in headers  # newer ASAs reject the init with it
    assert b"<group-select>" not in body  # ocserv would echo it into the group list


def test_group_not_offered_fails(tls):
    with AnyConnectSimulator(tls["good"]) as sim:
        result = run(sim.port, tls["ca"], "Leverantorer")
    assert result.status is Status.FAIL
    assert "not offered" in result.summary.en and "erbjuds inte" in result.summary.sv
    assert result.remediation == AnyConnectGatewayCheck.remediation["group_missing"]


def test_group_label_matches_case_insensitively_and_no_group_passes(tls):
    with AnyConnectSimulator(tls["good"], groups=("Leverantorer",)) as sim:
        assert run(sim.port, tls["ca"], "leverantorer").status is Status.PASS
        assert run(sim.port, tls["ca"], None).status is Status.PASS


def test_no_group_list_warns(tls):
    with AnyConnectSimulator(tls["good"], groups=()) as sim:
        result = run(sim.port, tls["ca"], "staff")
    assert result.status is Status.WARN
    assert result.remediation == AnyConnectGatewayCheck.remediation["group_unlisted"]


def test_asa_flavour_reports_tunnel_group(tls):
    with AnyConnectSimulator(tls["good"], groups=("Leverantorer", "Staff"), flavor="asa") as sim:
        result = run(sim.port, tls["ca"], "Leverantorer")
    assert result.status is Status.PASS, result.summary.en
    assert result.details["reply"]["flavour"] == "Cisco ASA/FTD"
    assert result.details["reply"]["tunnel_group"] == "Leverantorer"


@pytest.mark.parametrize(("cert", "ca", "status", "fix"), [
    ("good", None, Status.FAIL, "cert_untrusted"),     # private CA not given
    ("other", "ca", Status.FAIL, "cert_untrusted"),    # wrong name
    ("expired", "ca", Status.FAIL, "cert_expired"),
    ("soon", "ca", Status.WARN, "cert_expiring"),
])
def test_tls_problems(tls, cert, ca, status, fix):
    with AnyConnectSimulator(tls[cert]) as sim:
        result = run(sim.port, tls[ca] if ca else None)
    assert result.status is status, result.summary.en
    assert result.remediation == AnyConnectGatewayCheck.remediation[fix]
    assert result.details["exchange"]["tls"]["certificate"]["sha256"]
    not_after = result.details["exchange"]["tls"]["certificate"]["not_after"][:10]
    assert result.due == (not_after if fix in ("cert_expired", "cert_expiring") else None)


def test_verification_off_is_loud(tls):
    with AnyConnectSimulator(tls["good"]) as sim:
        result = run(sim.port, None, verify=False)
    assert result.status is Status.WARN
    assert "VERIFICATION IS TURNED OFF" in result.summary.en
    assert "VERIFIERING ÄR AVSTÄNGD" in result.summary.sv


def test_script_tags_in_messages_and_groups_stay_data(tls):
    with AnyConnectSimulator(tls["good"], groups=("<script>alert(1)</script>",),
                             message="<img src=x onerror=alert(1)>") as sim:
        result = run(sim.port, tls["ca"], None)
    assert result.status is Status.PASS
    assert result.details["reply"]["groups"][0][0] == "<script>alert(1)</script>"
    assert result.details["reply"]["message"] == "<img src=x onerror=alert(1)>"


def test_xml_bomb_is_refused_not_expanded(tls):
    with hostile.http(200, hostile.XML_BOMB, tls=tls["good"]) as peer:
        result = run(peer.port, tls["ca"])
    assert result.status is Status.FAIL
    assert "DTD" in result.details["parse_error"] or "Entit" in result.details["parse_error"]
    assert result.remediation == AnyConnectGatewayCheck.remediation["not_anyconnect"]


def test_html_portal_is_not_anyconnect(tls):
    with hostile.http(200, b"<html><body>Welcome</body></html>", tls=tls["good"]) as peer:
        result = run(peer.port, tls["ca"])
    assert result.status is Status.FAIL
    assert "HTTP 200" in result.summary.en


def test_redirect_is_reported(tls):
    with hostile.http(302, b"", tls=tls["good"],
                      headers=[("Location", "https://elsewhere.test/+CSCOE+/logon.html")]) as peer:
        result = run(peer.port, tls["ca"])
    assert result.status is Status.FAIL
    assert result.details["location"].endswith("logon.html")


@pytest.mark.parametrize(("behaviour", "tls_on", "failure"), [
    ("silent", False, "silent"),    # TCP accepted, no TLS handshake answer
    ("reset", False, ("reset", "tls", "closed")),
    ("garbage", False, "tls"),
    ("silent", True, "silent"),     # handshake done, then nothing
    ("flood", True, "protocol"),    # 10 MB that is not HTTP
])
def test_hostile_peers_fail_within_the_deadline(tls, behaviour, tls_on, failure):
    with hostile.tcp(behaviour, tls=tls["good"] if tls_on else None) as peer:
        result = run(peer.port, tls["ca"], deadline=2.0)
    assert result.status is Status.FAIL, result.summary.en
    assert result.details["probe"]["failure"] in (failure if isinstance(failure, tuple)
                                                  else (failure,))
    assert evidence_bounded(result)


def test_ten_megabyte_http_body_is_cut(tls):
    with hostile.http_flood(tls=tls["good"]) as peer:
        result = run(peer.port, tls["ca"], deadline=3.0)
    assert result.status is Status.FAIL
    assert evidence_bounded(result)


def test_closed_port_fails_with_reachability_advice(tls):
    result = run(closed_port(), tls["ca"])
    assert result.status is Status.FAIL
    assert result.details["probe"]["failure"] == "refused"
    assert result.remediation == AnyConnectGatewayCheck.remediation["unreachable"]


def test_gateway_url_forms():
    assert gateway_url("vpn.test", 443) == "https://vpn.test/"
    assert gateway_url("::1", 8443) == "https://[::1]:8443/"


def test_metadata_is_bilingual():
    for key, text in AnyConnectGatewayCheck.remediation.items():
        assert text.en and text.sv and text.en != text.sv, key
