"""Every file a profile names (ca_file, known_hosts, ssh_key) is found the same way: ``~``
expanded, relative paths from the profile's folder — never from where accessready runs —
and once, when the profile is built: checks and transports get absolute paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from accessready.agent.app.run import run_checks
from accessready.agent.core.model import Status
from accessready.agent.core.profile import parse_profile
from accessready.agent.core.profile_build import resolve_path
from accessready.agent.demo.simulators import pki
from accessready.agent.demo.simulators.anyconnect import AnyConnectSimulator
from accessready.agent.demo.simulators.checkpoint import CheckpointSimulator
from accessready.agent.io.dns import Resolvers
from accessready.agent.io.transports.sessions import Sessions
from accessready.agent.plugin.runner import RunOptions
from accessready.checks.adfs.base import tls_options
from accessready.checks.anyconnect import gateway as anyconnect
from accessready.checks.checkpoint import gateway as checkpoint

CUSTOMER = '[customer]\nname = "Testkund"\n'


@pytest.fixture
def layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A profile folder holding the CA bundle, and another folder as the working one."""
    folder = tmp_path / "kund"
    elsewhere = tmp_path / "elsewhere"
    folder.mkdir()
    elsewhere.mkdir()
    ca = pki.make_ca("Kund CA")
    files = pki.write_tls_files(tmp_path / "server", "gw", ca,
                                *pki.issue(ca, ["gw.test", "127.0.0.1"]))
    ca.write(folder / "kund-ca.pem")
    monkeypatch.chdir(elsewhere)
    return {"folder": folder, "profile": folder / "kund.toml", "server": files.cert_file,
            "files": files}  # type: ignore[dict-item]


def _run(profile_path: Path, body: str, checks: list) -> dict[str, object]:
    profile = parse_profile(CUSTOMER + body, str(profile_path))
    run = run_checks(profile, RunOptions(timeout=4.0), checks=[c() for c in checks],
                     services={"dns": Resolvers(profile.network)})
    return {r.check_id: r for r in run.results}


def test_resolve_path_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    profile_path = str(tmp_path / "p" / "kund.toml")
    assert resolve_path(profile_path, "ca.pem") == str(tmp_path / "p" / "ca.pem")
    assert resolve_path(profile_path, "/etc/ssl/x.pem") == "/etc/ssl/x.pem"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert resolve_path(profile_path, "~/ca.pem") == str(tmp_path / "home" / "ca.pem")
    body = '[access]\nmethods = ["anyconnect"]\n[access.anyconnect]\ngateway = "gw.test"\n'
    profile = parse_profile(CUSTOMER + body + 'ca_file = "sub/ca.pem"\n', profile_path)
    assert profile.access.anyconnect.tls.ca_file == str(tmp_path / "p" / "sub" / "ca.pem")
    assert parse_profile(CUSTOMER + body, profile_path).access.anyconnect.tls.ca_file is None


def test_profile_without_a_file_uses_the_working_folder(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve_path("", "ca.pem") == str(tmp_path / "ca.pem")  # not its parent


def test_every_kind_of_path_uses_the_same_rule(layout) -> None:
    body = """
[access]
methods = ["anyconnect"]
[access.anyconnect]
gateway = "gw.test"
ca_file = "kund-ca.pem"
[account]
username = "support"
ssh_key = "keys/id_ed25519"
known_hosts = "known_hosts"
[adfs]
federation_service = "sts.test"
ca_file = "adfs-ca.pem"
[[servers]]
name = "wap01"
address = "127.0.0.1"
roles = ["wap"]
remote = ["winrm", "ssh"]
winrm = { https = true, ca_file = "winrm-ca.pem" }
"""
    profile = parse_profile(CUSTOMER + body, str(layout["profile"]))
    folder = layout["folder"]
    server = profile.servers[0]
    sessions = Sessions(profile)
    assert server.ssh.known_hosts == str(folder / "known_hosts")
    assert sessions.describe(server, "ssh")["known_hosts"] == str(folder / "known_hosts")
    assert sessions.describe(server, "ssh")["key_file"] == str(folder / "keys/id_ed25519")
    assert sessions.winrm_endpoint(server).ca_file == str(folder / "winrm-ca.pem")
    assert tls_options(profile, None).ca_file == str(folder / "adfs-ca.pem")
    assert profile.access.anyconnect.tls.ca_file == str(folder / "kund-ca.pem")


def test_anyconnect_finds_a_relative_ca_file_beside_the_profile(layout) -> None:
    with AnyConnectSimulator(pki.server_context(layout["files"])) as sim:
        results = _run(layout["profile"], f"""
[access]
methods = ["anyconnect"]
[access.anyconnect]
gateway = "127.0.0.1"
port = {sim.port}
ca_file = "kund-ca.pem"
""", [anyconnect.AnyConnectGatewayCheck])
    result = results["anyconnect.gateway"]
    assert result.status is Status.PASS, result.summary.en  # type: ignore[attr-defined]
    assert result.details["exchange"]["tls"]["verified"] is True  # type: ignore[attr-defined]


def test_checkpoint_finds_a_relative_ca_file_beside_the_profile(layout) -> None:
    with CheckpointSimulator(pki.server_context(layout["files"])) as sim:
        results = _run(layout["profile"], f"""
[access]
methods = ["checkpoint"]
[access.checkpoint]
gateway = "127.0.0.1"
port = {sim.port}
ports = {{ topology = {sim.topology_port}, ike = {sim.ike_port} }}
ca_file = "kund-ca.pem"
""", [checkpoint.CheckpointGatewayCheck])
    ccc = results["checkpoint.gateway"].details["ccc"]  # type: ignore[attr-defined]
    assert ccc["tls"]["verified"] is True, ccc
