"""adfs.metadata, adfs.probe and adfs.clock_skew against the AD FS/WAP simulator on loopback."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from accessready.agent.core.model import Status
from accessready.agent.core.outcome import ProbeOutcome
from accessready.checks.adfs.base import METADATA_PATH
from accessready.checks.adfs.clock_skew import AdfsClockSkewCheck
from accessready.checks.adfs.metadata import AdfsMetadataCheck
from accessready.checks.adfs.probe import AdfsProbeCheck
from tests.unit.adfs_farm import (
    FS,
    XML_BOMB,
    XXE,
    NodeSpec,
    by_target,
    certificates,
    farm,
    metadata,
)

FARM = [NodeSpec("adfs01", "adfs"), NodeSpec("wap01", "wap")]


def cert_results(results: list) -> dict:
    """Certificate results keyed by use: {"token-signing": [...], "token-decrypting": [...]}."""
    out: dict[str, list] = {}
    for r in results:
        for label in ("token-signing", "token-decrypting"):
            if r.target.startswith(label + " ") and "rollover" not in r.target:
                out.setdefault(label, []).append(r)
    return out


# --- adfs.metadata ---------------------------------------------------------------------------

def test_metadata_normal(tmp_path: Path) -> None:
    with farm(tmp_path, FARM) as f:
        results = f.run(AdfsMetadataCheck())
        seen = f.nodes["wap01"].seen
    by = by_target(results)
    assert by["wap01 (WAP)"].status is Status.PASS
    assert "through the WAP" in by["wap01 (WAP)"].summary.en
    assert by["adfs01 (AD FS)"].status is Status.PASS
    assert by["adfs01 (AD FS)"].details["entity_id"] == f"http://{FS}/adfs/services/trust"
    certs = cert_results(results)
    assert [r.status for r in certs["token-signing"]] == [Status.PASS]
    assert [r.status for r in certs["token-decrypting"]] == [Status.PASS]
    signing = certs["token-signing"][0]
    assert signing.details["served_by"] == ["wap01 (WAP)", "adfs01 (AD FS)"]
    assert signing.details["days_left"] in (263, 264)
    assert by["metadata consistency"].status is Status.PASS
    # SNI and Host carry the federation service name, as http.sys needs
    assert seen[0].sni == FS and seen[0].host.startswith(FS)


def test_expired_signing_certificate_fails(tmp_path: Path) -> None:
    md = metadata(signing=[certificates().signing_expired[0]])
    with farm(tmp_path, [NodeSpec("adfs01", "adfs", metadata=md), NodeSpec("wap01", "wap")]) as f:
        results = f.run(AdfsMetadataCheck())
    (signing,) = cert_results(results)["token-signing"]
    assert signing.status is Status.FAIL
    assert "expired on" in signing.summary.en and "gick ut" in signing.summary.sv
    assert signing.remediation == AdfsMetadataCheck.remediation["expired"]


def test_signing_certificate_near_expiry_warns(tmp_path: Path) -> None:
    md = metadata(signing=[certificates().signing_soon[0]])
    with farm(tmp_path, [NodeSpec("adfs01", "adfs", metadata=md)]) as f:
        results = f.run(AdfsMetadataCheck())
    (signing,) = cert_results(results)["token-signing"]
    assert signing.status is Status.WARN
    assert "expires in 11 days" in signing.summary.en
    assert signing.due == signing.details["certificate"]["not_after"][:10]
    assert signing.remediation == AdfsMetadataCheck.remediation["expiring"]


@pytest.mark.parametrize(("doc", "words"), [(XML_BOMB, "bomb"), (XXE, "external entity")])
def test_hostile_xml_is_refused(tmp_path: Path, doc: bytes, words: str) -> None:
    with farm(tmp_path, [NodeSpec("adfs01", "adfs", metadata=doc)]) as f:
        results = by_target(f.run(AdfsMetadataCheck()))
    result = results["adfs01 (AD FS)"]
    assert result.status is Status.FAIL
    assert words in result.summary.en
    assert result.details["parse_error"]["kind"] == "dtd"
    assert result.remediation == AdfsMetadataCheck.remediation["hostile"]
    # nothing from the machine leaks into the evidence, whatever the entity named
    hostname = Path("/etc/hostname")
    if hostname.is_file() and hostname.read_text().strip():
        assert hostname.read_text().strip() not in str(result.details)


def test_two_signing_certificates_mean_rollover(tmp_path: Path) -> None:
    p = certificates()
    md = metadata(signing=[p.signing[0], p.signing_new[0]])
    with farm(tmp_path, [NodeSpec("adfs01", "adfs", metadata=md)]) as f:
        results = f.run(AdfsMetadataCheck())
    assert len(cert_results(results)["token-signing"]) == 2
    rollover = by_target(results)["token-signing rollover"]
    assert rollover.status is Status.WARN
    assert rollover.remediation == AdfsMetadataCheck.remediation["rollover"]


def test_wap_serving_different_metadata_is_flagged(tmp_path: Path) -> None:
    other = metadata(signing=[certificates().signing_new[0]])
    with farm(tmp_path, [NodeSpec("adfs01", "adfs"),
                         NodeSpec("wap01", "wap", metadata_override=other)]) as f:
        results = f.run(AdfsMetadataCheck())
    consistency = by_target(results)["metadata consistency"]
    assert consistency.status is Status.WARN
    assert "wap01 (WAP)" in consistency.summary.en and "adfs01 (AD FS)" in consistency.summary.en
    assert consistency.remediation == AdfsMetadataCheck.remediation["different"]
    # both signing certificates are reported, each with the path that served it
    served = {tuple(r.details["served_by"]) for r in cert_results(results)["token-signing"]}
    assert served == {("wap01 (WAP)",), ("adfs01 (AD FS)",)}


def test_wap_with_stopped_adfs_fails_on_the_wap_path(tmp_path: Path) -> None:
    with farm(tmp_path, [NodeSpec("adfs01", "adfs", service_running=False),
                         NodeSpec("wap01", "wap")]) as f:
        results = by_target(f.run(AdfsMetadataCheck()))
    assert results["wap01 (WAP)"].status is Status.FAIL
    assert results["wap01 (WAP)"].remediation == AdfsMetadataCheck.remediation["backend"]
    assert results["adfs01 (AD FS)"].status is Status.FAIL
    assert "HTTP 503" in results["adfs01 (AD FS)"].summary.en


def test_without_servers_the_service_name_is_fetched(tmp_path: Path) -> None:
    from accessready.agent.core.profile import parse_profile
    from tests.unit.adfs_farm import profile_text, run_check

    with farm(tmp_path, [NodeSpec("wap01", "wap")]) as f:
        f.nodes["wap01"].backend = None
        f.nodes["wap01"].role = "adfs"  # answer as a lone AD FS would
        text = profile_text([], None, f.external.address, f.nodes["wap01"].https_port,
                            f.nodes["wap01"].http_port, str(f.ca_file))
        results = by_target(run_check(AdfsMetadataCheck(), parse_profile(text)))
    assert results[FS].status is Status.PASS
    assert results[FS].details["address"] == f.addresses["wap01"]


# --- adfs.probe ------------------------------------------------------------------------------

def test_probe_healthy_farm_proves_the_back_end(tmp_path: Path) -> None:
    with farm(tmp_path, FARM) as f:
        results = by_target(f.run(AdfsProbeCheck()))
    assert results["adfs01"].status is Status.PASS
    wap = results["wap01"]
    assert wap.status is Status.PASS
    assert "proves that AD FS behind it answers" in wap.summary.en
    assert "even when AD FS behind it is down" in wap.summary.en
    assert wap.details["mex_endpoints"]


def test_probe_wap_answers_while_adfs_is_down(tmp_path: Path) -> None:
    """The WAP's /adfs/probe stays 200 with AD FS stopped; only the mex fetch shows it."""
    with farm(tmp_path, [NodeSpec("adfs01", "adfs", service_running=False),
                         NodeSpec("wap01", "wap")]) as f:
        results = by_target(f.run(AdfsProbeCheck()))
    wap = results["wap01"]
    assert wap.details["probe"]["status"] == 200
    assert wap.status is Status.FAIL
    assert wap.remediation == AdfsProbeCheck.remediation["backend"]
    assert "/adfs/probe answers 200, but AD FS behind it does not answer" in wap.summary.en
    adfs = results["adfs01"]
    assert adfs.status is Status.FAIL  # the only AD FS node
    assert "no AD FS node answers" in adfs.summary.en


def test_probe_wap_with_mex_turned_off_is_proven_by_metadata(tmp_path: Path) -> None:
    """A hardened WAP answers mex with 404; signed metadata through it proves AD FS."""
    with farm(tmp_path, [NodeSpec("adfs01", "adfs"), NodeSpec("wap01", "wap", mex=False)]) as f:
        results = by_target(f.run(AdfsProbeCheck()))
    wap = results["wap01"]
    assert wap.details["mex"]["status"] == 404
    assert wap.details["metadata"]["status"] == 200 and wap.details["metadata_signed"]
    assert wap.status is Status.PASS
    assert "/adfs/services/trust/mex is not published through it (mex: 404" in wap.summary.en
    assert "signed federation metadata through it proves" in wap.summary.en
    assert "signerad federationsmetadata genom den visar" in wap.summary.sv


def test_probe_wap_with_mex_off_and_adfs_down_still_fails(tmp_path: Path) -> None:
    """Without mex, the metadata fallback must not hide a dead back end."""
    with farm(tmp_path, [NodeSpec("adfs01", "adfs", service_running=False),
                         NodeSpec("wap01", "wap", mex=False)]) as f:
        f.nodes["wap01"].backend = f.nodes["adfs01"]
        results = by_target(f.run(AdfsProbeCheck()))
    wap = results["wap01"]
    assert wap.status is Status.FAIL
    assert wap.details["metadata"]["status"] == 503
    assert "(mex: 503; metadata: 503)" in wap.summary.en


def test_probe_wap_with_mex_off_and_no_time_for_metadata_is_undecided(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Our deadline running out on the metadata fallback says nothing about the back end:
    not a "down" (fail), as for mex itself."""
    real = AdfsProbeCheck._through

    def through(ctx, address, left, cfg, server, path):  # type: ignore[no-untyped-def]
        if path == METADATA_PATH:
            return ProbeOutcome(address, kind="deadline",
                                message="no time left for the metadata")
        return real(ctx, address, left, cfg, server, path)

    monkeypatch.setattr(AdfsProbeCheck, "_through", staticmethod(through))
    with farm(tmp_path, [NodeSpec("adfs01", "adfs"), NodeSpec("wap01", "wap", mex=False)]) as f:
        results = by_target(f.run(AdfsProbeCheck()))
    assert results["wap01"].status is not Status.FAIL, results["wap01"].summary.en


def test_probe_wap_with_mex_off_and_unsigned_metadata_fails(tmp_path: Path) -> None:
    """Unsigned metadata is not what AD FS writes: no proof of the back end."""
    unsigned = re.sub(rb"<ds:Signature .*?</ds:Signature>", b"", metadata(), flags=re.S)
    assert b"Signature" not in unsigned
    with farm(tmp_path, [NodeSpec("adfs01", "adfs"),
                         NodeSpec("wap01", "wap", mex=False, metadata_override=unsigned)]) as f:
        results = by_target(f.run(AdfsProbeCheck()))
    wap = results["wap01"]
    assert wap.details["metadata_signed"] is False
    assert wap.status is Status.FAIL and "metadata: not signed" in wap.summary.en


def test_probe_one_of_two_adfs_nodes_down_warns(tmp_path: Path) -> None:
    with farm(tmp_path, [NodeSpec("adfs01", "adfs"), NodeSpec("adfs02", "adfs",
                                                              service_running=False),
                         NodeSpec("wap01", "wap")]) as f:
        results = by_target(f.run(AdfsProbeCheck()))
    assert results["adfs01"].status is Status.PASS
    assert results["adfs02"].status is Status.WARN
    assert results["adfs02"].remediation == AdfsProbeCheck.remediation["down"]
    assert results["wap01"].status is Status.PASS


def test_probe_node_not_listening(tmp_path: Path) -> None:
    with farm(tmp_path, [NodeSpec("adfs01", "adfs"), NodeSpec("wap01", "wap", listen=False)]) as f:
        results = by_target(f.run(AdfsProbeCheck()))
    assert results["wap01"].status is Status.FAIL
    assert results["wap01"].details["probe"]["failure"] == "refused"


# --- adfs.clock_skew --------------------------------------------------------------------------

def _skew(tmp_path: Path, adfs: float, wap: float, local_offset: float = 0.0) -> dict:
    def now() -> dt.datetime:
        return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=local_offset)

    with farm(tmp_path, [NodeSpec("adfs01", "adfs", skew=adfs),
                         NodeSpec("wap01", "wap", skew=wap)]) as f:
        return by_target(f.run(AdfsClockSkewCheck(), now=now))


def test_clocks_in_step(tmp_path: Path) -> None:
    results = _skew(tmp_path, 0, 0)
    assert {r.status for r in results.values()} == {Status.PASS}
    # within what the check itself says it can know (half the exchange plus the Date
    # header's second), not a fixed 1.5 s a stalled exchange on a busy machine exceeds
    wap, adfs = results["wap01"].details, results["adfs01"].details
    assert abs(wap["offset_s"]) <= wap["uncertainty_s"] + 0.01
    assert wap["uncertainty_s"] < 3  # and that is small: an exchange on loopback
    assert results["between nodes"].details["spread_s"] <= \
        wap["uncertainty_s"] + adfs["uncertainty_s"] + 0.01


def test_wap_three_minutes_ahead_warns(tmp_path: Path) -> None:
    results = _skew(tmp_path, 0, 180)
    assert results["adfs01"].status is Status.PASS
    assert results["wap01"].status is Status.WARN
    assert "3.0 min ahead" in results["wap01"].summary.en
    assert "3,0 min före" in results["wap01"].summary.sv
    assert results["between nodes"].status is Status.WARN


def test_wap_six_minutes_behind_fails(tmp_path: Path) -> None:
    results = _skew(tmp_path, 0, -360)
    assert results["wap01"].status is Status.FAIL
    between = results["between nodes"]
    assert between.status is Status.FAIL
    assert "proxy trust" in between.summary.en
    assert between.remediation == AdfsClockSkewCheck.remediation["farm"]


def test_this_machine_wrong_when_servers_agree(tmp_path: Path) -> None:
    results = _skew(tmp_path, 0, 0, local_offset=-600)
    assert results["adfs01"].status is Status.WARN
    assert results["adfs01"].remediation == AdfsClockSkewCheck.remediation["local"]
    assert results["between nodes"].status is Status.PASS


def test_clock_read_over_https_when_http_is_closed(tmp_path: Path) -> None:
    with farm(tmp_path, [NodeSpec("adfs01", "adfs", skew=200)]) as f:
        f.nodes["adfs01"].close_http()
        results = by_target(f.run(AdfsClockSkewCheck()))
    result = results["adfs01"]
    assert result.status is Status.WARN
    assert [a["scheme"] for a in result.details["attempts"]] == ["http", "https"]


# --- the simulator itself ---------------------------------------------------------------------

def test_simulator_start_makes_no_reverse_dns_query(monkeypatch: pytest.MonkeyPatch) -> None:
    # http.server's server_bind calls socket.getfqdn(): a PTR query to the real resolver
    import socket

    from accessready.agent.demo.simulators.adfs import AdfsSimulator

    def no_reverse_dns(name: str = "") -> str:
        raise AssertionError(f"getfqdn({name!r}) asked the machine's resolver")

    monkeypatch.setattr(socket, "getfqdn", no_reverse_dns)
    cert, key = certificates().valid
    node = AdfsSimulator("adfs", FS, cert, key, metadata())
    try:
        node.start()
        assert all(s.server_name == "127.0.0.1" for s in node._servers)
    finally:
        node.stop()
