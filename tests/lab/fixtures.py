"""pytest fixtures for the namespace lab (load with ``-p tests.lab.fixtures`` or
``pytest_plugins = ["tests.lab.fixtures"]`` in the top-level conftest).

``lab`` (session) starts the whole lab once. The VPN fixtures are per test: ``vpn_split``
and ``vpn_full`` connect the real openconnect client from the client host and disconnect
afterwards; ``vpn_down`` makes sure no tunnel is up. The per-service fixtures yield a
``Service`` (address, port, DNS name and what else the test should know).

Outside CI, without root or without the Debian tools, every lab test is skipped with a
one-line reason; with ``CI=true`` the same situation fails the tests instead.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ci import unavailable

from .core import Lab, Service
from .daemons.openconnect import VpnSession
from .peers import Peers
from .run import run_accessready

# (what, how to find it) — a path, or a command name looked up in PATH plus the sbin dirs.
REQUIRED = (
    ("ip", "ip"),
    ("unshare", "unshare"),
    ("nft", "nft"),
    ("sshd", "/usr/sbin/sshd"),
    ("sudo", "/usr/bin/sudo"),
    ("chage", "/usr/bin/chage"),
    ("ocserv", "/usr/sbin/ocserv"),
    ("openconnect", "/usr/sbin/openconnect"),
    ("charon", "/usr/lib/ipsec/charon"),
    ("swanctl", "swanctl"),
    ("pptpd", "/usr/sbin/pptpd"),
    ("xrdp", "/usr/sbin/xrdp"),
    ("dnsmasq", "/usr/sbin/dnsmasq"),
    ("nmap", "nmap"),
    ("ike-scan", "ike-scan"),
    ("openssl", "openssl"),
    ("vpnc-script", "/usr/share/vpnc-scripts/vpnc-script"),
    ("/dev/net/tun", "/dev/net/tun"),
)
_SEARCH_PATH = os.pathsep.join(
    [os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin"]
)


def _present(where: str) -> bool:
    if where.startswith("/"):
        return Path(where).exists()
    return shutil.which(where, path=_SEARCH_PATH) is not None


def lab_problems() -> list[str]:
    """Why the lab cannot run here (empty when it can)."""
    problems: list[str] = []
    if os.geteuid() != 0:
        problems.append("root")
    missing = [name for name, where in REQUIRED if not _present(where)]
    if missing:
        problems.append("missing " + ", ".join(missing))
    return problems


def require_lab() -> None:
    """Skip (outside CI) or fail (``CI=true``) the calling test when the lab cannot run."""
    problems = lab_problems()
    if not problems:
        return
    unavailable("namespace lab needs " + "; ".join(problems) + " (run .ci/run as root)")


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``lab`` marker (harmless if pyproject.toml does too)."""
    config.addinivalue_line("markers", "lab: needs the network-namespace lab of real daemons")


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    """The whole lab, started once per session and torn down at its end (or on a signal)."""
    require_lab()
    the_lab = Lab()
    the_lab.start()
    try:
        yield the_lab
    finally:
        the_lab.stop()


@pytest.fixture
def vpn_down(lab: Lab) -> Iterator[None]:
    """No tunnel: the client reaches the internet and the DMZ only."""
    assert lab.vpn is not None
    lab.vpn.disconnect()
    yield None


@pytest.fixture
def vpn_split(lab: Lab) -> Iterator[VpnSession]:
    """openconnect connected to the split-tunnel gateway (only 192.0.2.0/24 via the tunnel)."""
    assert lab.vpn is not None
    session = lab.vpn.connect("split")
    try:
        yield session
    finally:
        lab.vpn.disconnect()


@pytest.fixture
def vpn_full(lab: Lab) -> Iterator[VpnSession]:
    """openconnect connected to the full-tunnel gateway (default route via the tunnel)."""
    assert lab.vpn is not None
    session = lab.vpn.connect("full")
    try:
        yield session
    finally:
        lab.vpn.disconnect()


@pytest.fixture(scope="session")
def lab_peers(lab: Lab) -> Peers:
    """nmap / ike-scan / openconnect --authenticate wrappers bound to the lab."""
    return Peers(lab)


@pytest.fixture(scope="session")
def accessready_run(lab: Lab) -> Callable[..., dict[str, Any]]:
    """``accessready_run(args, profile_text, **kw)``: run accessready in the client host and
    get ``{"exit_code", "result", "stdout", "stderr", ...}`` (see ``tests.lab.run``)."""

    def call(args: list[str] | tuple[str, ...] = (), profile_text: str = "", **kw: Any) -> dict:
        return run_accessready(lab, args, profile_text, **kw)

    return call


def _service_fixture(service: str, doc: str) -> Any:
    def fixture(lab: Lab) -> Service:
        return lab.service(service)

    fixture.__doc__ = doc
    fixture.__name__ = f"lab_{service}"
    return pytest.fixture(scope="session", name=f"lab_{service}")(fixture)


lab_ssh = _service_fixture("ssh", "sshd 192.0.2.22:22 (inside; needs a tunnel), support user.")
lab_rdp = _service_fixture("rdp", "xrdp 192.0.2.33:3389 (inside), no NLA.")
lab_anyconnect_split = _service_fixture("anyconnect_split", "ocserv split tunnel 198.51.100.10.")
lab_anyconnect_full = _service_fixture("anyconnect_full", "ocserv full tunnel 198.51.100.11.")
lab_ikev2 = _service_fixture("ikev2", "charon IKEv2 responder 198.51.100.20 UDP 500/4500.")
lab_l2tp = _service_fixture("l2tp", "charon IKEv1 (L2TP/IPsec) responder 198.51.100.21.")
lab_pptp = _service_fixture("pptp", "pptpd 198.51.100.30:1723 (control connection only).")
lab_adfs = _service_fixture("adfs", "AD FS HTTPS 192.0.2.44:443 (inside).")
lab_wap = _service_fixture("wap", "WAP HTTPS 198.51.100.40:443 plus certificate variants.")
lab_dns_internal = _service_fixture("dns_internal", "dnsmasq internal view 192.0.2.53.")
lab_dns_external = _service_fixture("dns_external", "dnsmasq external view 198.51.100.53.")
lab_drop = _service_fixture("drop", "Drops everything: 198.51.100.66 / 192.0.2.66.")
lab_reject = _service_fixture("reject", "Refuses everything (RST): 198.51.100.77 / 192.0.2.77.")
lab_public_site = _service_fixture("public_site", "The internet: 203.0.113.80 (80, 443, 5938).")
