"""known_hosts as OpenSSH writes it, against the SSH simulator on loopback.

Pins: with --accept-new-host-keys a server presenting a key type known_hosts does not hold,
for a host known by other types, is refused and nothing is sent or added (a man in the
middle need only offer another type); a ``@revoked`` key is refused; ``@cert-authority``
lines (for any host) and broken lines do not break the hosts the file does know; hashed
names still match.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

import paramiko
import pytest

from accessready.agent.demo.simulators.ssh import SshSimulator, SshUser
from accessready.agent.io.secrets import Secret
from accessready.agent.io.transports.base import TransportError
from accessready.agent.io.transports.ssh import KnownHosts, SshCredentials, login, probe
from accessready.checks import account, remote

from .simhelpers import PASSWORD, profile_from, run_profile

USER = "eventful-support"


@pytest.fixture(scope="module")
def ed25519_sim(tmp_path_factory):
    """A server that offers only an Ed25519 host key (paramiko cannot generate one;
    cryptography writes it in OpenSSH format)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path = tmp_path_factory.mktemp("hostkey") / "ssh_host_ed25519_key"
    path.write_bytes(Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption()))
    server = SshSimulator({USER: SshUser(PASSWORD)},
                          host_key=paramiko.Ed25519Key.from_private_key_file(str(path))).start()
    yield server
    server.stop()


def ecdsa_line(name: str) -> str:
    other = paramiko.ECDSAKey.generate(bits=256)
    return f"{name} {other.get_name()} {other.get_base64()}\n"


def creds() -> SshCredentials:
    return SshCredentials(USER, Secret(PASSWORD))


def name_of(sim) -> str:
    return f"[{sim.host}]:{sim.port}"


def test_accept_new_refuses_another_key_type_for_a_known_host(ed25519_sim, tmp_path):
    path = tmp_path / "known_hosts"
    path.write_text(ecdsa_line(name_of(ed25519_sim)))
    before = path.read_text()
    start = len(ed25519_sim.log)
    with pytest.raises(TransportError) as info:
        login(ed25519_sim.host, ed25519_sim.port, KnownHosts(path, accept_new=True),
              creds(), 5)
    assert info.value.kind == "host_key_unknown"
    assert "ecdsa-sha2-nistp256" in str(info.value) and "ssh-ed25519" in str(info.value)
    assert ed25519_sim.log[start:] == []  # no password (no auth attempt at all)
    assert path.read_text() == before  # not appended
    verdict = probe(ed25519_sim.host, ed25519_sim.port, KnownHosts(path, accept_new=True),
                    5).host_key
    assert verdict.status == "unknown" and verdict.other_types_known == ("ecdsa-sha2-nistp256",)


def test_remote_ssh_and_login_report_the_other_key_type(ed25519_sim, tmp_path, monkeypatch):
    monkeypatch.setenv("AR_TEST_PW", PASSWORD)
    path = tmp_path / "known_hosts"
    path.write_text(ecdsa_line(name_of(ed25519_sim)))
    profile = profile_from(f"""
[account]
username = "{USER}"
password = {{ env = "AR_TEST_PW" }}
known_hosts = "{path}"

[[servers]]
name = "sync01"
address = "127.0.0.1"
remote = ["ssh"]
ssh = {{ port = {ed25519_sim.port} }}
""", tmp_path)
    results = {r.check_id: r for r in run_profile(
        profile, [remote.SshCheck, account.LoginCheck], accept_new=True)}
    ssh, login_result = results["remote.ssh"], results["account.login"]
    assert ssh.status.value == "fail" and "not accepted" in ssh.summary.en
    assert ssh.remediation == remote.SshCheck.remediation["host_key_other_type"]
    assert login_result.status.value == "error"
    assert login_result.remediation == account.LoginCheck.remediation["host_key_other_type"]
    assert "--accept-new-host-keys never adds it" in login_result.remediation.en


def test_revoked_key_is_refused_even_with_accept_new(ed25519_sim, tmp_path):
    key = ed25519_sim.host_key
    path = tmp_path / "known_hosts"
    path.write_text(f"@revoked * {key.get_name()} {key.get_base64()}\n"
                    f"{name_of(ed25519_sim)} {key.get_name()} {key.get_base64()}\n")
    start = len(ed25519_sim.log)
    for accept in (False, True):
        with pytest.raises(TransportError) as info:
            login(ed25519_sim.host, ed25519_sim.port, KnownHosts(path, accept_new=accept),
                  creds(), 5)
        assert info.value.kind == "host_key_mismatch" and "@revoked" in str(info.value)
    assert ed25519_sim.log[start:] == []


def test_cert_authority_and_broken_lines_do_not_break_known_hosts(ed25519_sim, tmp_path):
    key = ed25519_sim.host_key
    ca = paramiko.ECDSAKey.generate(bits=256)
    path = tmp_path / "known_hosts"
    path.write_text(
        f"@cert-authority *.other.example {ca.get_name()} {ca.get_base64()}\n"
        "@cert-authority\n"
        "garbage line without a key\n"
        "host.example ssh-ed25519 !!!not-base64!!!\n"
        f"@unknown-marker host.example {ca.get_name()} {ca.get_base64()}\n"
        f"{name_of(ed25519_sim)} {key.get_name()} {key.get_base64()} comment\n")
    known = KnownHosts(path)
    assert known.skipped == {"cert_authority": 2, "unreadable": 3}
    session = login(ed25519_sim.host, ed25519_sim.port, known, creds(), 5)
    try:
        assert session.info.host_key.status == "known"
    finally:
        session.close()


def test_hashed_names_match(ed25519_sim, tmp_path):
    key = ed25519_sim.host_key
    salt = os.urandom(20)
    digest = hmac.new(salt, name_of(ed25519_sim).encode(), hashlib.sha1).digest()
    hashed = f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"
    path = tmp_path / "known_hosts"
    path.write_text(f"{hashed} {key.get_name()} {key.get_base64()}\n")
    info = probe(ed25519_sim.host, ed25519_sim.port, KnownHosts(path), 5)
    assert info.host_key.status == "known"


def test_an_oversized_file_is_not_read_and_nothing_is_added(ed25519_sim, tmp_path,
                                                             monkeypatch):
    from accessready.agent.io.transports import ssh_hostkeys

    key = ed25519_sim.host_key
    path = tmp_path / "known_hosts"
    path.write_text(f"{name_of(ed25519_sim)} {key.get_name()} {key.get_base64()}\n" * 50)
    monkeypatch.setattr(ssh_hostkeys, "MAX_KNOWN_HOSTS_BYTES", 1024)
    known = KnownHosts(path, accept_new=True)
    assert known.load_problem.startswith("larger than")
    info = probe(ed25519_sim.host, ed25519_sim.port, known, 5)
    assert info.host_key.status == "unknown" and "larger than" in info.host_key.note
    assert path.stat().st_size == 50 * len(path.read_text().splitlines()[0] + "\n")


# -- names as OpenSSH matches them (a miss made the host "unknown": accept-new then added
#    whatever key a man in the middle presented and the password was sent) -------------

@pytest.fixture(autouse=True)
def no_system_known_hosts(tmp_path, monkeypatch):
    """Keep this machine's /etc/ssh/ssh_known_hosts out of the tests that do not set one."""
    from accessready.agent.io.transports import ssh_hostkeys

    monkeypatch.setattr(ssh_hostkeys, "_default_system_known_hosts",
                        lambda: tmp_path / "no-system-known-hosts", raising=False)


def ed25519() -> paramiko.PKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption())
    import io
    return paramiko.Ed25519Key.from_private_key(io.StringIO(pem.decode()))


def line(names: str, key: paramiko.PKey, marker: str = "") -> str:
    return f"{marker} {names} {key.get_name()} {key.get_base64()}\n".lstrip()


def assert_refused(path, host: str, port: int = 22, status: str = "mismatch",
                   system_path=None) -> None:
    """An attacker's key for ``host``: refused with accept-new, the file unchanged."""
    before = path.read_text()
    kwargs = {} if system_path is None else {"system_path": system_path}
    verdict = KnownHosts(path, accept_new=True, **kwargs).check(host, port, ed25519())
    assert verdict.status == status, verdict
    assert path.read_text() == before


def test_upper_case_name_matches_a_plain_line(tmp_path):
    real = ed25519()
    path = tmp_path / "known_hosts"
    path.write_text(line("web01.exempel.local", real))
    assert_refused(path, "WEB01.Exempel.LOCAL")
    assert KnownHosts(path).check("Web01.exempel.local", 22, real).status == "known"


def test_an_added_name_is_written_as_openssh_writes_it(tmp_path):
    path = tmp_path / "known_hosts"
    key = ed25519()
    assert KnownHosts(path, accept_new=True).check("New.Exempel.Local.", 22, key).status == \
        "added"
    assert path.read_text() == line("new.exempel.local", key)


def test_upper_case_name_matches_a_hashed_line(tmp_path):
    real = ed25519()
    salt = os.urandom(20)
    digest = hmac.new(salt, b"web01.exempel.local", hashlib.sha1).digest()
    hashed = f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"
    path = tmp_path / "known_hosts"
    path.write_text(line(hashed, real))
    assert_refused(path, "WEB01.EXEMPEL.LOCAL")
    assert KnownHosts(path).check("WEB01.exempel.local", 22, real).status == "known"


def test_wildcard_line_knows_the_host(tmp_path):
    real = ed25519()
    path = tmp_path / "known_hosts"
    path.write_text(line("*.Exempel.local", real))
    assert_refused(path, "web01.exempel.local")
    assert KnownHosts(path).check("web01.exempel.local", 22, real).status == "known"
    # another key type for a host a pattern covers: not a new host either
    ecdsa = paramiko.ECDSAKey.generate(bits=256)
    verdict = KnownHosts(path, accept_new=True).check("web01.exempel.local", 22, ecdsa)
    assert verdict.status == "unknown" and verdict.other_types_known == ("ssh-ed25519",)
    assert path.read_text() == line("*.Exempel.local", real)


def test_question_mark_matches_one_character(tmp_path):
    path = tmp_path / "known_hosts"
    path.write_text(line("web0?.exempel.local", ed25519()))
    assert_refused(path, "web07.exempel.local")
    # "?" is exactly one character: web107 is not covered, so it is a new host
    assert KnownHosts(path, accept_new=True).check(
        "web107.exempel.local", 22, ed25519()).status == "added"


def test_negated_pattern_excludes_the_host(tmp_path):
    path = tmp_path / "known_hosts"
    path.write_text(line("*.exempel.local,!gw.exempel.local", ed25519()))
    assert_refused(path, "web01.exempel.local")
    # OpenSSH: a negated match excludes, whatever else matched
    assert KnownHosts(path, accept_new=True).check(
        "gw.exempel.local", 22, ed25519()).status == "added"


def test_cert_authority_covered_host_is_never_added(tmp_path):
    ca = ed25519()
    path = tmp_path / "known_hosts"
    path.write_text(line("*.exempel.local", ca, "@cert-authority"))
    assert_refused(path, "web01.exempel.local", status="unknown")
    verdict = KnownHosts(path, accept_new=True).check("WEB01.exempel.local", 22, ed25519())
    assert "@cert-authority" in verdict.note and "not added" in verdict.note
    # a host no line covers is still new
    assert KnownHosts(path, accept_new=True).check(
        "other.example", 22, ed25519()).status == "added"


def test_hashed_cert_authority_name_is_never_added(tmp_path):
    salt = os.urandom(20)
    digest = hmac.new(salt, b"web01.exempel.local", hashlib.sha1).digest()
    hashed = f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"
    path = tmp_path / "known_hosts"
    path.write_text(line(hashed, ed25519(), "@cert-authority"))
    assert_refused(path, "Web01.exempel.local", status="unknown")


def test_port_22_in_brackets_is_the_plain_name(tmp_path):
    real = ed25519()
    path = tmp_path / "known_hosts"
    path.write_text(line("[web01.exempel.local]:22", real))
    assert_refused(path, "web01.exempel.local")
    assert KnownHosts(path).check("web01.exempel.local", 22, real).status == "known"


def test_trailing_dot_is_the_same_host(tmp_path):
    path = tmp_path / "known_hosts"
    path.write_text(line("web01.exempel.local.", ed25519()))
    assert_refused(path, "web01.exempel.local")
    path.write_text(line("web02.exempel.local", ed25519()))
    assert_refused(path, "web02.exempel.local.")


def test_system_known_hosts_is_read_and_refuses_auto_add(tmp_path):
    real = ed25519()
    system = tmp_path / "ssh_known_hosts"
    system.write_text(line("web01.exempel.local", real))
    path = tmp_path / "known_hosts"
    path.write_text("")
    assert_refused(path, "web01.exempel.local", system_path=system)
    assert KnownHosts(path, system_path=system).check(
        "web01.exempel.local", 22, real).status == "known"
    # the system file's cert-authority lines count too
    system.write_text(line("*.exempel.local", ed25519(), "@cert-authority"))
    assert_refused(path, "web01.exempel.local", status="unknown", system_path=system)


def test_wildcard_line_refuses_an_attacker_before_the_password(ed25519_sim, tmp_path):
    """End to end: a pattern covering the simulator's address, the simulator's key is not
    the known one — no authentication attempt, nothing appended."""
    path = tmp_path / "known_hosts"
    path.write_text(line(f"[127.0.0.*]:{ed25519_sim.port}", ed25519()))
    before = path.read_text()
    start = len(ed25519_sim.log)
    with pytest.raises(TransportError) as info:
        login(ed25519_sim.host, ed25519_sim.port, KnownHosts(path, accept_new=True),
              creds(), 5)
    assert info.value.kind == "host_key_mismatch"
    assert ed25519_sim.log[start:] == [] and path.read_text() == before
