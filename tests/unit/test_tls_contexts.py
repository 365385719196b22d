"""TLS contexts are built once per trust setting, and anew when the CA file changes."""

from __future__ import annotations

import os
from pathlib import Path

from accessready.agent.core.profile_types import TlsOptions
from accessready.agent.demo.simulators import pki
from accessready.agent.io import tls


def test_one_verifying_context_per_trust_setting(tmp_path: Path) -> None:
    system = tls.shared_verifying_context(TlsOptions())
    assert tls.shared_verifying_context(TlsOptions()) is system
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(pki.make_ca("Context CA").cert_pem)
    with_ca = tls.shared_verifying_context(TlsOptions(ca_file=str(ca_file)))
    assert with_ca is not system
    assert tls.shared_verifying_context(TlsOptions(ca_file=str(ca_file))) is with_ca
    # The CA has our extra certificate on top of the system store.
    assert with_ca.cert_store_stats()["x509_ca"] == system.cert_store_stats()["x509_ca"] + 1


def test_a_changed_ca_file_gets_a_new_context(tmp_path: Path) -> None:
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(pki.make_ca("First CA").cert_pem)
    first = tls.shared_verifying_context(TlsOptions(ca_file=str(ca_file)))
    ca_file.write_bytes(pki.make_ca("First CA").cert_pem + pki.make_ca("Second CA").cert_pem)
    stat = ca_file.stat()
    os.utime(ca_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    second = tls.shared_verifying_context(TlsOptions(ca_file=str(ca_file)))
    assert second is not first
    assert second.cert_store_stats()["x509_ca"] == first.cert_store_stats()["x509_ca"] + 1


def test_one_observing_context() -> None:
    assert tls.shared_observing_context() is tls.shared_observing_context()
