"""A simulated AD FS farm on loopback for the ``adfs`` tests: certificates, nodes, profile.

Every node is an :class:`~accessready.agent.demo.simulators.adfs.AdfsSimulator` on its own
loopback address (127.0.0.2, 127.0.0.3, …) sharing one HTTPS and one HTTP port, because
the profile's ``[adfs] port`` / ``ports.http`` apply to every node. Two
:class:`~accessready.agent.demo.simulators.dns.DnsSimulator` instances play the internal and the
external DNS view.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import functools
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from accessready.agent.core.model import Result
from accessready.agent.core.profile import parse_profile
from accessready.agent.core.profile_types import Profile
from accessready.agent.demo.simulators import pki
from accessready.agent.demo.simulators.adfs import (
    AdfsSimulator,
    build_metadata,
    token_certificate,
)
from accessready.agent.demo.simulators.dns import DnsSimulator
from accessready.agent.io.dns import Resolvers
from accessready.agent.plugin.checkapi import Check, CheckContext

FS = "sts.kund.example"
NOW = dt.datetime.now(dt.UTC)


def start_nodes(makers: Sequence[Callable[[int, int], AdfsSimulator]],
                attempts: int = 20) -> list[AdfsSimulator]:
    """Build and start several nodes that share one HTTPS and one HTTP port.

    Each maker gets ``(https_port, http_port)`` (0 for the first: any free port) and must
    bind a different loopback address. Retries a bounded number of times when a port the
    first node got is taken on another address.
    """
    last: OSError | None = None
    for _ in range(attempts):
        nodes: list[AdfsSimulator] = []
        try:
            first = makers[0](0, 0)
            nodes.append(first)
            for make in makers[1:]:
                nodes.append(make(first.https_port, first.http_port))
        except OSError as exc:
            for node in nodes:
                node.stop()
            if exc.errno != errno.EADDRINUSE:
                raise
            last = exc
            continue
        return [node.start() for node in nodes]
    raise OSError(errno.EADDRINUSE, f"no common free ports after {attempts} attempts: {last}")


def self_signed_server_cert(dns_names: Sequence[str], not_before: dt.datetime,
                            not_after: dt.datetime) -> tuple[bytes, bytes]:
    """A self-signed TLS server certificate with ``dns_names`` as SANs: (cert, key) PEM."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_names[0])])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before).not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def days(n: float) -> dt.datetime:
    """``n`` days from now (negative: in the past)."""
    return NOW + dt.timedelta(days=n)


@dataclass(frozen=True)
class Pki:
    """The test CA and the certificate matrix, as (cert PEM, key PEM) pairs."""

    ca: pki.Ca
    valid: tuple[bytes, bytes]
    expiring: tuple[bytes, bytes]
    expired: tuple[bytes, bytes]
    wrong_name: tuple[bytes, bytes]
    self_signed: tuple[bytes, bytes]
    signing: tuple[bytes, bytes]
    signing_new: tuple[bytes, bytes]
    signing_expired: tuple[bytes, bytes]
    signing_soon: tuple[bytes, bytes]
    encryption: tuple[bytes, bytes]


@functools.cache
def certificates() -> Pki:
    """Made once per test session (RSA keys for token certificates take a moment)."""
    ca = pki.make_ca("Kund Test CA", days=800)
    return Pki(
        ca=ca,
        valid=pki.issue(ca, [FS], days(-30), days(300)),
        expiring=pki.issue(ca, [FS], days(-300), days(10)),
        expired=pki.issue(ca, [FS], days(-400), days(-3)),
        wrong_name=pki.issue(ca, ["www.kund.example"], days(-30), days(300)),
        self_signed=self_signed_server_cert([FS], days(-30), days(300)),
        signing=token_certificate(f"ADFS Signing - {FS}", days(-100), days(265)),
        signing_new=token_certificate(f"ADFS Signing - {FS}", days(-1), days(364)),
        signing_expired=token_certificate(f"ADFS Signing - {FS}", days(-366), days(-1)),
        signing_soon=token_certificate(f"ADFS Signing - {FS}", days(-353), days(12)),
        encryption=token_certificate(f"ADFS Encryption - {FS}", days(-100), days(265)),
    )


def metadata(signing: Sequence[bytes] | None = None, encryption: Sequence[bytes] | None = None,
             entity_id: str | None = None) -> bytes:
    """Federation metadata with the given certificates (default: one of each, valid)."""
    p = certificates()
    return build_metadata(FS, signing if signing is not None else [p.signing[0]],
                          encryption if encryption is not None else [p.encryption[0]],
                          entity_id)


XML_BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="&lol9;"/>
"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE EntityDescriptor [
 <!ENTITY secret SYSTEM "file:///etc/hostname">
]>
<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="&secret;"/>
"""


@dataclass
class NodeSpec:
    """One simulated node: name, role and how it behaves."""

    name: str
    role: str = "adfs"
    cert: str = "valid"  # a field of Pki
    skew: float = 0.0
    metadata: bytes | None = None
    metadata_override: bytes | None = None
    service_running: bool = True
    require_sni: bool = True
    max_tls: Any = None
    listen: bool = True  # False: the profile lists it, nothing listens (refused)
    mex: bool = True  # False: a WAP that does not publish mex (404), as hardened proxies do


@dataclass
class Farm:
    """A running farm: its nodes, DNS views, profile and a way to run checks."""

    profile: Profile
    nodes: dict[str, AdfsSimulator]
    addresses: dict[str, str]
    internal: DnsSimulator
    external: DnsSimulator
    ca_file: Path
    now: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))

    def run(self, check: Check, timeout: float = 10.0,
            now: Callable[[], dt.datetime] | None = None) -> list[Result]:
        """Run ``check`` on every target it plans, as the runner would (one context each)."""
        return run_check(check, self.profile, timeout=timeout, now=now or self.now)


def run_check(check: Check, profile: Profile, timeout: float = 10.0,
              now: Callable[[], dt.datetime] | None = None) -> list[Result]:
    """Every result of ``check`` on ``profile`` (skips when it does not apply)."""
    why_not = check.applies(profile)
    if why_not is not None:
        from accessready.agent.core.model import Status
        return [check.result("-", Status.SKIP, why_not)]
    results: list[Result] = []
    services = {"dns": Resolvers(profile.network)}
    for target in check.targets(profile):
        ctx = CheckContext(profile=profile, deadline=time.monotonic() + timeout,
                           services=services,
                           now=now or (lambda: dt.datetime.now(dt.UTC)))
        produced = check.run(ctx, target)
        results.extend([produced] if isinstance(produced, Result) else produced)
    return results


def by_target(results: list[Result]) -> dict[str, Result]:
    """Results keyed by target."""
    return {r.target: r for r in results}


def profile_text(servers: list[tuple[str, str, str]], internal: str | None, external: str,
                 port: int, http: int, ca_file: str | None, extra_adfs: str = "") -> str:
    """A minimal valid profile with ``[adfs]`` and the given (name, role, address) servers."""
    lines = ['[customer]', 'name = "Kund"', '[network]']
    if internal:
        lines.append(f'internal_resolvers = ["{internal}"]')
    lines.append(f'external_resolvers = ["{external}"]')
    lines += ['[access]', 'methods = ["teamviewer"]']
    for name, role, address in servers:
        lines += ['[[servers]]', f'name = "{name}"', f'address = "{address}"',
                  f'roles = ["{role}"]', 'remote = ["rdp"]']
    lines += ['[adfs]', f'federation_service = "{FS}"', 'cert_warn_days = 30',
              f'port = {port}', f'ports = {{ http = {http} }}']
    if ca_file:
        lines.append(f'ca_file = "{ca_file}"')
    if extra_adfs:
        lines.append(extra_adfs)
    return "\n".join(lines) + "\n"


def start_dns(records: dict, attempts: int = 10) -> DnsSimulator:
    """A started DnsSimulator. It binds UDP on an ephemeral port, then TCP on the same
    number, which another socket may hold already: retry a bounded number of times."""
    for attempt in range(attempts):
        try:
            return DnsSimulator(records).start()
        except OSError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


@contextlib.contextmanager
def farm(tmp: Path, specs: Sequence[NodeSpec], *, dns_internal: dict | None = None,
         dns_external: dict | None = None, trust_ca: bool = True,
         extra_adfs: str = "") -> Iterator[Farm]:
    """Start ``specs`` on 127.0.0.2… and two DNS views; yield the :class:`Farm`."""
    p = certificates()
    ca_file = p.ca.write(tmp / "ca.pem")
    addresses = {s.name: f"127.0.0.{i + 2}" for i, s in enumerate(specs)}
    listening = [s for s in specs if s.listen]
    default_md = metadata()

    def maker(spec: NodeSpec) -> Callable[[int, int], AdfsSimulator]:
        cert, key = getattr(p, spec.cert)
        chain = p.ca.cert_pem if spec.cert != "self_signed" else b""

        def make(https: int, http: int) -> AdfsSimulator:
            return AdfsSimulator(
                spec.role, FS, cert, key, spec.metadata if spec.metadata is not None
                else default_md, chain_pem=chain, host=addresses[spec.name],
                https_port=https, http_port=http, skew=spec.skew,
                metadata_override=spec.metadata_override,
                service_running=spec.service_running, mex_published=spec.mex,
                require_sni=spec.require_sni,
                max_tls=spec.max_tls)
        return make

    nodes_list = start_nodes([maker(s) for s in listening])
    nodes = {s.name: n for s, n in zip(listening, nodes_list, strict=True)}
    backend = next((nodes[s.name] for s in listening if s.role == "adfs"), None)
    for s in listening:
        if s.role == "wap":
            nodes[s.name].backend = backend
    port = nodes_list[0].https_port
    http = nodes_list[0].http_port
    adfs_addr = [addresses[s.name] for s in specs if s.role == "adfs"]
    wap_addr = [addresses[s.name] for s in specs if s.role == "wap"]
    internal_records = dns_internal if dns_internal is not None else (
        {(f"{FS}.", "A"): adfs_addr or wap_addr})
    external_records = dns_external if dns_external is not None else (
        {(f"{FS}.", "A"): wap_addr or adfs_addr})
    internal = start_dns(internal_records)
    external = start_dns(external_records)
    try:
        text = profile_text([(s.name, s.role, addresses[s.name]) for s in specs],
                            internal.address, external.address, port, http,
                            str(ca_file) if trust_ca else None, extra_adfs)
        yield Farm(parse_profile(text), nodes, addresses, internal, external, ca_file)
    finally:
        internal.stop()
        external.stop()
        for node in nodes_list:
            node.stop()
