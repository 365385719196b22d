"""The certificate facts are parsed once per distinct DER (issue 13), with the same evidence.

Pins: a cached answer equals a fresh parse field for field, for certificates of every shape
the checks see; an oversized DER and garbage are never kept; HTTPS requests to real loopback
servers give the same evidence from a cold cache and a warm one (trusted, untrusted and
name-mismatched certificates).
"""

from __future__ import annotations

import datetime as dt
import ssl
from pathlib import Path
from typing import Any

import pytest

from accessready.agent.core.profile_types import TlsOptions
from accessready.agent.demo.simulators import pki
from accessready.agent.io import tls as tlsio
from accessready.agent.io.http import http_request

from . import hostile

TIMINGS = ("connect_ms", "total_ms", "handshake_ms")


def _der(pem: bytes) -> bytes:
    return ssl.PEM_cert_to_DER_cert(pem.decode())


@pytest.fixture(scope="module")
def ca() -> pki.Ca:
    return pki.make_ca("Cache CA")


def _shapes(ca: pki.Ca) -> dict[str, bytes]:
    now = dt.datetime.now(dt.UTC)
    return {
        "names_and_ips": _der(pki.issue(ca, ["vpn.test", "*.apps.test", "10.1.2.3",
                                             "2001:db8::1"])[0]),
        "no_san": _der(pki.issue_certificate(ca, "token-signing")[0]),
        "self_signed": _der(pki.issue_certificate(None, "self.test",
                                                  dns_names=["self.test"])[0]),
        "expired": _der(pki.issue_certificate(ca, "old.test", dns_names=["old.test"],
                                              not_before=now - dt.timedelta(days=40),
                                              not_after=now - dt.timedelta(days=1))[0]),
        "the_ca": _der(ca.cert_pem),
    }


def test_a_cached_certificate_equals_a_fresh_parse(ca) -> None:
    for shape, der in _shapes(ca).items():
        first = tlsio.parse_certificate(der)
        assert first == tlsio._read_certificate(der), shape
        assert first.to_json() == tlsio._read_certificate(der).to_json(), shape
        assert tlsio.parse_certificate(bytearray(der)) is first, shape  # from the cache


def test_an_oversized_certificate_is_parsed_but_not_kept(ca) -> None:
    names = [f"host-{i:04d}.a-rather-long-department-name.example.test" for i in range(400)]
    der = _der(pki.issue(ca, names)[0])
    assert len(der) > tlsio._CACHED_CERT_BYTES
    first = tlsio.parse_certificate(der)
    again = tlsio.parse_certificate(der)
    assert first == again and first is not again
    assert first.dns_names == tuple(names)


def test_garbage_raises_every_time() -> None:
    for _ in range(2):
        with pytest.raises(ValueError):
            tlsio.parse_certificate(b"\x30\x03not a certificate")


def _without_timings(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if k not in TIMINGS}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


@pytest.mark.parametrize("names,trusted", [(["127.0.0.1"], True), (["other.test"], True),
                                          (["127.0.0.1"], False)])
def test_https_evidence_is_the_same_from_a_cold_and_a_warm_cache(
        ca, tmp_path: Path, names, trusted) -> None:
    files = pki.write_tls_files(tmp_path, "srv", ca, *pki.issue(ca, names))
    ca_file = str(files.ca_file) if trusted else str(pki.make_ca("Other").write(
        tmp_path / "other-ca.crt"))
    options = TlsOptions(ca_file=ca_file)
    with hostile.http(401, b"", tls=pki.server_context(files),
                      headers=[("WWW-Authenticate", "Negotiate")]) as server:
        def request() -> dict[str, Any]:
            out = http_request("127.0.0.1", server.port, "POST", "/wsman", tls=options,
                               timeout=5.0)
            assert out.ok, out.to_json()
            return out.to_json()

        tlsio._cached_certificate.cache_clear()
        cold = request()
        assert tlsio._cached_certificate.cache_info().currsize == 1
        warm = request()
        assert tlsio._cached_certificate.cache_info().hits >= 1
    assert _without_timings(cold) == _without_timings(warm)
    assert cold["tls"]["certificate"]["sha256"] == tlsio._read_certificate(
        _der(files.cert_file.read_bytes().split(b"-----END CERTIFICATE-----")[0]
             + b"-----END CERTIFICATE-----\n")).sha256
    assert cold["tls"]["verified"] is (trusted and names == ["127.0.0.1"])
