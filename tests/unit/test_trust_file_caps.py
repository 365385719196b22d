"""Trust files a profile names are never read whole when they are far too large (issue 16
item 3: a 300 MB known_hosts took 3 GB): known_hosts, CA bundles (TLS probes and WinRM)
and SSH key files are refused with one clear line. The files here are sparse: no disk
space, and reading one would show up as memory and time."""

from __future__ import annotations

from pathlib import Path

import pytest

from accessready.agent.core.profile_types import TlsOptions
from accessready.agent.core.safefile import MAX_TRUST_FILE_BYTES, oversized
from accessready.agent.io.net import ProbeFailure
from accessready.agent.io.secrets import Secret
from accessready.agent.io.tls import verifying_context
from accessready.agent.io.transports.base import TransportError
from accessready.agent.io.transports.ssh import KnownHosts
from accessready.agent.io.transports.ssh_auth import _AuthState, _load_key
from accessready.agent.io.transports.winrm import WinrmEndpoint, WinrmTransport


@pytest.fixture
def huge(tmp_path: Path) -> Path:
    path = tmp_path / "huge"
    with open(path, "wb") as handle:
        handle.truncate(300 * 1024 * 1024)
    return path


def test_oversized_names_the_size_and_the_fix(tmp_path: Path, huge: Path) -> None:
    assert oversized(tmp_path / "missing") == ""  # the reader says "not found" itself
    small = tmp_path / "small"
    small.write_bytes(b"x" * MAX_TRUST_FILE_BYTES)
    assert oversized(small) == ""
    text = oversized(huge)
    assert text.startswith("is 300 MiB, more than such a file ever is (8 MiB at most)")
    assert "\n" not in text and "point the profile at the right file" in text


def test_a_huge_known_hosts_is_an_error_never_an_unknown_key(huge: Path) -> None:
    with pytest.raises(TransportError) as refused:
        KnownHosts(huge, accept_new=True)
    assert refused.value.kind == "error" and str(huge) in str(refused.value)
    assert huge.stat().st_size == 300 * 1024 * 1024  # nothing appended


def test_a_huge_ca_file_is_refused_by_the_tls_probes_and_winrm(huge: Path) -> None:
    with pytest.raises(ProbeFailure) as probe:
        verifying_context(TlsOptions(ca_file=str(huge)))
    assert probe.value.kind == "error" and "300 MiB" in str(probe.value)
    endpoint = WinrmEndpoint("127.0.0.1", 5986, True, "ntlm", "support", ca_file=str(huge))
    with pytest.raises(TransportError) as winrm:
        WinrmTransport(endpoint, Secret("pw")).connect(2.0)
    assert winrm.value.kind == "error" and "300 MiB" in str(winrm.value)


def test_a_huge_ssh_key_file_is_not_read(huge: Path) -> None:
    state = _AuthState()
    assert _load_key(huge, state) is None
    assert "300 MiB" in state.attempts[0]["result"]


def test_known_hosts_reads_no_more_than_the_trust_file_cap() -> None:
    """One cap for a known_hosts file: the read bound is the size check's."""
    from accessready.agent.io.transports import ssh

    assert ssh.MAX_KNOWN_HOSTS_BYTES == MAX_TRUST_FILE_BYTES
