"""One read of a known_hosts file serves every profile of an audit (issue 13).

Pins: a second :class:`KnownHosts` of an unchanged file parses nothing and gives the same
verdicts (plain, hashed, pattern, revoked and mismatched keys, in the same order); a changed
file is read again; a key one reader accepts (``--accept-new-host-keys``) is its own and the
file's, never slipped into another reader of the old content.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from pathlib import Path

import paramiko
import pytest

from accessready.agent.io.transports import ssh_hostkeys
from accessready.agent.io.transports.ssh_hostkeys import KnownHosts


def _key() -> paramiko.PKey:
    return paramiko.ECDSAKey.generate(bits=256)


def _line(name: str, key: paramiko.PKey, marker: str = "") -> str:
    return f"{marker}{name} {key.get_name()} {key.get_base64()}\n"


def _hashed(name: str) -> str:
    salt = os.urandom(20)
    digest = hmac.new(salt, name.encode(), hashlib.sha1).digest()
    return f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"


@pytest.fixture
def parses(monkeypatch) -> list[str]:
    seen: list[str] = []
    real = KnownHosts._parse

    def counting(self: KnownHosts, line: str) -> None:
        seen.append(line)
        real(self, line)

    monkeypatch.setattr(KnownHosts, "_parse", counting)
    return seen


def _verdicts(known: KnownHosts, keys: dict[str, paramiko.PKey]) -> list[dict]:
    return [known.check(host, 22, key).to_json() for host, key in keys.items()] + [
        {"order": known.preferred_algorithms(host, 22, ["ssh-ed25519", "ecdsa-sha2-nistp256"])}
        for host in keys]


def test_an_unchanged_file_is_read_once_with_the_same_verdicts(tmp_path: Path,
                                                                parses) -> None:
    plain, hashed, pattern, revoked, changed = (_key() for _ in range(5))
    path = tmp_path / "known_hosts"
    path.write_text(_line("plain.test", plain) + _line(_hashed("hashed.test"), hashed)
                    + _line("*.pattern.test,!no.pattern.test", pattern)
                    + _line("revoked.test", revoked, "@revoked ")
                    + _line("changed.test", _key()) + _line("changed.test", _key())
                    + "broken-line\n@cert-authority *.ca.test ssh-rsa AAAA\n")
    presented = {"plain.test": plain, "hashed.test": hashed, "a.pattern.test": pattern,
                 "no.pattern.test": pattern, "revoked.test": revoked,
                 "changed.test": changed, "x.ca.test": _key()}
    first = KnownHosts(path, system_path=None)
    lines = len(parses)
    assert lines == 8
    second = KnownHosts(path, system_path=None)
    assert len(parses) == lines  # nothing parsed again
    assert second.skipped == first.skipped == {"cert_authority": 1, "unreadable": 1}
    before = _verdicts(first, presented)
    assert [v.get("status") for v in before[:7]] == [
        "known", "known", "known", "unknown", "revoked", "mismatch", "unknown"]
    assert _verdicts(second, presented) == before
    # the shared read against a fresh one, the cache out of the way
    ssh_hostkeys._READS.clear()
    assert _verdicts(KnownHosts(path, system_path=None), presented) == before
    assert len(parses) == 2 * lines


def test_a_changed_file_is_read_again(tmp_path: Path, parses) -> None:
    old, new = _key(), _key()
    path = tmp_path / "known_hosts"
    path.write_text(_line("host.test", old))
    assert KnownHosts(path, system_path=None).check("host.test", 22, old).status == "known"
    path.write_text(_line("host.test", new))
    again = KnownHosts(path, system_path=None)
    assert len(parses) == 2
    assert again.check("host.test", 22, new).status == "known"
    assert again.check("host.test", 22, old).status == "mismatch"


def test_an_accepted_key_stays_with_its_reader_and_the_file(tmp_path: Path) -> None:
    known_key, new_key = _key(), _key()
    path = tmp_path / "known_hosts"
    path.write_text(_line("known.test", known_key))
    accepting = KnownHosts(path, accept_new=True, system_path=None)
    other = KnownHosts(path, system_path=None)  # the same read, shared
    assert accepting.check("new.test", 22, new_key).status == "added"
    assert accepting.check("new.test", 22, new_key).status == "known"
    assert other.check("new.test", 22, new_key).status == "unknown"  # as before: read earlier
    assert KnownHosts(path, system_path=None).check("new.test", 22, new_key).status == "known"
    assert other.check("known.test", 22, known_key).status == "known"


@pytest.mark.parametrize("salt_bytes", [0, 1, 20, 64, 65, 200])
def test_prepared_hmac_is_rfc_2104(salt_bytes: int) -> None:
    salt = os.urandom(salt_bytes)
    for name in ("host.test", "[10.0.0.1]:2222", "ünïcode.test", ""):
        digest = hmac.new(salt, name.encode(), hashlib.sha1).digest()
        entry = f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"
        hashed = ssh_hostkeys._HashedName(entry)
        assert hashed.stands_for(name)
        assert hashed.stands_for(name)  # prepared once, still right
        assert not hashed.stands_for(name + "x")


@pytest.mark.parametrize("entry", ["|1|", "|1|%%%|AAAA", "|2|AAAA|AAAA", "|1|AAAA|",
                                   "|1|AAAA|AAAA|AAAA", "plain.test"])
def test_a_broken_hashed_name_stands_for_no_name(entry: str) -> None:
    hashed = ssh_hostkeys._HashedName(entry)
    assert not hashed.stands_for("plain.test") and not hashed.stands_for("")
    assert not ssh_hostkeys._hashed_name_matches(entry, "")
