"""A throwaway certificate authority for simulators: one CA, leaf certificates on demand.

Simulators that speak TLS (AnyConnect, Check Point, AD FS) need a certificate the checks
can verify; the demo profile then points ``ca_file`` at :attr:`Ca.cert_pem` written to a
temporary folder. Keys are EC P-256: generated in milliseconds, accepted by every TLS stack
the checks and the cross-check tools use (OpenSSL, GnuTLS).

Usage::

    ca = make_ca("Demo CA")
    cert_pem, key_pem = issue(ca, ["vpn.exempel.se", "127.0.0.1"])
    files = write_tls_files(tmpdir, "vpn", ca, cert_pem, key_pem)
    context = server_context(files)

An entry of ``dns_names`` that parses as an IP address becomes an IP-address SAN, so a
probe sent to ``127.0.0.1`` verifies without any name override.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Ca:
    """A CA: its certificate (PEM) and private key (kept as a ``cryptography`` object)."""

    name: str
    cert_pem: bytes
    key: Any
    cert: Any

    def write(self, path: str | Path) -> Path:
        """Write the CA certificate (the bundle a profile's ``ca_file`` names) to ``path``."""
        target = Path(path)
        target.write_bytes(self.cert_pem)
        return target


@dataclass(frozen=True)
class TlsFiles:
    """Where a server's certificate chain and key were written."""

    cert_file: Path
    key_file: Path
    ca_file: Path


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def make_ca(name: str, *, days: int = 3650) -> Ca:
    """A self-signed CA certificate valid from an hour ago for ``days`` days."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    start = _now() - dt.timedelta(hours=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    return Ca(name, cert.public_bytes(serialization.Encoding.PEM), key, cert)


def issue(ca: Ca, dns_names: list[str] | tuple[str, ...],
          not_before: dt.datetime | None = None,
          not_after: dt.datetime | None = None) -> tuple[bytes, bytes]:
    """A server certificate for ``dns_names`` signed by ``ca``: (cert PEM, key PEM).

    The first name is the subject CN. Default validity: from an hour ago for 365 days;
    pass dates in the past to make an expired certificate for a failure test.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    if not dns_names:
        raise ValueError("a certificate needs at least one name")
    key = ec.generate_private_key(ec.SECP256R1())
    start = not_before or _now() - dt.timedelta(hours=1)
    end = not_after or start + dt.timedelta(days=365)
    sans: list[x509.GeneralName] = []
    for name in dns_names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            sans.append(x509.DNSName(name))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_names[0])]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(end)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
                       critical=False)
        .sign(ca.key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def write_tls_files(directory: str | Path, stem: str, ca: Ca, cert_pem: bytes,
                    key_pem: bytes) -> TlsFiles:
    """Write ``<stem>.crt`` (leaf + CA chain), ``<stem>.key`` and ``<stem>-ca.crt``."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    cert_file = folder / f"{stem}.crt"
    key_file = folder / f"{stem}.key"
    cert_file.write_bytes(cert_pem + ca.cert_pem)
    key_file.write_bytes(key_pem)
    key_file.chmod(0o600)
    return TlsFiles(cert_file, key_file, ca.write(folder / f"{stem}-ca.crt"))


def server_context(files: TlsFiles) -> ssl.SSLContext:
    """A server-side TLS context presenting ``files``' certificate chain."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(files.cert_file), str(files.key_file))
    return context


def new_key() -> Any:
    """A fresh EC P-256 private key (a ``cryptography`` object), for
    :func:`issue_certificate`'s ``key`` when several certificates should share one."""
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def issue_certificate(ca: Ca | None, common_name: str, *,
                      dns_names: Sequence[str] = (), ip_addresses: Sequence[str] = (),
                      not_before: dt.datetime | None = None,
                      not_after: dt.datetime | None = None,
                      key: Any = None, server_auth: bool = True) -> tuple[bytes, bytes]:
    """:func:`issue` with the knobs a certificate-failure test needs: (cert PEM, key PEM).

    * ``ca`` None makes the certificate self-signed (issuer = subject, its own key);
    * ``common_name`` is apart from the SANs, which may be empty (a token-signing
      certificate has none): ``dns_names`` and ``ip_addresses`` are taken as given;
    * ``key`` certifies that private key instead of a new one (variants of one certificate);
    * ``server_auth`` False leaves out the serverAuth extended key usage (a signing
      certificate). Default validity as :func:`issue`.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = key if key is not None else new_key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    start = not_before or _now() - dt.timedelta(hours=1)
    end = not_after or start + dt.timedelta(days=365)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject if ca is None else ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    )
    sans: list[x509.GeneralName] = [x509.DNSName(name) for name in dns_names]
    sans += [x509.IPAddress(ipaddress.ip_address(a)) for a in ip_addresses]
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if server_auth:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    if ca is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False)
    cert = builder.sign(key if ca is None else ca.key, hashes.SHA256())
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem
