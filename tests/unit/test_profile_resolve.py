"""The profile is resolved once, when it is built: defaults from one table, final ports,
absolute paths and each TLS endpoint's server name, so no check works a default out again."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from accessready.agent.core.profile import parse_profile
from accessready.agent.core.profile_spec import DEFAULTS, SPEC, Field
from accessready.agent.core.profile_types import ChecksCfg, TlsOptions
from accessready.agent.plugin.runner import RunOptions

ROOT = Path(__file__).resolve().parents[2]
HEAD = '[customer]\nname = "X"\n'


def _profile(body: str, path: str = "/kund/kund.toml"):
    return parse_profile(HEAD + body, path)


def _server(extra: str, *, account: str = "") -> str:
    return f"""[access]
methods = ["teamviewer"]
{account}
[[servers]]
name = "s1"
address = "s1.exempel.local"
remote = ["winrm", "ssh"]
{extra}
"""


@pytest.mark.parametrize(("winrm", "port"), [
    ("", 5986), ("winrm = { https = true }", 5986), ("winrm = { https = false }", 5985),
    ("winrm = { https = false, port = 8080 }", 8080), ("winrm = { port = 443 }", 443)])
def test_winrm_port_follows_the_scheme(winrm: str, port: int) -> None:
    assert _profile(_server(winrm)).servers[0].winrm.port == port


def test_winrm_tls_is_its_tables_own_else_the_servers() -> None:
    own = _profile(_server('ca_file = "server.pem"\nwinrm = { ca_file = "winrm.pem" }'))
    assert own.servers[0].winrm.tls == TlsOptions("/kund/winrm.pem", True, "s1.exempel.local")
    off = _profile(_server('ca_file = "server.pem"\nwinrm = { verify = false }'))
    assert off.servers[0].winrm.tls == TlsOptions(None, False, "s1.exempel.local")
    inherited = _profile(_server('ca_file = "server.pem"'))
    assert inherited.servers[0].winrm.tls == TlsOptions("/kund/server.pem", True,
                                                        "s1.exempel.local")
    # the server's own settings keep no name: WinRM and AD FS name them differently
    assert inherited.servers[0].tls == TlsOptions("/kund/server.pem", True, None)
    plain = _profile(_server(""))
    assert plain.servers[0].winrm.tls == TlsOptions(None, True, "s1.exempel.local")


def test_known_hosts_is_chosen_once_by_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/tekniker")
    account = '[account]\nknown_hosts = "account_kh"\nssh_key = "~/.ssh/id_ed25519"'
    cases = [('ssh = { known_hosts = "ssh_kh" }\nknown_hosts = "server_kh"', "/kund/ssh_kh"),
             ('known_hosts = "server_kh"', "/kund/server_kh"), ("", "/kund/account_kh")]
    for extra, expected in cases:
        profile = _profile(_server(extra, account=account))
        assert profile.servers[0].ssh.known_hosts == expected
        assert profile.account.ssh_key == "/home/tekniker/.ssh/id_ed25519"
    bare = _profile(_server(""))
    assert bare.servers[0].ssh.known_hosts == "/home/tekniker/.ssh/known_hosts"
    assert bare.servers[0].ssh.port == 22 and bare.servers[0].rdp.port == 3389


def test_gateway_ports_and_tls_are_final() -> None:
    profile = _profile("""[access]
methods = ["anyconnect", "checkpoint"]
[access.anyconnect]
gateway = "vpn.exempel.se"
[access.checkpoint]
gateway = "cp.exempel.se"
port = 8443
ports = { ike = 1500 }
ca_file = "certs/cp.pem"
""")
    anyconnect, checkpoint = profile.access.anyconnect, profile.access.checkpoint
    assert (anyconnect.port, anyconnect.ports) == (443, {})
    assert anyconnect.tls == TlsOptions(None, True, "vpn.exempel.se")
    assert checkpoint.port == 8443
    assert list(checkpoint.ports.items()) == [("topology", 264), ("ike", 1500)]
    assert checkpoint.tls == TlsOptions("/kund/certs/cp.pem", True, "cp.exempel.se")


@pytest.mark.parametrize(("table", "port", "ports"), [
    ('tunnel = "ikev2"', 500, {"ike": 500, "natt": 4500, "pptp": 1723}),
    ("port = 1500", 1500, {"ike": 1500, "natt": 4500, "pptp": 1723}),
    ('tunnel = "l2tp"\nport = 1500', 1500, {"ike": 1500, "natt": 4500, "pptp": 1723}),
    ('tunnel = "pptp"\nport = 11723', 11723, {"ike": 500, "natt": 4500, "pptp": 11723}),
    ('tunnel = "pptp"\nport = 1\nports = { pptp = 2, natt = 3 }', 2,
     {"ike": 500, "natt": 3, "pptp": 2}),
    ("port = 1\nports = { ike = 7 }", 7, {"ike": 7, "natt": 4500, "pptp": 1723}),
])
def test_windows_vpn_port_stands_in_for_its_tunnels_own(table: str, port: int,
                                                        ports: dict[str, int]) -> None:
    cfg = _profile(f'[access]\nmethods = ["windows_vpn"]\n[access.windows_vpn]\n'
                   f'server = "vpn.exempel.se"\n{table}\n').access.windows_vpn
    assert (cfg.port, cfg.ports) == (port, ports)
    assert list(cfg.ports) == ["ike", "natt", "pptp"]  # the evidence keeps its order


@pytest.mark.parametrize(("ports", "expected"), [
    ("", (5938, 443, 80)), ("ports = []", (5938, 443, 80)),
    ("ports = [443, 5938, 443]", (443, 5938))])
def test_teamviewer_ports_once_each_defaults_when_empty(ports: str, expected: tuple) -> None:
    cfg = _profile(f'[access]\nmethods = ["teamviewer"]\n[access.teamviewer]\n{ports}\n')
    assert cfg.access.teamviewer.ports == expected
    assert cfg.access.teamviewer.routers == DEFAULTS["access.teamviewer.routers"]


def test_adfs_ports_and_node_tls_are_final() -> None:
    body = _server('roles = ["adfs"]\nca_file = "node.pem"') + """
[[servers]]
name = "wap01"
address = "wap01.exempel.local"
roles = ["wap"]
remote = ["winrm"]
[adfs]
federation_service = "sts.exempel.se"
port = 8443
ports = { "s1.https" = 9443 }
ca_file = "adfs.pem"
"""
    adfs = _profile(body).adfs
    assert adfs.port == 8443 and adfs.ports == {"s1.https": 9443, "https": 8443, "http": 80}
    assert adfs.tls == TlsOptions("/kund/adfs.pem", True, "sts.exempel.se")
    # a node with trust settings of its own is checked with them, named for the service
    assert adfs.node_tls == {"s1": TlsOptions("/kund/node.pem", True, "sts.exempel.se")}
    wins = _profile(body.replace('port = 8443\nports = {', 'port = 8443\nports = { https = 1,'))
    assert wins.adfs.port == 1 and wins.adfs.ports["https"] == 1


def test_the_defaults_table_is_the_only_one() -> None:
    """Built, hand-made and runner defaults agree with the table, and the schema shows
    the table's values where it shows a default."""
    minimal = _profile('[access]\nmethods = ["teamviewer"]\n')
    assert minimal.checks == ChecksCfg()
    assert (RunOptions().timeout, RunOptions().concurrency) == \
        (minimal.checks.timeout, minimal.checks.concurrency) == (10.0, 32)

    def shown(fields: dict[str, Field], prefix: str) -> dict[str, object]:
        out: dict[str, object] = {}
        for key, field in fields.items():
            path = f"{prefix}{key}"
            if field.default is not None:
                out[path] = field.default
            inner = field.table or (field.items.table if field.items else None)
            if inner:
                out.update(shown(inner, f"{path}."))
        return out

    for path, default in shown(SPEC, "").items():
        key = path if path in DEFAULTS else "tls.verify"  # the one shared by every endpoint
        assert DEFAULTS[key] == default, path


def test_checks_no_longer_work_defaults_out() -> None:
    """The re-derivations the profile now does are gone from checks/ (AST, not grep: a
    docstring may still name a port)."""
    gone = {"effective_port", "resolve_tls", "winrm_tls", "known_hosts_path", "_ports"}
    found = []
    for path in (ROOT / "checks").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            name = node.attr if isinstance(node, ast.Attribute) else \
                node.id if isinstance(node, ast.Name) else None
            if name in gone:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {name}")
    assert found == []
