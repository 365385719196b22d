"""checkpoint.gateway against the Check Point responder and hostile peers."""

from __future__ import annotations

import pytest

from accessready.agent.core.model import Status
from accessready.agent.demo.simulators import pki
from accessready.agent.demo.simulators.checkpoint import CheckpointSimulator
from accessready.agent.demo.simulators.stream import StreamServer
from accessready.checks.checkpoint.gateway import CheckpointGatewayCheck, topology_probe
from tests.unit import hostile
from tests.unit.access_helpers import ended_by_their_deadline, evidence_bounded, run_access

from .simhelpers import closed_port

DEADLINE = 4.0


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cp-tls")
    ca = pki.make_ca("cpmgmt ICA")
    files = pki.write_tls_files(folder, "cp", ca, *pki.issue(ca, ["cpvpn.test", "127.0.0.1"]))
    return {"ca": str(files.ca_file), "ctx": pki.server_context(files)}


def run(port: int, topology: int, ike: int, ca_file: str | None, deadline: float = DEADLINE):
    toml = f"""
[access]
methods = ["checkpoint"]
[access.checkpoint]
gateway = "127.0.0.1"
port = {port}
ports = {{ topology = {topology}, ike = {ike} }}
""" + (f'ca_file = "{ca_file}"\n' if ca_file else "")
    results, took = run_access(toml, [CheckpointGatewayCheck], timeout=deadline)
    ended_by_their_deadline(results, took, deadline)
    return results["checkpoint.gateway"]


def test_full_gateway_trusted_with_topology_leak_warns(tls):
    with CheckpointSimulator(tls["ctx"]) as sim:
        result = run(sim.port, sim.topology_port, sim.ike_port, tls["ca"])
        posted = sim.requests[0]
    assert result.status is Status.WARN, result.summary.en
    assert result.remediation == CheckpointGatewayCheck.remediation["topology_leak"]
    assert result.details["disclosed_names"] == ["cpgw01", "cpmgmt01"]
    ccc = result.details["ccc"]["reply"]
    assert ccc["client_enabled"] is True and "IPSec" in ccc["tunnel_protocols"]
    assert ccc["tcpt_port"] == 443 and ccc["natt_port"] == 4500
    assert any(a.startswith("IKE/") and "Check Point" in a for a in result.details["answered"])
    method, target, _headers, body = posted
    assert (method, target) == ("POST", "/clients/")
    assert body.startswith(b"(CCCclientRequest") and b"(ClientHello)" in body


def test_ccc_only_and_trusted_passes(tls):
    with CheckpointSimulator(tls["ctx"], topology=False, ike=False) as sim:
        result = run(sim.port, closed_port(), closed_port(), tls["ca"])
    assert result.status is Status.PASS, result.summary.en
    assert result.details["topology"]["failure"] == "refused"  # not a fault
    assert result.details["ike"]["failure"] in ("refused", "timeout")


def test_untrusted_internal_ca_only_warns(tls):
    with CheckpointSimulator(tls["ctx"], topology=False, ike=False) as sim:
        result = run(sim.port, closed_port(), closed_port(), None)
    assert result.status is Status.WARN
    assert result.remediation == CheckpointGatewayCheck.remediation["cert_untrusted"]


def test_clients_disabled_fails(tls):
    with CheckpointSimulator(tls["ctx"], client_enabled=False, topology=False,
                             ike=False) as sim:
        result = run(sim.port, closed_port(), closed_port(), tls["ca"])
    assert result.status is Status.FAIL
    assert result.remediation == CheckpointGatewayCheck.remediation["clients_disabled"]


def test_odd_return_code_warns(tls):
    with CheckpointSimulator(tls["ctx"], return_code=401, topology=False, ike=False) as sim:
        result = run(sim.port, closed_port(), closed_port(), tls["ca"])
    assert result.status is Status.WARN
    assert "401" in result.summary.en


def test_legacy_only_gateway_fails_but_reports_what_answered(tls):
    with CheckpointSimulator(tls["ctx"], https=False) as sim:
        result = run(closed_port(), sim.topology_port, sim.ike_port, tls["ca"])
    assert result.status is Status.FAIL
    assert any(a.startswith("topology/") for a in result.details["answered"])
    assert result.details["disclosed_names"] == ["cpgw01", "cpmgmt01"]


def test_plain_web_server_is_not_checkpoint(tls):
    with hostile.http(404, b"<html>nope</html>", tls=tls["ctx"]) as web:
        result = run(web.port, closed_port(), closed_port(), tls["ca"])
    assert result.status is Status.FAIL
    assert result.remediation == CheckpointGatewayCheck.remediation["not_checkpoint"]


def test_garbage_s_expression_is_not_checkpoint(tls):
    body = b"(CCCserverResponse " + b"(" * 5000
    with hostile.http(200, body, tls=tls["ctx"]) as web:
        result = run(web.port, closed_port(), closed_port(), tls["ca"])
    assert result.status is Status.FAIL
    assert "parse_error" in result.details["ccc"]


@pytest.mark.parametrize("behaviour", ["silent", "reset", "garbage", "flood", "drip"])
def test_hostile_everywhere_fails_within_the_deadline(tls, behaviour):
    with hostile.tcp(behaviour) as bad, hostile.Udp("garbage") as udp:
        result = run(bad.port, bad.port, udp.port, tls["ca"], deadline=3.0)
    assert result.status is Status.FAIL, result.summary.en
    assert result.details["answered"] == []
    assert evidence_bounded(result)


def test_topology_hostile_answers():
    def wrong_banner(conn):
        conn.recv(8)
        conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")

    def script_dn(conn):
        conn.recv(8)
        conn.sendall(b"Y\x00\x00\x00")
        conn.recv(64)
        conn.sendall(b"\x00\x00\x00\x30CN=<script>x</script>,O=mgmt..abc\x00")

    with StreamServer(wrong_banner) as a, StreamServer(script_dn) as b:
        bad = topology_probe("127.0.0.1", a.port, 2.0)
        leak = topology_probe("127.0.0.1", b.port, 2.0)
    assert bad.kind == "protocol" and "acknowledged" not in bad.facts
    assert bad.to_json()["received_hex"].startswith("53 53 48")  # what came back instead
    assert leak.ok and leak.facts["acknowledged"]
    assert leak.facts["names"]["firewall"] == "<script>x</script>"
    assert leak.facts["names"]["management"] == "mgmt"


def test_metadata_is_bilingual():
    for key, text in CheckpointGatewayCheck.remediation.items():
        assert text.en and text.sv and text.en != text.sv, key
