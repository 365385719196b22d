"""remote.ssh, remote.rdp and account.* against the lab's real openssh-server and xrdp.

The SSH and RDP hosts sit on the internal network (192.0.2.0/24), reachable from the client
only through the split tunnel, so every test here runs with ``vpn_split`` up and the checks
run inside the client namespace. Cross-checks: the lab's own record of sshd's host key
(and nmap ``ssh-hostkey``), nmap ``rdp-enum-encryption`` — whose "CredSSP (NLA): SUCCESS"
against xrdp is exactly the misreading remote.rdp must not make.
"""

from __future__ import annotations

import datetime as dt
import time

import paramiko
import pytest

from accessready.agent.app.run import run_checks
from accessready.agent.core.model import Status, Verdict
from accessready.agent.core.profile import parse_profile
from accessready.agent.io.secrets import Secret
from accessready.agent.io.transports.base import TransportError
from accessready.agent.io.transports.sessions import SessionOptions, Sessions
from accessready.agent.plugin.runner import RunOptions
from accessready.checks import account, remote
from tests.lab.daemons.sshd import SUPPORT_SUDO_RULE

pytestmark = pytest.mark.lab

ENV = "AR_LAB_SUPPORT_PASSWORD"
CUSTOMER = '[customer]\nname = "Labbkommun"\n[access]\nmethods = ["teamviewer"]\n'


def lab_toml(lab, ssh, rdp=None, *, known_hosts: str | None = None, key: bool = False,
             ssh_address: str | None = None) -> str:
    text = f"""
[account]
username = "{lab.support.username}"
password = {{ env = "{ENV}" }}
known_hosts = "{known_hosts or ssh.extra['known_hosts']}"
min_password_days = 14
{f'ssh_key = "{lab.support.key.private_key}"' if key else ""}

[[servers]]
name = "ssh01"
address = "{ssh_address or ssh.address}"
roles = ["sync"]
remote = ["ssh"]
"""
    if rdp is not None:
        text += f"""
[[servers]]
name = "rdp01"
address = "{rdp.address}"
roles = ["adfs"]
remote = ["rdp"]
rdp = {{ port = {rdp.port} }}
"""
    return text


def run_in_client(lab, toml: str, checks, *, password: str | None, timeout: float = 8.0,
                  accept_new: bool = False):
    profile = parse_profile(CUSTOMER + toml, str(lab.workdir / "lab-customer.toml"))

    def go():
        sessions = Sessions(profile, Secret(password) if password else None,
                            SessionOptions(accept_new_host_keys=accept_new, use_agent=False))
        return run_checks(profile, RunOptions(timeout=timeout), checks=[c() for c in checks],
                          services={"sessions": sessions}, interactive=False)

    return lab.in_netns("client", go, timeout=timeout * 6)


def results(run) -> dict[tuple[str, str], object]:
    return {(r.check_id, r.target): r for r in run.results}


@pytest.fixture(autouse=True)
def _password_env(monkeypatch, lab):
    monkeypatch.setenv(ENV, lab.support.password)


def test_password_login_status_rights_and_known_key(lab, vpn_split, lab_ssh) -> None:
    run = run_in_client(lab, lab_toml(lab, lab_ssh), [*account.CHECKS, remote.SshCheck],
                        password=lab.support.password)
    got = results(run)
    login = got["account.login", "ssh01"]
    assert login.status is Status.PASS, login.summary.en
    assert login.details["identity_parsed"]["user"] == lab.support.username
    assert login.details["login"]["auth"] == [{"method": "password", "result": "accepted"}]
    probe = got["remote.ssh", "ssh01"]
    assert probe.status is Status.PASS, probe.summary.en
    assert probe.details["host_key"]["fingerprint"] == lab_ssh.extra["host_key_sha256"]
    assert probe.details["banner"].startswith("SSH-2.0-OpenSSH")
    status = got["account.status", "ssh01"]
    # the lab's private /etc/shadow is root:shadow 0640, so the setgid chage -l answers
    assert status.status is Status.PASS, status.summary.en
    assert status.summary.en.startswith("chage:"), status.summary.en
    assert "password never expires" in status.summary.en
    rights = got["account.privileges", "ssh01"]
    # the lab's support user has a NOPASSWD sudo rule; the sync role needs one
    assert rights.status is Status.PASS, rights.summary.en
    assert rights.details["parsed"]["user"] == lab.support.username
    assert rights.details["sudo"]["state"] == "rules"


def test_key_login(lab, vpn_split, lab_ssh) -> None:
    profile = parse_profile(CUSTOMER + lab_toml(lab, lab_ssh, key=True),
                            str(lab.workdir / "k.toml"))
    server = profile.servers[0]

    def go():
        sessions = Sessions(profile, None, SessionOptions(use_agent=False))
        try:
            transport = sessions.get(server, "ssh", 8)
            return transport.evidence()["auth"], transport.run(["id", "-un"], 5).stdout
        finally:
            sessions.close()

    attempts, user = lab.in_netns("client", go)
    assert attempts == [{"method": "publickey", "key": str(lab.support.key.private_key),
                         "result": "accepted"}]
    assert user.strip() == lab.support.username


def test_wrong_password_fails_and_blocks(lab, vpn_split, lab_ssh) -> None:
    run = run_in_client(lab, lab_toml(lab, lab_ssh), [account.LoginCheck],
                        password="Wr0ng-" + lab.support.password)
    login = results(run)["account.login", "ssh01"]
    assert login.status is Status.FAIL
    assert login.details["failure"] == "auth_failed"
    assert run.verdict is Verdict.NOT_READY


def test_expired_password_is_recognised(lab, vpn_split, lab_ssh) -> None:
    lab.sshd.set_password_expiry(-1)
    try:
        run = run_in_client(lab, lab_toml(lab, lab_ssh), [account.LoginCheck],
                            password=lab.support.password)
    finally:
        lab.sshd.set_password_expiry(None)
    login = results(run)["account.login", "ssh01"]
    assert login.status is Status.FAIL, login.summary.en
    assert login.details["failure"] == "password_expired"


def test_status_reads_the_expiry_from_chage(lab, vpn_split, lab_ssh) -> None:
    """An expiry inside min_password_days (14) warns; one far away passes; both from chage."""
    verdicts = {}
    try:
        for days in (5, 60):
            lab.sshd.set_password_expiry(days)
            run = run_in_client(lab, lab_toml(lab, lab_ssh), [account.StatusCheck],
                                password=lab.support.password)
            verdicts[days] = results(run)["account.status", "ssh01"]
    finally:
        lab.sshd.set_password_expiry(None)
    for days, result in verdicts.items():
        assert result.details["chage"]["exit_code"] == 0, result.details["chage"]
        assert result.details["ageing"]["max_days"] == "90"
        assert result.summary.en.startswith("chage:"), result.summary.en
        expires = dt.date.fromisoformat(result.details["facts"]["password_expires"])
        assert expires == _shadow_today() + dt.timedelta(days=days)
    soon, later = verdicts[5], verdicts[60]
    assert soon.status is Status.WARN, soon.summary.en
    assert soon.remediation is not None and "expires soon" in soon.remediation.en
    assert "the password expires in" in soon.summary.en
    assert later.status is Status.PASS, later.summary.en
    assert "password valid" in later.summary.en


def test_privileges_report_the_sudo_rule_and_its_absence(lab, vpn_split, lab_ssh) -> None:
    """sudo -n -l over the real sshd: the lab's rule passes the sync role; no rule warns."""
    with_rule = run_in_client(lab, lab_toml(lab, lab_ssh), [account.PrivilegesCheck],
                              password=lab.support.password)
    lab.sshd.set_sudo_rule(None)
    try:
        without = run_in_client(lab, lab_toml(lab, lab_ssh), [account.PrivilegesCheck],
                                password=lab.support.password)
    finally:
        lab.sshd.set_sudo_rule(SUPPORT_SUDO_RULE)
    rights = results(with_rule)["account.privileges", "ssh01"]
    assert rights.status is Status.PASS, rights.summary.en
    assert rights.details["sudo"]["state"] == "rules", rights.details["sudo_raw"]
    assert rights.details["sudo"]["nopasswd"] is True
    assert any("/usr/bin/journalctl" in rule for rule in rights.details["sudo"]["rules"])
    assert "may use sudo without a password" in rights.summary.en
    lacking = results(without)["account.privileges", "ssh01"]
    assert lacking.status is Status.WARN, lacking.summary.en
    # sudo asks for a password before it admits to no rules at all (listpw=any, no NOPASSWD
    # entry): with -n that is "a password is required", and no sudo/wheel/admin group
    assert lacking.details["sudo"]["state"] == "password_required", lacking.details["sudo_raw"]
    assert lacking.details["admin_groups"] == []
    assert "the sync role needs sudo" in lacking.summary.en


def test_pam_keyboard_interactive_login_and_expired_password(lab, vpn_split,
                                                              lab_ssh) -> None:
    """The second sshd (UsePAM yes, keyboard-interactive only): a login answers PAM's
    password prompt; an expired password brings PAM's change prompts, read as expired."""
    pam = lab.service("ssh_pam")
    toml = lab_toml(lab, lab_ssh).replace(
        'remote = ["ssh"]\n', f'remote = ["ssh"]\nssh = {{ port = {pam.port} }}\n')
    fine = run_in_client(lab, toml, [account.LoginCheck], password=lab.support.password)
    lab.sshd.set_password_expiry(-1)
    try:
        expired = run_in_client(lab, toml, [account.LoginCheck],
                                password=lab.support.password)
    finally:
        lab.sshd.set_password_expiry(None)
    login = results(fine)["account.login", "ssh01"]
    assert login.status is Status.PASS, login.summary.en
    assert login.details["login"]["auth"] == [{"method": "keyboard-interactive",
                                               "result": "accepted"}]
    failed = results(expired)["account.login", "ssh01"]
    assert failed.status is Status.FAIL, failed.summary.en
    assert failed.details["failure"] == "password_expired", failed.details
    assert failed.details["attempts"][-1] == {"method": "keyboard-interactive",
                                              "result": "password expired"}
    assert any("password" in p.lower() for p in failed.details["prompts"][1:])


def _shadow_today() -> dt.date:
    """The day the lab's shadow entries count from (UTC, as ``shadow_line`` does)."""
    return dt.datetime.now(dt.UTC).date()


def test_unknown_host_key_fails_with_the_fingerprint(lab, vpn_split, lab_ssh, lab_peers,
                                                     tmp_path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    run = run_in_client(lab, lab_toml(lab, lab_ssh, known_hosts=str(empty)),
                        [remote.SshCheck, account.LoginCheck], password=lab.support.password)
    got = results(run)
    probe = got["remote.ssh", "ssh01"]
    assert probe.status is Status.FAIL
    assert lab_ssh.extra["host_key_sha256"] in probe.summary.en
    assert got["account.login", "ssh01"].status is Status.ERROR  # no password sent
    # nmap sees the same key (it reports MD5)
    md5 = {k["fingerprint"] for k in lab_peers.ssh_hostkeys(lab_ssh.address)}
    assert lab_ssh.extra["host_key_md5"].replace(":", "") in md5


def test_changed_host_key_fails(lab, vpn_split, lab_ssh, tmp_path) -> None:
    other = paramiko.ECDSAKey.generate(bits=256)
    path = tmp_path / "known_hosts"
    path.write_text(f"{lab_ssh.address} {other.get_name()} {other.get_base64()}\n"
                    f"{lab_ssh.address} ssh-ed25519 "
                    f"{paramiko.Ed25519Key(filename=str(lab.support.key.private_key)).get_base64()}\n")
    run = run_in_client(lab, lab_toml(lab, lab_ssh, known_hosts=str(path)),
                        [remote.SshCheck], password=None, accept_new=True)
    probe = results(run)["remote.ssh", "ssh01"]
    assert probe.status is Status.FAIL
    assert probe.details["host_key"]["status"] == "mismatch"
    assert probe.details["host_key"]["fingerprint"] == lab_ssh.extra["host_key_sha256"]


def test_silent_host_fails_within_the_deadline(lab, vpn_split, lab_ssh, lab_drop) -> None:
    address = lab_drop.extra.get("inside_address") or lab_drop.address
    started = time.monotonic()
    run = run_in_client(lab, lab_toml(lab, lab_ssh, ssh_address=address), [remote.SshCheck],
                        password=None, timeout=3.0)
    elapsed = time.monotonic() - started
    probe = results(run)["remote.ssh", "ssh01"]
    assert probe.status is Status.FAIL
    assert probe.details["failure"] == "timeout"
    assert elapsed < 6.0


def test_xrdp_speaks_rdp_without_nla(lab, vpn_split, lab_ssh, lab_rdp, lab_peers) -> None:
    run = run_in_client(lab, lab_toml(lab, lab_ssh, lab_rdp), [remote.RdpCheck],
                        password=None)
    result = results(run)["remote.rdp", "rdp01"]
    assessment = result.details["assessment"]
    assert assessment["speaks_rdp"] is True
    assert assessment["nla_required"] is False
    assert assessment["nla_supported"] is False
    hybrid_probe = result.details["probes"][-1]
    assert hybrid_probe["requested"] == "SSL|HYBRID|HYBRID_EX"
    assert hybrid_probe["reply"]["selected_protocol_name"] == "SSL"
    assert result.status is Status.WARN
    assert "asked for CredSSP, got TLS" in result.summary.en
    # nmap's rdp-enum-encryption claims NLA works here: it only checks the reply type
    enum = lab_peers.rdp_enum_encryption(lab_rdp.address)
    assert enum.get("CredSSP (NLA)") == "SUCCESS"


def test_sessions_error_kinds_in_the_lab(lab, vpn_split, lab_ssh, lab_reject) -> None:
    profile = parse_profile(CUSTOMER + lab_toml(
        lab, lab_ssh, ssh_address=lab_reject.extra.get("inside_address") or lab_reject.address),
        str(lab.workdir / "r.toml"))

    def go():
        sessions = Sessions(profile, Secret(lab.support.password),
                            SessionOptions(use_agent=False))
        try:
            sessions.get(profile.servers[0], "ssh", 4)
        except TransportError as exc:
            return exc.kind
        return "connected"

    assert lab.in_netns("client", go) == "refused"
