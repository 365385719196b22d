"""remote.rdp, remote.winrm and remote.ssh against simulators, recorded bytes and hostile
peers; and the verdict rule they feed (an unreachable AD FS/WAP server blocks).

Recorded RDP answers: ``WIN_NLA_REQUIRED`` is the reply of a Windows host that requires NLA
to a request without CredSSP (RDP_NEG_FAILURE, code 5 HYBRID_REQUIRED_BY_SERVER); the same
19 bytes are masscan's self-test sample for that case (robertdavidgraham/masscan
``src/proto-rdp.c``, ``rdp_selftest`` "test2"). ``WIN_HYBRID_EX`` is Windows' RDP_NEG_RSP
selecting CredSSP with flags 0x1F, as in nmap-service-probes' "Microsoft Terminal Services"
signature. xrdp's answers are the lab captures of reference §C.2.
"""

from __future__ import annotations

import time

import paramiko
import pytest

from accessready.agent.core.model import Status, Verdict
from accessready.agent.demo.simulators import pki
from accessready.agent.demo.simulators.rdp import RdpSimulator
from accessready.agent.demo.simulators.ssh import SshSimulator, SshUser
from accessready.agent.demo.simulators.wsman import SimUser, WsmanSimulator
from accessready.checks import remote

from .hostile import HostileServer
from .recordings import load_recordings
from .simhelpers import PASSWORD, USER, ReplayServer, by_id, closed_port, profile_from, run_profile

CC = "03 00 00 13 0e d0 00 00 12 34 00"
WIN_NLA_REQUIRED = bytes.fromhex(CC + "03 00 08 00 05 00 00 00")
WIN_HYBRID_EX = bytes.fromhex(CC + "02 1f 08 00 08 00 00 00")
XRDP_SSL = bytes.fromhex(CC + "02 01 08 00 01 00 00 00")
XRDP_RDP = bytes.fromhex(CC + "02 01 08 00 00 00 00 00")


def server_toml(name: str, address: str = "127.0.0.1", roles: str = '["adfs"]',
                remote_: str = '["rdp"]', extra: str = "") -> str:
    return f"""
[[servers]]
name = "{name}"
address = "{address}"
roles = {roles}
remote = {remote_}
{extra}
"""


def run_one(check, body: str, tmp_path, **kw):
    return run_profile(profile_from(body, tmp_path), [check], password=None, **kw)


# --- RDP ---------------------------------------------------------------------------------

def _windows(request: bytes) -> bytes:
    asked = int.from_bytes(request[-4:], "little")
    return WIN_HYBRID_EX if asked & 0x02 else WIN_NLA_REQUIRED


def _xrdp(request: bytes) -> bytes:
    asked = int.from_bytes(request[-4:], "little")
    return XRDP_SSL if asked & 0x01 else XRDP_RDP


def test_rdp_recorded_windows_nla_required(tmp_path) -> None:
    server = ReplayServer(_windows)
    try:
        [result] = run_one(remote.RdpCheck, server_toml(
            "adfs01", extra=f"rdp = {{ port = {server.port} }}"), tmp_path)
    finally:
        server.stop()
    assert result.status is Status.PASS, result.summary.en
    assert "NLA (CredSSP) is required" in result.summary.en
    assert "krävs" in result.summary.sv
    assessment = result.details["assessment"]
    assert assessment["nla_required"] is True
    assert assessment["accepted_protocol_names"] == ["HYBRID_EX"]
    assert result.details["probes"][0]["reply"]["failure_name"] == "HYBRID_REQUIRED_BY_SERVER"


def test_rdp_xrdp_like_selects_tls_when_credssp_is_asked(tmp_path) -> None:
    server = ReplayServer(_xrdp)
    try:
        [result] = run_one(remote.RdpCheck, server_toml(
            "adfs01", extra=f"rdp = {{ port = {server.port} }}"), tmp_path)
    finally:
        server.stop()
    assert result.status is Status.WARN
    assert result.details["assessment"]["nla_required"] is False
    assert result.details["assessment"]["nla_supported"] is False
    assert "asked for CredSSP, got TLS" in result.summary.en
    assert result.remediation is not None and "RDP" in result.remediation.en


def test_rdp_simulator_policies(tmp_path) -> None:
    for policy, status in (("nla_required", Status.PASS), ("tls", Status.WARN)):
        sim = RdpSimulator(policy).start()
        try:
            [result] = run_one(remote.RdpCheck, server_toml(
                "adfs01", extra=f"rdp = {{ port = {sim.port} }}"), tmp_path)
        finally:
            sim.stop()
        assert result.status is status


@pytest.mark.parametrize("answers,codes", [
    ("all", "42 (0x2A)"),  # every request refused with a code RDP does not define
    ("but_credssp", "42 (0x2A)"),  # CredSSP accepted, the rest refused that way
])
def test_rdp_unknown_failure_code_is_not_read_as_nla_not_required(tmp_path, answers,
                                                                  codes) -> None:
    odd = bytes.fromhex(CC + "03 00 08 00 2a 00 00 00")
    if answers == "all":
        server = ReplayServer(lambda _: odd)
    else:
        server = ReplayServer(lambda r: WIN_HYBRID_EX if r[-4] & 0x02 else odd)
    try:
        [result] = run_one(remote.RdpCheck, server_toml(
            "adfs01", extra=f"rdp = {{ port = {server.port} }}"), tmp_path)
    finally:
        server.stop()
    assert "NLA is not required" not in result.summary.en
    assert "NLA krävs inte" not in result.summary.sv
    assert f"could not tell whether NLA is required: the server refused with failure code " \
           f"{codes}, which RDP does not define" in result.summary.en
    assert f"kunde inte avgöra om NLA krävs: servern avvisade med felkod {codes}" \
        in result.summary.sv
    assert result.status is Status.WARN  # RDP answers: reachable, NLA undecided
    assert result.remediation == remote.RdpCheck.remediation["nla_unknown"]
    assert result.details["assessment"]["unknown_failure_codes"] == [42]
    assert result.details["probes"][0]["reply"]["failure_name"] == "UNKNOWN(42)"


def test_rdp_simulator_unknown_failure_policy(tmp_path) -> None:
    sim = RdpSimulator("unknown_failure").start()
    try:
        [result] = run_one(remote.RdpCheck, server_toml(
            "adfs01", extra=f"rdp = {{ port = {sim.port} }}"), tmp_path)
    finally:
        sim.stop()
    assert result.details["assessment"]["nla_required"] is None
    assert result.details["assessment"]["nla_supported"] is True
    assert "could not tell whether NLA is required" in result.summary.en


def test_rdp_not_rdp_refused_and_silent(tmp_path) -> None:
    http = ReplayServer(lambda _: b"HTTP/1.1 400 Bad Request\r\n\r\n")
    silent = HostileServer("silent").start()
    try:
        body = (server_toml("web", extra=f"rdp = {{ port = {http.port} }}")
                + server_toml("closed", extra=f"rdp = {{ port = {closed_port()} }}")
                + server_toml("silent", extra=f"rdp = {{ port = {silent.port} }}"))
        started = time.monotonic()
        results = run_one(remote.RdpCheck, body, tmp_path, timeout=3.0)
        elapsed = time.monotonic() - started
    finally:
        http.stop()
        silent.stop()
    by_target = {r.target: r for r in results}
    assert by_target["web"].status is Status.FAIL and "not with RDP" in by_target["web"].summary.en
    assert by_target["closed"].status is Status.FAIL
    assert by_target["closed"].details["failure"] == "refused"
    assert by_target["silent"].status is Status.FAIL
    # it accepted the connection: not "filtered by a firewall, or down"
    assert by_target["silent"].details["failure"] == "silent"
    assert "accepted the connection" in by_target["silent"].summary.en
    assert "tog emot anslutningen" in by_target["silent"].summary.sv
    assert "filtered" not in by_target["silent"].summary.en
    # the silent peer never answers; the runner would stand in at 6 s (deadline + patience)
    assert elapsed < 5.5


# --- WinRM -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def wsman():
    sim = WsmanSimulator({USER: SimUser(PASSWORD)}, load_recordings("win2019-adfs")).start()
    yield sim
    sim.stop()


def winrm_toml(port: int, https: bool = False, transport: str = "ntlm", extra: str = "") -> str:
    return server_toml("adfs01", remote_='["winrm"]', extra=(
        f'winrm = {{ transport = "{transport}", https = {str(https).lower()}, port = {port}'
        f"{extra} }}"))


def test_winrm_identify(wsman, tmp_path) -> None:
    [result] = run_one(remote.WinrmCheck, winrm_toml(wsman.port), tmp_path)
    assert result.status is Status.PASS, result.summary.en
    assert "Microsoft Corporation OS: 0.0.0 SP: 0.0 Stack: 3.0" in result.summary.en
    assert result.details["product"]["stack_version"] == "3.0"
    assert result.details["offered_auth"] == ["Negotiate", "Basic"]


def test_winrm_says_why_the_offered_authentication_is_not_known(wsman, tmp_path,
                                                                 monkeypatch) -> None:
    """The second request is evidence only (the check stays PASS), but when it fails the
    result says so instead of silently leaving the offer out."""
    from accessready.agent.io import http

    real, calls = remote.winrm.http_request, []

    def second_fails(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(args[2])
        if len(calls) == 2:
            return http.ProbeOutcome("adfs01", b"", kind="timeout", message="no answer in 2 s")
        return real(*args, **kwargs)

    monkeypatch.setattr(remote.winrm, "http_request", second_fails)
    [result] = run_one(remote.WinrmCheck, winrm_toml(wsman.port), tmp_path)
    assert calls == ["POST", "POST"]
    assert result.status is Status.PASS, result.summary.en
    assert result.details["offered_auth"] is None
    assert result.details["offered_auth_unknown"] == \
        "the request that lists them failed: no answer in 2 s"


def test_winrm_configured_auth_not_offered(tmp_path) -> None:
    sim = WsmanSimulator({}, load_recordings("tests"), basic=False).start()
    try:
        [result] = run_one(remote.WinrmCheck, winrm_toml(sim.port, transport="basic"),
                           tmp_path)
    finally:
        sim.stop()
    assert result.status is Status.WARN
    assert "does not offer basic" in result.summary.en


def test_winrm_https_trusted_and_untrusted(tmp_path) -> None:
    ca = pki.make_ca("test")
    cert, key = pki.issue(ca, ["adfs01", "127.0.0.1"])
    files = pki.write_tls_files(tmp_path, "w", ca, cert, key)
    sim = WsmanSimulator({}, load_recordings("tests"),
                         tls=(str(files.cert_file), str(files.key_file))).start()
    try:
        [trusted] = run_one(remote.WinrmCheck, winrm_toml(
            sim.port, https=True, extra=f', ca_file = "{files.ca_file}"'), tmp_path)
        [untrusted] = run_one(remote.WinrmCheck, winrm_toml(sim.port, https=True), tmp_path)
        [plain] = run_one(remote.WinrmCheck, winrm_toml(sim.port, https=False), tmp_path)
    finally:
        sim.stop()
    assert trusted.status is Status.PASS, trusted.summary.en
    assert untrusted.status is Status.WARN and "not trusted" in untrusted.summary.en
    assert plain.status is Status.FAIL  # HTTP spoken to a TLS listener


@pytest.mark.parametrize("keeps", [True, False])
def test_winrm_asks_its_second_question_on_the_first_connection_or_resumes_it(
        tmp_path, monkeypatch, keeps: bool) -> None:
    # Issue 13: the request that lists the auth schemes goes over the connection the
    # Identify left open (http.sys keeps it: one connection and one handshake per
    # server); a server that closes after each answer gets a second connection that
    # resumes the first's verified TLS session. The result is the same either way.
    from accessready.agent.demo.simulators import wsman
    from accessready.agent.io import http

    if not keeps:  # an HTTP/1.0 server closes after every answer
        monkeypatch.setattr(wsman._Handler, "protocol_version", "HTTP/1.0")
    ca = pki.make_ca("test")
    cert, key = pki.issue(ca, ["adfs01", "127.0.0.1"])
    files = pki.write_tls_files(tmp_path, "w", ca, cert, key)
    seen: list[bool] = []
    real = http.tls_connect

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        sock, info = real(*args, **kwargs)
        seen.append(info.resumed)
        return sock, info

    monkeypatch.setattr(http, "tls_connect", spy)
    sim = WsmanSimulator({}, load_recordings("tests"),
                         tls=(str(files.cert_file), str(files.key_file))).start()
    try:
        profile = winrm_toml(sim.port, https=True, extra=f', ca_file = "{files.ca_file}"')
        [first] = run_one(remote.WinrmCheck, profile, tmp_path)
        [second] = run_one(remote.WinrmCheck, profile, tmp_path)
    finally:
        sim.stop()
    assert first.status is Status.PASS, first.summary.en
    assert first.details["offered_auth"] == second.details["offered_auth"]
    assert first.details["offered_auth"]  # the second request was answered
    # each run of the check: one connection; or a full handshake, then a resumed one
    # (nothing is kept between runs)
    assert seen == ([False, False] if keeps else [False, True, False, True])


def test_winrm_relative_ca_file_is_taken_from_the_profile_folder(tmp_path) -> None:
    ca = pki.make_ca("test")
    cert, key = pki.issue(ca, ["127.0.0.1"])
    files = pki.write_tls_files(tmp_path, "w", ca, cert, key)
    sim = WsmanSimulator({}, load_recordings("tests"),
                         tls=(str(files.cert_file), str(files.key_file))).start()
    try:
        [result] = run_one(remote.WinrmCheck, winrm_toml(
            sim.port, https=True, extra=f', ca_file = "{files.ca_file.name}"'), tmp_path)
    finally:
        sim.stop()
    assert result.status is Status.PASS


def test_winrm_not_winrm_closed_filtered(tmp_path) -> None:
    web = ReplayServer(lambda _: b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
    ssh_like = ReplayServer(lambda _: b"SSH-2.0-OpenSSH_9.2\r\n")
    silent = HostileServer("silent").start()
    try:
        results = {}
        for name, port in (("web", web.port), ("ssh", ssh_like.port),
                           ("closed", closed_port()), ("silent", silent.port)):
            [results[name]] = run_one(remote.WinrmCheck, winrm_toml(port), tmp_path,
                                      timeout=3.0)
    finally:
        web.stop()
        ssh_like.stop()
        silent.stop()
    assert results["web"].status is Status.FAIL and "HTTP 404" in results["web"].summary.en
    assert results["ssh"].status is Status.FAIL
    assert results["ssh"].details["failure"] == "protocol"
    assert results["closed"].details["failure"] == "refused"
    assert results["silent"].details["failure"] == "silent"
    assert "accepted the connection" in results["silent"].summary.en
    assert all(r.remediation is not None for r in results.values())


# --- SSH -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sshd():
    sim = SshSimulator({"eventful-support": SshUser(PASSWORD)}).start()
    yield sim
    sim.stop()


def ssh_toml(port: int, known_hosts: str | None = None) -> str:
    extra = f'ssh = {{ port = {port}' + (f', known_hosts = "{known_hosts}"' if known_hosts
                                          else "") + " }"
    return server_toml("sync01", roles='["sync"]', remote_='["ssh"]', extra=extra)


def test_ssh_known_key(sshd, tmp_path) -> None:
    path = tmp_path / "kh"
    path.write_text(sshd.known_hosts_line())
    [result] = run_one(remote.SshCheck, ssh_toml(sshd.port, str(path)), tmp_path)
    assert result.status is Status.PASS
    assert sshd.fingerprint in result.summary.en
    assert result.details["banner"].startswith("SSH-2.0-OpenSSH")


def test_ssh_unknown_key_shows_fingerprint(sshd, tmp_path) -> None:
    [result] = run_one(remote.SshCheck, ssh_toml(sshd.port, str(tmp_path / "none")), tmp_path)
    assert result.status is Status.FAIL
    assert sshd.fingerprint in result.summary.en and sshd.fingerprint in result.summary.sv
    assert "ssh-keygen -lf" in result.remediation.en


def test_ssh_changed_key(sshd, tmp_path) -> None:
    other = paramiko.ECDSAKey.generate(bits=256)
    path = tmp_path / "kh"
    path.write_text(f"[127.0.0.1]:{sshd.port} {other.get_name()} {other.get_base64()}\n")
    [result] = run_one(remote.SshCheck, ssh_toml(sshd.port, str(path)), tmp_path,
                       accept_new=True)
    assert result.status is Status.FAIL
    assert "ssh-keygen -R" in result.remediation.en


def test_ssh_accept_new_warns_and_records(sshd, tmp_path) -> None:
    path = tmp_path / "kh"
    [result] = run_one(remote.SshCheck, ssh_toml(sshd.port, str(path)), tmp_path,
                       accept_new=True)
    assert result.status is Status.WARN
    assert path.read_text() == sshd.known_hosts_line()


def test_ssh_known_hosts_resolution_order(sshd, tmp_path) -> None:
    account_file = tmp_path / "account_kh"
    account_file.write_text(sshd.known_hosts_line())
    body = f'[account]\nusername = "x"\nknown_hosts = "{account_file.name}"\n' + ssh_toml(
        sshd.port)
    [result] = run_one(remote.SshCheck, body, tmp_path)
    assert result.status is Status.PASS
    assert result.details["host_key"]["known_hosts"] == str(account_file)


def test_ssh_silent_host_fails_within_deadline(tmp_path) -> None:
    silent = HostileServer("silent").start()
    try:
        started = time.monotonic()
        [result] = run_one(remote.SshCheck, ssh_toml(silent.port), tmp_path, timeout=3.0)
    finally:
        silent.stop()
    assert result.status is Status.FAIL and result.details["failure"] == "silent"
    assert "accepted the connection" in result.summary.en
    # the silent peer never answers; the runner would stand in at 6 s (deadline + patience)
    assert time.monotonic() - started < 5.5


# --- verdict -------------------------------------------------------------------------------

def test_unreachable_adfs_server_blocks_the_verdict(tmp_path) -> None:
    from accessready.agent.app.run import run_checks
    from accessready.agent.io.transports.sessions import Sessions
    from accessready.agent.plugin.runner import RunOptions

    body = server_toml("adfs01", remote_='["rdp", "winrm"]', extra=(
        f"rdp = {{ port = {closed_port()} }}\n"
        f'winrm = {{ transport = "ntlm", https = false, port = {closed_port()} }}'))
    profile = profile_from(body, tmp_path)
    run = run_checks(profile, RunOptions(timeout=3), checks=[c() for c in remote.CHECKS],
                     services={"sessions": Sessions(profile)}, interactive=False)
    assert {r.status for r in by_id(list(run.results), "remote.rdp")} == {Status.FAIL}
    assert run.verdict is Verdict.NOT_READY
    outcome = next(o for o in run.requirements if o.requirement.value == "remote")
    assert outcome.blocking and "adfs01" in outcome.reason.en


def test_cli_accept_new_host_keys_flag(sshd, tmp_path) -> None:
    from click.testing import CliRunner

    from accessready.agent.cli.main import cli

    known = tmp_path / "known_hosts"
    profile = tmp_path / "p.toml"
    profile.write_text('[customer]\nname = "T"\n[access]\nmethods = ["teamviewer"]\n'
                       + ssh_toml(sshd.port, str(known)).replace('["sync"]', '["wap"]'))
    runner = CliRunner()
    plain = runner.invoke(cli, ["run", str(profile), "--only", "remote.ssh", "-q"])
    assert plain.exit_code == 2 and not known.exists()
    accepted = runner.invoke(cli, ["run", str(profile), "--only", "remote.ssh", "-q",
                                   "--accept-new-host-keys"])
    assert accepted.exit_code == 1, accepted.output  # a warning: confirm the fingerprint
    assert known.read_text() == sshd.known_hosts_line()
