"""The SSH transport against the paramiko simulator and hostile peers on loopback.

Pins: host keys are checked before any credential is sent; an unknown key fails with its
SHA256 fingerprint unless accept-new is on; a changed key always fails; every stage stays
within the deadline (silent host, slow banner, garbage, a command that never ends); an
expired password is recognised in both shapes OpenSSH shows it.
"""

from __future__ import annotations

import base64
import hashlib
import time
from pathlib import Path

import paramiko
import pytest

from accessready.agent.demo.simulators.ssh import LinuxHost, SshSimulator, SshUser
from accessready.agent.io.secrets import Secret
from accessready.agent.io.transports.base import SessionPool, TransportError
from accessready.agent.io.transports.ssh import (
    KnownHosts,
    SshCredentials,
    fingerprint_sha256,
    known_hosts_name,
    login,
    probe,
)

from .dnsfakes import dead_system_dns, system_dns
from .hostile import HostileServer
from .simhelpers import PASSWORD, closed_port

USER = "eventful-support"


def _handler(argv: list[str], user: str) -> tuple[str, str, int]:
    if argv and argv[0] == "sleep":
        time.sleep(float(argv[1]))
        return "", "", 0
    if argv == ["printf", "å ä ö"]:
        return "å ä ö", "", 0
    return LinuxHost().respond(argv, user)


@pytest.fixture(scope="module")
def client_key() -> paramiko.PKey:
    return paramiko.ECDSAKey.generate(bits=256)


@pytest.fixture(scope="module")
def sim(client_key):
    server = SshSimulator({
        USER: SshUser(PASSWORD, keys=[client_key]),
        "locked": SshUser("L0cked#pw", state="locked"),
        "old": SshUser("pw", state="expired"),
    }, commands=_handler).start()
    yield server
    server.stop()


@pytest.fixture
def known(sim, tmp_path) -> KnownHosts:
    path = tmp_path / "known_hosts"
    path.write_text(sim.known_hosts_line())
    return KnownHosts(path)


def creds(password: str | None = PASSWORD, user: str = USER, key: Path | None = None):
    return SshCredentials(user, Secret(password) if password else None, key_file=key)


def test_fingerprint_is_openssh_format(sim) -> None:
    blob = sim.host_key.asbytes()
    expected = "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    assert fingerprint_sha256(blob) == expected == sim.fingerprint


def test_known_hosts_name_uses_brackets_off_port_22() -> None:
    assert known_hosts_name("sync01", 22) == "sync01"
    assert known_hosts_name("127.0.0.1", 2222) == "[127.0.0.1]:2222"


def test_password_login_and_commands(sim, known) -> None:
    session = login(sim.host, sim.port, known, creds(), 5)
    try:
        assert session.info.host_key.status == "known"
        assert session.attempts == [{"method": "password", "result": "accepted"}]
        result = session.run(["id"], 5)
        assert result.exit_code == 0 and "uid=1001(eventful-support)" in result.stdout
        assert session.run(["printf", "å ä ö"], 5).stdout == "å ä ö"
        assert session.run(["nosuchcommand"], 5).exit_code == 127
    finally:
        session.close()


def test_arguments_are_quoted_for_the_remote_shell(sim, known) -> None:
    session = login(sim.host, sim.port, known, creds(), 5)
    try:
        session.run(["chage", "-l", "x; rm -rf /"], 5)
    finally:
        session.close()
    assert sim.log[-1]["command"] == "chage -l 'x; rm -rf /'"


def test_key_login(sim, known, client_key, tmp_path) -> None:
    key_file = tmp_path / "id_ecdsa"
    client_key.write_private_key_file(str(key_file))
    session = login(sim.host, sim.port, known, creds(None, key=key_file), 5)
    try:
        assert session.attempts[0]["method"] == "publickey"
        assert session.attempts[0]["result"] == "accepted"
    finally:
        session.close()


def test_key_first_then_password(sim, known, tmp_path) -> None:
    other = paramiko.ECDSAKey.generate(bits=256)
    key_file = tmp_path / "id_other"
    other.write_private_key_file(str(key_file))
    session = login(sim.host, sim.port, known, creds(key=key_file), 5)
    session.close()
    assert [a["result"] for a in session.attempts] == ["rejected", "accepted"]


def test_missing_and_passphrase_keys_are_noted_not_fatal(sim, known, tmp_path) -> None:
    locked_key = tmp_path / "id_locked"
    paramiko.ECDSAKey.generate(bits=256).write_private_key_file(str(locked_key), password="x")
    for path, note in ((tmp_path / "missing", "file not found"),
                       (locked_key, "passphrase-protected")):
        session = login(sim.host, sim.port, known, creds(key=path), 5)
        session.close()
        assert note in session.attempts[0]["result"]


@pytest.mark.parametrize("user,password", [(USER, "Wr0ng-Pass#1"), ("nobody", "Nob0dy#pass"),
                                           ("locked", "L0cked#pw")])
def test_rejections_are_one_kind(sim, known, user, password) -> None:
    with pytest.raises(TransportError) as info:
        login(sim.host, sim.port, known, creds(password, user=user), 5)
    assert info.value.kind == "auth_failed"
    assert password not in str(info.value) and password not in repr(info.value.details)


def test_expired_password_shows_at_the_first_command(sim, known) -> None:
    session = login(sim.host, sim.port, known, creds("pw", user="old"), 5)
    try:
        with pytest.raises(TransportError) as info:
            session.run(["id"], 5)
    finally:
        session.close()
    assert info.value.kind == "password_expired"
    assert "no TTY" in info.value.details["stderr"]


def test_expired_password_in_keyboard_interactive(tmp_path) -> None:
    server = SshSimulator({"kbd": SshUser("pw", state="expired_kbdint")},
                          methods=("publickey", "keyboard-interactive")).start()
    try:
        path = tmp_path / "kh"
        path.write_text(server.known_hosts_line())
        with pytest.raises(TransportError) as info:
            login(server.host, server.port, KnownHosts(path), creds("pw", user="kbd"), 5)
    finally:
        server.stop()
    assert info.value.kind == "password_expired"
    assert any("change your password" in p for p in info.value.details["prompts"])


def test_keyboard_interactive_when_password_method_is_off(tmp_path) -> None:
    server = SshSimulator({USER: SshUser(PASSWORD)},
                          methods=("publickey", "keyboard-interactive")).start()
    try:
        path = tmp_path / "kh"
        path.write_text(server.known_hosts_line())
        session = login(server.host, server.port, KnownHosts(path), creds(), 5)
        session.close()
    finally:
        server.stop()
    assert session.attempts[-1] == {"method": "keyboard-interactive", "result": "accepted"}


def test_unknown_host_key_fails_with_fingerprint_and_sends_nothing(sim, tmp_path) -> None:
    before = len(sim.log)
    with pytest.raises(TransportError) as info:
        login(sim.host, sim.port, KnownHosts(tmp_path / "empty"), creds(), 5)
    assert info.value.kind == "host_key_unknown"
    assert info.value.details["fingerprint"] == sim.fingerprint
    assert sim.fingerprint in str(info.value)
    assert len(sim.log) == before  # no password (or any auth) was attempted


def test_changed_host_key_fails_even_with_accept_new(sim, tmp_path) -> None:
    other = paramiko.ECDSAKey.generate(bits=256)
    path = tmp_path / "kh"
    path.write_text(f"[{sim.host}]:{sim.port} {other.get_name()} {other.get_base64()}\n")
    for accept in (False, True):
        with pytest.raises(TransportError) as info:
            login(sim.host, sim.port, KnownHosts(path, accept_new=accept), creds(), 5)
        assert info.value.kind == "host_key_mismatch"
        assert info.value.details["host_key"]["known_fingerprints"] == [
            fingerprint_sha256(other.asbytes())]
    assert path.read_text().count("\n") == 1  # never rewritten


def test_accept_new_adds_the_key_once(sim, tmp_path) -> None:
    path = tmp_path / "sub" / "known_hosts"
    known = KnownHosts(path, accept_new=True)
    info = probe(sim.host, sim.port, known, 5)
    assert info.host_key.status == "added"
    assert path.read_text() == sim.known_hosts_line()
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert probe(sim.host, sim.port, known, 5).host_key.status == "known"
    assert probe(sim.host, sim.port, KnownHosts(path), 5).host_key.status == "known"


def test_known_key_type_is_negotiated_first(tmp_path) -> None:
    rsa = paramiko.RSAKey.generate(2048)
    server = SshSimulator({}, host_key=paramiko.ECDSAKey.generate(bits=256),
                          extra_host_keys=(rsa,)).start()
    try:
        path = tmp_path / "kh"
        path.write_text(f"[{server.host}]:{server.port} ssh-rsa {rsa.get_base64()}\n")
        info = probe(server.host, server.port, KnownHosts(path), 5)
    finally:
        server.stop()
    assert info.host_key.status == "known" and info.host_key.key_type == "ssh-rsa"


def test_host_names_resolve_within_the_deadline(known, tmp_path, monkeypatch) -> None:
    # socket.create_connection resolved with getaddrinfo: no timeout at all
    with dead_system_dns(tmp_path, monkeypatch), pytest.raises(TransportError) as info:
        probe("sync01.kund.test", 22, known, 0.5)
    assert info.value.kind == "resolver"
    # another name: the first look-up may still be in flight on the system resolver's
    # pool, and askers of a name in flight share its answer
    with system_dns({}, tmp_path, monkeypatch), pytest.raises(TransportError) as info:
        login("sync02.kund.test", 22, known, creds(), 2.0)
    assert info.value.kind == "dns"


def test_refused(known) -> None:
    with pytest.raises(TransportError) as info:
        probe("127.0.0.1", closed_port(), known, 2)
    assert info.value.kind == "refused"


@pytest.mark.parametrize("mode,kind", [("silent", "silent"), ("garbage", "protocol"),
                                       ("close", "protocol"), ("slow", "silent")])
def test_hostile_peers_end_within_the_deadline(known, mode, kind) -> None:
    server = HostileServer(mode, delay=30.0).start()
    try:
        started = time.monotonic()
        with pytest.raises(TransportError) as info:
            login(server.host, server.port, known, creds(), 1.0)
        elapsed = time.monotonic() - started
    finally:
        server.stop()
    assert info.value.kind == kind, str(info.value)
    # the silent and slow peers would keep us 30 s or more; the rest is a busy machine's
    assert elapsed < 5.0


def test_slow_banner_within_the_deadline_is_fine(tmp_path) -> None:
    server = SshSimulator({USER: SshUser(PASSWORD)}, banner_delay=0.6).start()
    try:
        path = tmp_path / "kh"
        path.write_text(server.known_hosts_line())
        info = probe(server.host, server.port, KnownHosts(path), 4)
    finally:
        server.stop()
    assert info.host_key.status == "known" and info.banner_ms >= 500


def test_command_that_never_ends_stops_at_the_deadline(sim, known) -> None:
    session = login(sim.host, sim.port, known, creds(), 5)
    try:
        started = time.monotonic()
        with pytest.raises(TransportError) as info:
            session.run(["sleep", "30"], 1.0)
        assert info.value.kind == "timeout"
        assert time.monotonic() - started < 5.0  # 1 s budget, a 30 s command: slack for load
        assert session.run(["id"], 5).exit_code == 0  # the session is still usable
    finally:
        session.close()


def test_pool_tries_a_wrong_password_once(sim, known) -> None:
    calls = []

    def opener(server, method, timeout):
        calls.append(1)
        return login(sim.host, sim.port, known, creds("wrong"), timeout)

    pool = SessionPool(opener)

    class Server:
        name = "sync01"

    for _ in range(3):
        with pytest.raises(TransportError):
            pool.get(Server, "ssh", 5)
    assert len(calls) == 1
