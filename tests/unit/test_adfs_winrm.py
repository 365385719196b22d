"""adfs.service, adfs.certificates, wap.health and wap.proxy_trust through real pywinrm
against the WS-Management simulator, replaying recorded PowerShell JSON
(agent/demo/simulators/recordings/adfs-farm.json and its overlays in tests/fixtures/recordings)."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from accessready.agent.core.model import Result, Status
from accessready.agent.core.profile import parse_profile
from accessready.agent.demo.simulators.wsman import SimUser, WsmanSimulator
from accessready.agent.io.dns import Resolvers
from accessready.agent.io.secrets import Secret
from accessready.agent.io.transports.base import CommandResult
from accessready.agent.io.transports.sessions import Sessions
from accessready.agent.plugin.checkapi import CheckContext
from accessready.checks.adfs.certificates import CERTIFICATES_SCRIPT, AdfsCertificatesCheck
from accessready.checks.adfs.service import SERVICE_SCRIPT, AdfsServiceCheck
from accessready.checks.wap.health import WAP_HEALTH_SCRIPT, WapHealthCheck
from accessready.checks.wap.proxy_trust import PROXY_TRUST_SCRIPT, WapProxyTrustCheck
from tests.unit.adfs_farm import run_check

from .recordings import load_recordings

FS = "sts.exempel.se"  # the name the recordings carry
USER = "EXEMPEL\\eventful-support"
PASSWORD = "Sommar2026!"


def profile_text(adfs_port: int, wap_port: int, with_adfs: bool = True,
                 wap_remote: str = '["winrm"]') -> str:
    text = f"""
[customer]
name = "Kund"
[access]
methods = ["teamviewer"]
[account]
username = '{USER}'
password = {{ env = "ACCESSREADY_TEST_PW" }}
[[servers]]
name = "adfs01"
address = "127.0.0.1"
roles = ["adfs"]
remote = ["winrm"]
winrm = {{ https = false, port = {adfs_port} }}
[[servers]]
name = "wap01"
address = "127.0.0.1"
roles = ["wap"]
remote = {wap_remote}
winrm = {{ https = false, port = {wap_port} }}
"""
    if with_adfs:
        text += f'[adfs]\nfederation_service = "{FS}"\ncert_warn_days = 30\n'
    return text


@contextmanager
def farm(adfs_overlay: str | None = None, wap_overlay: str | None = None,
         **profile_kw: object) -> Iterator[tuple]:
    """Two WS-Man simulators (ADFS01, WAP01) and a profile pointing at them."""
    users = {USER: SimUser(PASSWORD)}
    adfs_rec = load_recordings("win2019-adfs", "adfs-farm",
                               *([adfs_overlay] if adfs_overlay else []))
    wap_rec = load_recordings("win2022-wap", "adfs-farm",
                              *([wap_overlay] if wap_overlay else []))
    adfs = WsmanSimulator(users, adfs_rec, computer="ADFS01").start()
    wap = WsmanSimulator(users, wap_rec, computer="WAP01").start()
    profile = parse_profile(profile_text(adfs.port, wap.port, **profile_kw))
    sessions = Sessions(profile, Secret(PASSWORD))
    try:
        yield profile, sessions, adfs, wap
    finally:
        sessions.close()
        adfs.stop()
        wap.stop()


def run(check, profile, sessions) -> dict[str, Result]:
    results: dict[str, Result] = {}
    for target in check.targets(profile):
        ctx = CheckContext(profile=profile, deadline=time.monotonic() + 30,
                           services={"dns": Resolvers(profile.network), "sessions": sessions})
        result = check.run(ctx, target)
        results[result.target] = result
    return results


def test_healthy_farm() -> None:
    with farm() as (profile, sessions, adfs, wap):
        service = run(AdfsServiceCheck(), profile, sessions)["adfs01"]
        certs = run(AdfsCertificatesCheck(), profile, sessions)["adfs01"]
        health = run(WapHealthCheck(), profile, sessions)["wap01"]
        trust = run(WapProxyTrustCheck(), profile, sessions)["wap01"]
        shells = [sum(1 for e in sim.log if e["op"] == "create") for sim in (adfs, wap)]
        commands = [sum(1 for e in sim.log if e["op"] == "command") for sim in (adfs, wap)]
    assert service.status is Status.PASS, service.summary.en
    assert "behaviour level 4" in service.summary.en and "2 nodes" in service.summary.en
    assert certs.status is Status.PASS, certs.summary.en
    assert "AutoCertificateRollover on" in certs.summary.en
    assert health.status is Status.PASS, health.summary.en
    assert "Skolportalen" in health.summary.en
    assert trust.status is Status.PASS, trust.summary.en
    assert "reaches https://sts.exempel.se:443/adfs/services/trust/mex" in trust.summary.en
    # one WinRM shell per server, reused by both checks that ran there
    assert shells == [1, 1]
    assert commands == [2, 2]


def test_stopped_adfs_service_fails() -> None:
    with farm(adfs_overlay="adfs-stopped") as (profile, sessions, _, _):
        service = run(AdfsServiceCheck(), profile, sessions)["adfs01"]
        certs = run(AdfsCertificatesCheck(), profile, sessions)["adfs01"]
    assert service.status is Status.FAIL
    assert "Stopped" in service.summary.en and "Stopped" in service.summary.sv
    assert service.remediation == AdfsServiceCheck.remediation["stopped"]
    assert certs.status is Status.ERROR
    assert "see adfs.service" in certs.summary.en


def test_expired_proxy_trust_fails() -> None:
    with farm(wap_overlay="wap-proxytrust-expired") as (profile, sessions, _, _):
        trust = run(WapProxyTrustCheck(), profile, sessions)["wap01"]
        health = run(WapHealthCheck(), profile, sessions)["wap01"]
    assert trust.status is Status.FAIL
    assert "expired" in trust.summary.en and "12 event(s) 422" in trust.summary.en
    assert trust.remediation == WapProxyTrustCheck.remediation["expired"]
    assert "Install-WebApplicationProxy" in trust.remediation.sv
    assert trust.details["newest_proxy_trust"]["hours_left"] < 0
    assert health.status is Status.FAIL
    assert "AD FS Proxy: Error" in health.summary.en


def test_wrong_password_is_an_error_not_a_crash() -> None:
    with farm() as (profile, _, _, _):
        sessions = Sessions(profile, Secret("Fel-Losen-4711"))
        result = run(AdfsServiceCheck(), profile, sessions)["adfs01"]
        sessions.close()
    assert result.status is Status.ERROR
    assert result.details["failure"] == "auth_failed"
    assert "Fel-Losen-4711" not in json.dumps(result.details) + result.summary.en


def test_without_adfs_section_still_runs_and_uses_farm_name() -> None:
    with farm(with_adfs=False) as (profile, sessions, _, _):
        certs = run(AdfsCertificatesCheck(), profile, sessions)["adfs01"]
        trust = run(WapProxyTrustCheck(), profile, sessions)["wap01"]
    assert certs.status is Status.PASS, certs.summary.en
    assert trust.status is Status.PASS


def test_server_without_winrm_is_skipped_with_reason() -> None:
    with farm(wap_remote='["rdp"]') as (profile, sessions, _, _):
        results = run(WapHealthCheck(), profile, sessions)
        (skip,) = run_check(WapHealthCheck(), profile)  # applies(): no WAP lists winrm
    assert results["wap01"].status is Status.SKIP
    assert results["wap01"].details["reason"] == "no_command_method"
    assert skip.status is Status.SKIP and "winrm" in skip.summary.en


def test_not_applicable_without_wap_servers() -> None:
    profile = parse_profile('[customer]\nname = "X"\n[access]\nmethods = ["teamviewer"]\n')
    assert "no WAP server" in WapProxyTrustCheck().applies(profile).en
    assert "no AD FS server" in AdfsServiceCheck().applies(profile).en


# --- judgement from JSON alone (a fake transport), for the edge cases ----------------------

class FakeTransport:
    method = "winrm"

    def __init__(self, payload: object, exit_code: int = 0) -> None:
        self.payload = payload
        self.exit_code = exit_code
        self.scripts: list[tuple[str, dict]] = []

    def run_powershell(self, script, timeout, params=None) -> CommandResult:
        self.scripts.append((script, dict(params or {})))
        return CommandResult(json.dumps(self.payload), "", self.exit_code)

    def close(self) -> None:
        pass


class FakeSessions:
    def __init__(self, transport: FakeTransport) -> None:
        self.transport = transport

    def get(self, server, method, timeout):
        return self.transport


def judge(check, payload: object, now: dt.datetime | None = None) -> Result:
    profile = parse_profile(profile_text(5985, 5986))
    transport = FakeTransport(payload)
    target = next(t for t in check.targets(profile))
    ctx = CheckContext(profile=profile, deadline=time.monotonic() + 5,
                       services={"sessions": FakeSessions(transport)},
                       now=lambda: now or dt.datetime.now(dt.UTC))
    return check.run(ctx, target)


def iso(days: float) -> str:
    when = dt.datetime.now(dt.UTC) + dt.timedelta(days=days)
    return when.strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def cert_payload(signing_days: float = 200, secondary: float | None = None,
                 bindings: list | None = None, ssl_names: list | None = None) -> dict:
    certs = [{"CertificateType": "Token-Signing", "IsPrimary": True, "Thumbprint": "A1",
              "Certificate": {"Subject": "CN=ADFS Signing", "NotAfter": iso(signing_days)}}]
    if secondary is not None:
        certs.append({"CertificateType": "Token-Signing", "IsPrimary": False, "Thumbprint": "B2",
                      "Certificate": {"Subject": "CN=ADFS Signing", "NotAfter": iso(secondary)}})
    return {"HostName": FS, "HttpsPort": 443, "TlsClientPort": 49443,
            "AutoCertificateRollover": False, "Certificates": certs,
            "SslBindings": bindings if bindings is not None else [
                {"HostName": FS, "PortNumber": 443, "CertificateHash": "C3"},
                {"HostName": FS, "PortNumber": 49443, "CertificateHash": "C3"}],
            "SslCertificates": [{"Thumbprint": "C3", "NotAfter": iso(300),
                                 "DnsNames": ssl_names or ["*.exempel.se"]}]}


def test_certificates_expired_signing_fails() -> None:
    result = judge(AdfsCertificatesCheck(), cert_payload(signing_days=-2))
    assert result.status is Status.FAIL
    assert result.remediation == AdfsCertificatesCheck.remediation["expired"]


def test_certificates_pending_rollover_warns() -> None:
    result = judge(AdfsCertificatesCheck(), cert_payload(signing_days=12, secondary=365))
    assert result.status is Status.WARN
    assert "expires in 11 days" in result.summary.en or "expires in 12 days" in \
        result.summary.en
    assert "rollover is pending" in result.summary.en


def test_certificates_missing_binding_and_wrong_name() -> None:
    result = judge(AdfsCertificatesCheck(), cert_payload(
        bindings=[{"HostName": "localhost", "PortNumber": 443, "CertificateHash": "C3"}]))
    assert result.status is Status.FAIL
    assert result.remediation == AdfsCertificatesCheck.remediation["no_binding"]
    wrong = judge(AdfsCertificatesCheck(), cert_payload(ssl_names=["www.exempel.se"]))
    assert wrong.status is Status.FAIL
    assert wrong.remediation == AdfsCertificatesCheck.remediation["ssl_name"]


def test_proxy_trust_renewal_stalled_warns() -> None:
    payload = {"Certificates": [{"Subject": "CN=ADFS ProxyTrust - WAP01",
                                 "NotAfter": iso(0.5)}],
               "Reach": {"Url": "u", "Ok": True, "Status": 200}, "Events422": 0, "Errors": []}
    result = judge(WapProxyTrustCheck(), payload)
    assert result.status is Status.WARN
    assert result.remediation == WapProxyTrustCheck.remediation["stalled"]
    assert result.due == result.details["newest_proxy_trust"]["not_after"][:10]


def test_proxy_trust_missing_and_unreachable() -> None:
    payload = {"Certificates": [], "Reach": {"Url": "https://sts", "Ok": False,
                                             "Status": None, "Error": "name not resolved"},
               "Events422": None, "Errors": []}
    result = judge(WapProxyTrustCheck(), payload)
    assert result.status is Status.FAIL
    assert "No proxy trust certificate" in result.summary.en
    assert "cannot reach" in result.summary.en


def test_proxy_trust_passes_the_service_name_as_data() -> None:
    profile = parse_profile(profile_text(5985, 5986))
    transport = FakeTransport({"Certificates": [], "Errors": []})
    (target,) = WapProxyTrustCheck().targets(profile)
    ctx = CheckContext(profile=profile, deadline=time.monotonic() + 5,
                       services={"sessions": FakeSessions(transport)})
    WapProxyTrustCheck().run(ctx, target)
    script, params = transport.scripts[0]
    assert params == {"FederationService": FS, "FsPort": "443"}
    assert FS not in script  # never spliced into the script text


def test_service_level_one_and_name_mismatch_warn() -> None:
    payload = {"Service": {"Status": "Running", "StartType": "Manual"},
               "Properties": {"HostName": "fs.other.example", "CurrentFarmBehavior": 1},
               "Farm": None, "Sync": {"Role": "SecondaryComputer", "LastSyncStatus": 1,
                                      "PrimaryComputerName": "adfs01"}, "Errors": []}
    result = judge(AdfsServiceCheck(), payload)
    assert result.status is Status.WARN
    for words in ("Manual", "fs.other.example", "behaviour level 1", "synchronisation"):
        assert words in result.summary.en


def test_non_json_output_is_an_error() -> None:
    result = judge(AdfsServiceCheck(), ["not", "an", "object"])
    assert result.status is Status.ERROR
    assert result.remediation == AdfsServiceCheck.remediation["output"]


def test_scripts_carry_their_recording_markers_and_end_in_json() -> None:
    for name, script in (("adfs.service", SERVICE_SCRIPT),
                         ("adfs.certificates", CERTIFICATES_SCRIPT),
                         ("wap.health", WAP_HEALTH_SCRIPT),
                         ("wap.proxy_trust", PROXY_TRUST_SCRIPT)):
        assert script.startswith(f"# accessready:{name}\n")
        assert "ConvertTo-Json" in script
        assert "Format-" not in script and "Out-String" not in script  # never scraped text


@pytest.mark.parametrize("check", [AdfsServiceCheck(), WapHealthCheck()])
def test_a_missing_or_stopped_service_fails_the_same_way_in_adfs_and_wap(check) -> None:
    missing = judge(check, {"Service": None})
    assert missing.status is Status.FAIL
    assert missing.remediation == check.remediation["not_installed"]
    stopped = judge(check, {"Service": {"Status": "Stopped", "StartType": "Automatic"}})
    assert stopped.status is Status.FAIL
    assert "is Stopped" in stopped.summary.en and "är Stopped" in stopped.summary.sv
    assert stopped.remediation == check.remediation["stopped"]
    blank = judge(check, {"Service": {"Status": None}})
    assert "not running" in blank.summary.en and "inte igång" in blank.summary.sv
