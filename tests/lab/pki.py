"""Test PKI for the lab: a CA and the leaf certificates the daemons serve, plus SSH keys.

The certificates come from :mod:`accessready.agent.demo.simulators.pki` (the simulators' CA, so
the lab and the simulators share one implementation), generated fresh per lab and written
as PEM next to the lab's other files; this module adds the facts tests assert on
(:class:`CertFiles`). Certificate variants for TLS checks (all for the AD FS name unless
noted):

``sts``           valid, issued by the lab CA (AD FS and WAP on port 443)
``sts_expiring``  valid but expiring in 10 days
``sts_expired``   expired yesterday
``sts_wrong_name`` valid, but for ``wrong.<zone>``
``sts_self_signed`` self-signed (not from the lab CA)
``vpn_split``, ``vpn_full``  the two ocserv gateways
``rdp``           xrdp
``token_signing`` the AD FS token-signing certificate published in federation metadata

The CA's private key stays in memory: nothing in the lab signs with it later.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from accessready.agent.demo.simulators import pki

UTC = dt.UTC


@dataclass(frozen=True)
class CertFiles:
    """A certificate and its key on disk, with the facts tests assert on."""

    name: str
    cert: Path
    key: Path | None  # None for the CA: its key is never written
    subject_cn: str
    dns_names: tuple[str, ...]
    ip_addresses: tuple[str, ...]
    not_before: dt.datetime
    not_after: dt.datetime
    issuer_cn: str
    sha256: str  # hex fingerprint of the DER certificate
    pin_sha256: str  # "pin-sha256:<base64 SPKI hash>", as openconnect --servercert wants

    def to_dict(self) -> dict[str, object]:
        """JSON-friendly form."""
        return {
            "cert": str(self.cert),
            "key": str(self.key) if self.key else None,
            "subject_cn": self.subject_cn,
            "dns_names": list(self.dns_names),
            "ip_addresses": list(self.ip_addresses),
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
            "issuer_cn": self.issuer_cn,
            "sha256": self.sha256,
            "pin_sha256": self.pin_sha256,
        }

    def pem(self) -> str:
        """The certificate as PEM text."""
        return self.cert.read_text()

    def der_base64(self) -> str:
        """The certificate as base64 DER (how SAML metadata embeds it)."""
        cert = x509.load_pem_x509_certificate(self.cert.read_bytes())
        return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def _common_name(name: x509.Name) -> str:
    return str(name.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value)


def _facts(name: str, cert_pem: bytes, cert_path: Path, key_path: Path | None,
           dns_names: Sequence[str] = (), ip_addresses: Sequence[str] = ()) -> CertFiles:
    """What tests assert on, read back from the certificate itself."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return CertFiles(
        name=name,
        cert=cert_path,
        key=key_path,
        subject_cn=_common_name(cert.subject),
        dns_names=tuple(dns_names),
        ip_addresses=tuple(ip_addresses),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        issuer_cn=_common_name(cert.issuer),
        sha256=cert.fingerprint(hashes.SHA256()).hex(),
        pin_sha256="pin-sha256:" + base64.b64encode(hashlib.sha256(spki).digest()).decode(),
    )


class LabCA:
    """The lab's CA (:func:`accessready.agent.demo.simulators.pki.make_ca`) issuing into
    ``directory``: ``<name>.pem`` and ``<name>.key`` (0600) per certificate."""

    def __init__(self, directory: Path, common_name: str = "accessready lab CA") -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.ca = pki.make_ca(common_name)
        self.cert_path = self.ca.write(directory / "ca.pem")
        self.files = _facts("ca", self.ca.cert_pem, self.cert_path, None)

    def issue(
        self,
        name: str,
        common_name: str,
        *,
        dns_names: Sequence[str] = (),
        ip_addresses: Sequence[str] = (),
        valid_from: dt.timedelta = dt.timedelta(days=-30),
        valid_for: dt.timedelta = dt.timedelta(days=365),
        self_signed: bool = False,
        key: Any = None,
        server: bool = True,
    ) -> CertFiles:
        """Issue (or self-sign) a certificate; validity is relative to now."""
        start = dt.datetime.now(UTC) + valid_from
        cert_pem, key_pem = pki.issue_certificate(
            None if self_signed else self.ca, common_name, dns_names=dns_names,
            ip_addresses=ip_addresses, not_before=start, not_after=start + valid_for,
            key=key, server_auth=server)
        cert_path = self.directory / f"{name}.pem"
        key_path = self.directory / f"{name}.key"
        cert_path.write_bytes(cert_pem)
        key_path.write_bytes(key_pem)
        key_path.chmod(0o600)
        return _facts(name, cert_pem, cert_path, key_path, dns_names, ip_addresses)


@dataclass(frozen=True)
class SshKey:
    """An Ed25519 key pair in OpenSSH formats, with its fingerprints."""

    private_key: Path
    public_key: Path
    public_line: str  # "ssh-ed25519 AAAA... comment"
    sha256: str  # "SHA256:..." as ssh-keygen -l prints it
    md5: str  # "aa:bb:..." as nmap's ssh-hostkey prints it

    def to_dict(self) -> dict[str, str]:
        """JSON-friendly form."""
        return {
            "private_key": str(self.private_key),
            "public_key": str(self.public_key),
            "public_line": self.public_line,
            "sha256": self.sha256,
            "md5": self.md5,
        }


def make_ssh_key(path: Path, comment: str) -> SshKey:
    """Write an Ed25519 key to ``path`` (0600) and ``path.pub``."""
    key = ed25519.Ed25519PrivateKey.generate()
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)
    pub = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode()
    line = f"{pub} {comment}"
    pub_path = path.with_name(path.name + ".pub")
    pub_path.write_text(line + "\n")
    blob = base64.b64decode(pub.split()[1])
    sha = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    md5 = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    return SshKey(
        private_key=path,
        public_key=pub_path,
        public_line=line,
        sha256="SHA256:" + sha,
        md5=":".join(md5[i : i + 2] for i in range(0, len(md5), 2)),
    )


def build_lab_pki(
    directory: Path, zone: str, addresses: dict[str, list[str]]
) -> dict[str, CertFiles]:
    """Create the CA and every certificate the lab serves.

    ``addresses`` maps a certificate name to the IP addresses it should also carry
    (so clients can connect by address and still verify the name).
    """
    ca = LabCA(directory)
    sts = f"sts.{zone}"
    sts_key = pki.new_key()  # the variants share a key: cheaper, and irrelevant to the checks
    day = dt.timedelta(days=1)
    certs: dict[str, CertFiles] = {"ca": ca.files}
    sts_ips = addresses.get("sts", [])
    certs["sts"] = ca.issue("sts", sts, dns_names=[sts], ip_addresses=sts_ips, key=sts_key)
    certs["sts_expiring"] = ca.issue(
        "sts_expiring",
        sts,
        dns_names=[sts],
        ip_addresses=sts_ips,
        valid_from=-355 * day,
        valid_for=365 * day,
        key=sts_key,
    )
    certs["sts_expired"] = ca.issue(
        "sts_expired",
        sts,
        dns_names=[sts],
        ip_addresses=sts_ips,
        valid_from=-366 * day,
        valid_for=365 * day,
        key=sts_key,
    )
    wrong = f"wrong.{zone}"
    certs["sts_wrong_name"] = ca.issue("sts_wrong_name", wrong, dns_names=[wrong], key=sts_key)
    certs["sts_self_signed"] = ca.issue(
        "sts_self_signed", sts, dns_names=[sts], ip_addresses=sts_ips, self_signed=True
    )
    for name, host in (("vpn_split", f"vpn.{zone}"), ("vpn_full", f"vpnfull.{zone}")):
        certs[name] = ca.issue(
            name, host, dns_names=[host], ip_addresses=addresses.get(name, [])
        )
    rdp = f"rdp01.{zone}"
    certs["rdp"] = ca.issue("rdp", rdp, dns_names=[rdp], ip_addresses=addresses.get("rdp", []))
    certs["token_signing"] = ca.issue(
        "token_signing", f"ADFS Signing - {sts}", self_signed=True, server=False
    )
    return certs
