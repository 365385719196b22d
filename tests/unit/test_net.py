"""agent/io/net.py: bounded name resolution, silent vs. timeout, TLS trust and observation.

Every peer is on loopback; the system resolver is replaced by one pointing at a loopback
DNS simulator (or a silent UDP socket), so no query leaves the machine.
"""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from accessready.agent.core.failures import status_of
from accessready.agent.core.model import Status
from accessready.agent.core.profile_types import Endpoint, Network, TlsOptions
from accessready.agent.demo.simulators import pki
from accessready.agent.demo.simulators.dns import DnsSimulator
from accessready.agent.io import dns as agent_dns
from accessready.agent.io import net
from accessready.agent.io import tls as tlsio
from accessready.agent.io.dns import ResolveError, Resolvers, resolve_host
from accessready.agent.io.net import ProbeFailure
from accessready.agent.io.tls import CertInfo
from accessready.agent.plugin.probekit import judge_tls

from .dnsfakes import dead_system_dns, empty_hosts, system_dns
from .hostile import Udp, tcp

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
def no_hosts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty hosts file, so only the (patched) DNS answers."""
    return empty_hosts(tmp_path, monkeypatch)


@pytest.fixture
def lab_dns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DnsSimulator]:
    """The 'system' resolver is a loopback simulator that knows ``probe.test``."""
    with system_dns({("probe.test.", "A"): ["127.0.0.1"],
                     ("v6only.test.", "AAAA"): ["::1"],
                     ("noaddr.test.", "MX"): ["10 mx.test."]}, tmp_path, monkeypatch) as sim:
        yield sim


@pytest.fixture
def dead_dns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Udp]:
    """The 'system' resolver is a UDP socket that never answers."""
    with dead_system_dns(tmp_path, monkeypatch) as silent:
        yield silent


def _numeric_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything asks getaddrinfo (no timeout) to resolve a name outside
    the bounded pool's workers."""
    real = socket.getaddrinfo

    def guarded(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        flags = kwargs.get("flags", args[3] if len(args) > 3 else 0)
        on_pool = threading.current_thread().name.startswith("accessready-getaddrinfo")
        assert on_pool or flags & socket.AI_NUMERICHOST, f"unbounded getaddrinfo({host!r})"
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)


# --- name resolution -------------------------------------------------------------------------

def test_names_resolve_through_the_bounded_resolver(lab_dns, monkeypatch) -> None:
    _numeric_only(monkeypatch)
    with tcp("silent") as peer:
        sock, _ = net.tcp_connect("probe.test", peer.port, 3.0)
        sock.close()
    assert lab_dns.queries >= 1


def test_ipv6_only_name_is_asked_for_aaaa(lab_dns) -> None:
    assert resolve_host("v6only.test", 3.0) == ("::1",)


def test_dead_resolver_is_a_local_error_not_a_finding(dead_dns, monkeypatch) -> None:
    _numeric_only(monkeypatch)
    with pytest.raises(ProbeFailure) as info:
        net.tcp_connect("gateway.nowhere.test", 443, 0.5)
    assert info.value.kind == "resolver"
    assert status_of(info.value.kind) is Status.ERROR
    assert dead_dns.received >= 1  # it was asked, and the wait was bounded


def test_udp_probe_resolves_with_the_same_bound(dead_dns, monkeypatch) -> None:
    _numeric_only(monkeypatch)
    outcome = net.udp_exchange("vpn.nowhere.test", 500, b"x", lambda _: True, 0.5)
    assert outcome.kind == "resolver" and outcome.status is Status.ERROR


def test_nxdomain_and_nodata_are_findings(lab_dns) -> None:
    for name in ("missing.test", "noaddr.test"):
        with pytest.raises(ProbeFailure) as info:
            net.tcp_connect(name, 443, 3.0)
        assert info.value.kind == "dns", name
        assert status_of("dns") is Status.FAIL


def test_ip_literals_and_hosts_entries_skip_dns(no_hosts, monkeypatch) -> None:
    def no_dns() -> object:
        raise AssertionError("DNS asked for a name it should not need")

    monkeypatch.setattr(agent_dns, "system_resolver", no_dns)
    no_hosts.write_text("127.0.0.1  Local-Probe.test  alias # comment\n::1 ip6.test\n")
    assert resolve_host("127.0.0.1", 1.0) == ("127.0.0.1",)
    assert resolve_host("::1", 1.0) == ("::1",)
    assert resolve_host("local-probe.TEST.", 1.0) == ("127.0.0.1",)
    assert resolve_host("ip6.test", 1.0) == ("::1",)
    assert resolve_host("localhost", 1.0) == ("127.0.0.1", "::1")
    with tcp("silent") as peer:
        sock, _ = net.tcp_connect("alias", peer.port, 3.0)
        sock.close()


def test_resolver_named_by_an_unresolvable_host_is_an_answer_not_an_exception(
        lab_dns) -> None:
    # dns._address used getaddrinfo without a timeout and let gaierror escape
    resolvers = Resolvers(Network(external_resolvers=(Endpoint("ns.missing.test"),)))
    answer = resolvers.lookup("example.test", "A", timeout=2.0)
    assert answer.outcome == "error"
    assert "missing.test" in answer.error


def test_resolve_error_kinds_say_whose_problem() -> None:
    assert ResolveError("timeout", "").local and ResolveError("error", "").local
    assert not ResolveError("nxdomain", "").local and not ResolveError("nodata", "").local


# --- silent vs timeout -----------------------------------------------------------------------

def test_accepted_but_silent_is_not_a_timeout() -> None:
    with tcp("silent") as peer:
        outcome = net.tcp_exchange("127.0.0.1", peer.port, b"hello", lambda d: bool(d), 0.5)
    assert outcome.kind == "silent" and outcome.sent == b"hello"
    assert "accepted the connection" in outcome.message
    assert outcome.connect_ms is not None and outcome.to_json()["failure"] == "silent"


def test_connect_that_times_out_is_a_timeout() -> None:
    failure = net.as_failure(TimeoutError(), 0.0, "192.0.2.1", 443, connected=False)
    assert failure.kind == "timeout"
    assert net.as_failure(TimeoutError(), 0.0, "192.0.2.1", 443, connected=True).kind == \
        "silent"


# --- TLS trust: ca_file adds, never replaces ---------------------------------------------------

class _TlsServer:
    """A one-thread TLS server on loopback presenting ``cert_file``; optional old TLS."""

    def __init__(self, files: pki.TlsFiles, *, max_tls: ssl.TLSVersion | None = None) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        if max_tls is not None:
            self.context.set_ciphers("DEFAULT:@SECLEVEL=0")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                self.context.minimum_version = ssl.TLSVersion.TLSv1
                self.context.maximum_version = max_tls
        self.context.load_cert_chain(str(files.cert_file), str(files.key_file))
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> _TlsServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            conn.settimeout(3)
            try:
                with self.context.wrap_socket(conn, server_side=True):
                    pass
            except OSError:
                conn.close()


@pytest.fixture(scope="module")
def cas(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("cas")
    system, private = pki.make_ca("Pretend System CA"), pki.make_ca("Customer Private CA")
    out: dict[str, object] = {"system_bundle": system.write(folder / "system.pem"),
                              "private_ca": private.write(folder / "private.pem")}
    for name, ca in (("by_system", system), ("by_private", private)):
        cert, key = pki.issue(ca, ["gw.test", "127.0.0.1"])
        out[name] = pki.write_tls_files(folder, name, ca, cert, key)
    return out


def test_ca_file_adds_a_ca_to_the_system_store(cas, monkeypatch) -> None:
    # OpenSSL's default verify paths honour SSL_CERT_FILE: our pretend system store.
    monkeypatch.setenv("SSL_CERT_FILE", str(cas["system_bundle"]))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    tls = TlsOptions(ca_file=str(cas["private_ca"]))
    for which in ("by_system", "by_private"):
        with _TlsServer(cas[which]) as server:  # type: ignore[arg-type]
            sock, info = tlsio.tls_connect("127.0.0.1", server.port, tls=tls,
                                         server_name="gw.test", timeout=3.0)
            sock.close()
        assert info.verified, (which, info.verify_kind, info.verify_error)


def test_unreadable_ca_file_is_a_local_error(tmp_path) -> None:
    with pytest.raises(ProbeFailure) as info:  # the building block raises …
        tlsio.tls_connect("127.0.0.1", 9, tls=TlsOptions(ca_file=str(tmp_path / "nope.pem")),
                        server_name="gw.test", timeout=1.0)
    assert info.value.kind == "error" and "nope.pem" in str(info.value)
    # … the probe says so in its outcome
    outcome = tlsio.tls_handshake("127.0.0.1", 9, tls=TlsOptions(
        ca_file=str(tmp_path / "nope.pem")), server_name="gw.test", timeout=1.0)
    assert outcome.kind == "error" and "nope.pem" in outcome.message
    assert outcome.status is Status.ERROR and status_of(outcome.kind) is Status.ERROR


# --- TLS observation of old servers ------------------------------------------------------------

@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1])
def test_old_tls_server_is_seen_and_judged_by_its_version(cas, version) -> None:
    with _TlsServer(cas["by_private"], max_tls=version) as server:  # type: ignore[arg-type]
        sock, info = tlsio.tls_connect(
            "127.0.0.1", server.port, tls=TlsOptions(ca_file=str(cas["private_ca"])),
            server_name="gw.test", timeout=3.0)
        sock.close()
    assert info.version in ("TLSv1", "TLSv1.1")
    assert not info.verified and info.verify_kind == "old_tls"
    assert info.cert is not None and info.cert.matches("gw.test")
    verdict = judge_tls(info, NOW, untrusted=Status.FAIL)
    assert verdict.status is Status.FAIL and verdict.fix == "old_tls"
    assert info.version in verdict.text.en and info.version in verdict.text.sv


def test_modern_only_handshake_tells_a_too_old_server_from_a_modern_one(cas) -> None:
    with _TlsServer(cas["by_private"], max_tls=ssl.TLSVersion.TLSv1) as server:  # type: ignore[arg-type]
        old = tlsio.modern_tls_handshake("127.0.0.1", server.port, "gw.test", 3.0)
    assert old.kind == "tls" and old.facts["protocol_refused"] is True, old.to_json()
    assert old.status is Status.FAIL and old.connect_ms is not None
    with _TlsServer(cas["by_private"]) as server:  # type: ignore[arg-type]
        new = tlsio.modern_tls_handshake("127.0.0.1", server.port, "gw.test", 3.0)
    assert new.ok and tlsio.modern_tls(new.facts["version"]), new.to_json()


def test_modern_server_passes_judgement(cas, monkeypatch) -> None:
    with _TlsServer(cas["by_private"]) as server:  # type: ignore[arg-type]
        sock, info = tlsio.tls_connect(
            "127.0.0.1", server.port, tls=TlsOptions(ca_file=str(cas["private_ca"])),
            server_name="gw.test", timeout=3.0)
        sock.close()
    assert info.verified and tlsio.modern_tls(info.version)
    assert judge_tls(info, NOW, untrusted=Status.FAIL).status is Status.PASS


# --- certificate names ---------------------------------------------------------------------------

def _cert(names: list[str]) -> CertInfo:
    ca = pki.make_ca("Names CA")
    pem, _ = pki.issue(ca, names)
    return tlsio.parse_certificate(ssl.PEM_cert_to_DER_cert(pem.decode()))


def test_ip_address_sans_match_ip_names() -> None:
    cert = _cert(["vpn.test", "10.1.2.3", "2001:db8::1"])
    assert cert.ip_addresses == ("10.1.2.3", "2001:db8::1")
    assert cert.matches("10.1.2.3")
    assert cert.matches("2001:db8:0::1")  # the same address, written differently
    assert cert.matches("[2001:db8::1]")
    assert not cert.matches("10.1.2.4")
    assert cert.matches("vpn.test") and not cert.matches("other.test")
    assert "ip_addresses" in cert.to_json()


def test_an_ip_never_matches_a_dns_name_or_the_cn() -> None:
    cert = _cert(["10.9.9.9.example", "*.test"])
    assert not cert.matches("10.9.9.9")
    only_ips = _cert(["10.1.1.1"])  # CN 10.1.1.1 too, but SANs exist: CN is not consulted
    assert only_ips.matches("10.1.1.1")
    assert not only_ips.matches("host.test")
