"""adfs.tls against the AD FS/WAP simulator on loopback, over the test CA's certificate matrix."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from accessready.agent.core.model import Status
from accessready.agent.core.profile import parse_profile
from accessready.checks.adfs.tls import AdfsTlsCheck
from tests.unit.adfs_farm import FS, NodeSpec, by_target, farm, profile_text, run_check


@pytest.mark.parametrize(("cert", "status", "fix", "words"), [
    ("valid", Status.PASS, None, "trusted chain"),
    ("expiring", Status.WARN, "expiring", "expires in 9 days"),
    ("expired", Status.FAIL, "expired", "expired on"),
    ("wrong_name", Status.FAIL, "name_mismatch", "does not cover sts.kund.example"),
    ("self_signed", Status.FAIL, "self_signed", "self-signed"),
])
def test_certificate_matrix(tmp_path: Path, cert: str, status: Status, fix: str | None,
                            words: str) -> None:
    with farm(tmp_path, [NodeSpec("adfs01", "adfs", cert=cert),
                         NodeSpec("wap01", "wap", cert=cert)]) as f:
        results = by_target(f.run(AdfsTlsCheck()))
    assert set(results) == {FS, "adfs01", "wap01"}
    for result in results.values():
        assert result.status is status, result.summary.en
        assert words in result.summary.en
        assert (result.remediation is None) is (fix is None)
        if fix:
            assert result.remediation == AdfsTlsCheck.remediation[fix]
        # SNI is required by the simulated http.sys binding: information, never a failure
        without_sni = result.details["without_sni"]
        assert (without_sni["tried"], without_sni["answered"], without_sni["failure"]) == (
            True, False, "reset")
        assert without_sni["message"] and "total_ms" in without_sni
        assert "Without SNI" in result.summary.en
        assert result.summary.sv != result.summary.en
    # the service name is reached where the outside view points: the WAP
    assert results[FS].details["address"] == f.addresses["wap01"]


def test_unknown_issuer_warns_and_names_ca_file(tmp_path: Path) -> None:
    with farm(tmp_path, [NodeSpec("adfs01", "adfs")], trust_ca=False) as f:
        result = by_target(f.run(AdfsTlsCheck()))["adfs01"]
    assert result.status is Status.WARN
    assert result.details["tls"]["verified"] is False
    assert "ca_file" in result.remediation.en


def test_verify_false_is_loud(tmp_path: Path) -> None:
    with farm(tmp_path, [NodeSpec("adfs01", "adfs", cert="self_signed")], trust_ca=False,
              extra_adfs="verify = false") as f:
        result = by_target(f.run(AdfsTlsCheck()))["adfs01"]
    # verification off hides the self-signed problem, but never silently
    assert result.status is Status.WARN
    assert "OFF" in result.summary.en
    assert result.details["tls"]["verification_disabled"] is True


def test_node_without_sni_requirement_is_information(tmp_path: Path) -> None:
    with farm(tmp_path, [NodeSpec("adfs01", "adfs", require_sni=False)]) as f:
        result = by_target(f.run(AdfsTlsCheck()))["adfs01"]
    assert result.status is Status.PASS
    assert result.details["without_sni"]["answered"] is True
    assert "also answers without SNI" in result.summary.en


def test_old_tls_only_fails(tmp_path: Path) -> None:
    with farm(tmp_path, [NodeSpec("adfs01", "adfs", max_tls=ssl.TLSVersion.TLSv1_1)]) as f:
        result = by_target(f.run(AdfsTlsCheck()))["adfs01"]
    assert result.status is Status.FAIL
    assert result.remediation == AdfsTlsCheck.remediation["old_tls"]
    # seen, not guessed: the observing handshake got through and the version decides
    assert result.details["tls"]["version"] == "TLSv1.1"
    assert result.details["tls"]["verify_kind"] == "old_tls"
    assert "Only TLSv1.1 was negotiated" in result.summary.en
    assert "does not trust" not in result.summary.en  # trust was never the problem


def test_listed_node_not_listening_is_refused(tmp_path: Path) -> None:
    with farm(tmp_path, [NodeSpec("adfs01", "adfs"), NodeSpec("wap01", "wap", listen=False)]) as f:
        results = by_target(f.run(AdfsTlsCheck()))
    assert results["adfs01"].status is Status.PASS
    assert results["wap01"].status is Status.FAIL
    assert results["wap01"].details["failure"]["failure"] == "refused"
    # DNS points outside at the silent WAP, so the service name fails the same way
    assert results[FS].status is Status.FAIL


def test_service_name_that_does_not_resolve_is_an_error(tmp_path: Path) -> None:
    with farm(tmp_path, [NodeSpec("adfs01", "adfs")], dns_internal={}, dns_external={}) as f:
        results = by_target(f.run(AdfsTlsCheck()))
    assert results[FS].status is Status.ERROR
    assert "adfs.dns" in results[FS].summary.en
    assert results["adfs01"].status is Status.PASS


def test_expiry_is_judged_against_the_context_clock(tmp_path: Path) -> None:
    import datetime as dt

    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=280)
    with farm(tmp_path, [NodeSpec("adfs01", "adfs")]) as f:
        result = by_target(f.run(AdfsTlsCheck(), now=lambda: later))["adfs01"]
    assert result.status is Status.WARN
    assert result.remediation == AdfsTlsCheck.remediation["expiring"]
    not_after = result.details["tls"]["certificate"]["not_after"]
    assert result.due == not_after[:10] and result.owner == "customer"


def test_skipped_without_adfs_section() -> None:
    profile = parse_profile('[customer]\nname = "X"\n[access]\nmethods = ["teamviewer"]\n')
    (result,) = run_check(AdfsTlsCheck(), profile)
    assert result.status is Status.SKIP
    assert "[adfs]" in result.summary.en and "[adfs]" in result.summary.sv


def test_per_server_trust_overrides_adfs_trust(tmp_path: Path) -> None:
    """A server's own ca_file wins over [adfs]'s (here [adfs] trusts nothing extra)."""
    with farm(tmp_path, [NodeSpec("adfs01", "adfs")], trust_ca=False) as f:
        text = profile_text([("adfs01", "adfs", f.addresses["adfs01"])], f.internal.address,
                            f.external.address, f.nodes["adfs01"].https_port,
                            f.nodes["adfs01"].http_port, None)
        text = text.replace('remote = ["rdp"]', f'remote = ["rdp"]\nca_file = "{f.ca_file}"')
        result = by_target(run_check(AdfsTlsCheck(), parse_profile(text)))["adfs01"]
    assert result.status is Status.PASS
    assert result.details["trust"]["ca_file"] == str(f.ca_file)


def test_per_server_port_override(tmp_path: Path) -> None:
    """ports."<server>.https" points one node at its own port (nodes behind port forwards)."""
    from accessready.agent.demo.simulators.adfs import AdfsSimulator
    from tests.unit.adfs_farm import certificates, metadata

    p = certificates()
    with farm(tmp_path, [NodeSpec("adfs01", "adfs")]) as f:
        other = AdfsSimulator("adfs", FS, *p.expired, metadata(), chain_pem=p.ca.cert_pem,
                              host=f.addresses["adfs01"]).start()
        try:
            text = profile_text([("adfs01", "adfs", f.addresses["adfs01"])],
                                f.internal.address, f.external.address,
                                f.nodes["adfs01"].https_port, f.nodes["adfs01"].http_port,
                                str(f.ca_file))
            text = text.replace("ports = { http", f'ports = {{ "adfs01.https" = '
                                f'{other.https_port}, http')
            results = by_target(run_check(AdfsTlsCheck(), parse_profile(text)))
        finally:
            other.stop()
    assert results["adfs01"].details["port"] == other.https_port
    assert results["adfs01"].status is Status.FAIL  # the override's expired certificate
    assert results[FS].status is Status.PASS  # the service name keeps the [adfs] port


def test_a_nodes_connection_is_opened_ahead_and_the_results_are_the_same(
        tmp_path: Path, taken: list[tuple[str, int]]) -> None:
    """Through the runner, each node's first connection is opened by the connector (a
    silent node then waits on its selector, not on a worker thread) and the check takes
    that socket: the results are what the check gives on its own. The service name is
    resolved by the check's own resolvers, so it connects itself."""
    from accessready.agent.io.dns import Resolvers
    from accessready.agent.plugin.checkapi import Contact
    from accessready.agent.plugin.runner import ContextFactory, RunOptions, execute, plan

    check = AdfsTlsCheck()
    with farm(tmp_path, [NodeSpec("adfs01", "adfs"), NodeSpec("wap01", "wap")]) as f:
        alone = by_target(f.run(check))
        contacts = {t.name: check.first_contact(t) for t in check.targets(f.profile)}
        items = plan([check], f.profile, RunOptions(timeout=10.0))
        ran = by_target(execute(items, ContextFactory(
            f.profile, {"dns": Resolvers(f.profile.network)}), RunOptions(timeout=10.0)))
    assert contacts[FS] is None
    https = f.profile.adfs.ports["https"] if f.profile.adfs else 0
    assert contacts["adfs01"] == Contact(f.addresses["adfs01"], https, 5.0)
    assert contacts["wap01"] == Contact(f.addresses["wap01"], https, 5.0)
    assert sorted(taken) == sorted((c.host, c.port) for c in contacts.values() if c)
    assert {k: (r.status, r.summary.en) for k, r in ran.items()} == \
        {k: (r.status, r.summary.en) for k, r in alone.items()}
