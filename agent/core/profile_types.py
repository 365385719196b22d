"""The typed profile: what ``customer.toml`` becomes once it has been validated.

Frozen dataclasses only; :mod:`accessready.agent.core.profile` builds them. Checks receive these
objects and never read the profile file themselves.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass, field
from typing import Any

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Endpoint:
    """A host with an optional port, written ``"host"`` or ``"host:port"``."""

    host: str
    port: int | None = None

    def __str__(self) -> str:
        if self.port is None:
            return self.host
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class SecretRef:
    """Where a password comes from: never the profile itself."""

    source: str  # "env" | "keyring" | "prompt"
    name: str = ""

    def describe(self) -> str:
        """A human description that contains no secret: ``env ACCESSREADY_PASSWORD``."""
        return f"{self.source} {self.name}".strip()


@dataclass(frozen=True)
class Contact:
    """A named person at the customer."""

    name: str
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class Customer:
    """``[customer]``: who the customer is, the paperwork, the contacts."""

    name: str
    agreement: str | None = None
    agreement_valid_until: dt.date | None = None
    dpa_signed: dt.date | None = None
    support_email: str | None = None
    support_phone: str | None = None
    maintenance_contact: str | None = None
    contacts: tuple[Contact, ...] = ()
    lang: str | None = None


@dataclass(frozen=True)
class Network:
    """``[network]``: resolvers and which traffic must (not) use the tunnel."""

    internal_resolvers: tuple[Endpoint, ...] = ()
    external_resolvers: tuple[Endpoint, ...] = ()
    internal_subnets: tuple[IPNetwork, ...] = ()
    internet_probe: str | None = None


@dataclass(frozen=True)
class TlsOptions:
    """Trust settings for a TLS endpoint: an extra CA bundle, or verification off (loud)."""

    ca_file: str | None = None
    verify: bool = True


@dataclass(frozen=True)
class TeamViewerCfg:
    """``[access.teamviewer]``."""

    id: str | None = None
    routers: tuple[str, ...] = (
        "router1.teamviewer.com",
        "router2.teamviewer.com",
        "master1.teamviewer.com",
    )
    ports: tuple[int, ...] = (5938, 443, 80)
    server: str | None = None


@dataclass(frozen=True)
class GatewayCfg:
    """``[access.anyconnect]`` / ``[access.checkpoint]``: a VPN gateway reached over TLS."""

    gateway: str
    group: str | None = None
    port: int = 443
    ports: dict[str, int] = field(default_factory=dict)
    tls: TlsOptions = TlsOptions()


@dataclass(frozen=True)
class WindowsVpnCfg:
    """``[access.windows_vpn]``: a VPN server for Windows' built-in client."""

    server: str
    tunnel: str = "ikev2"
    connection: str | None = None
    port: int | None = None
    ports: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Access:
    """``[access]``: the methods the customer offers and their settings."""

    methods: tuple[str, ...] = ()
    teamviewer: TeamViewerCfg | None = None
    anyconnect: GatewayCfg | None = None
    checkpoint: GatewayCfg | None = None
    windows_vpn: WindowsVpnCfg | None = None


@dataclass(frozen=True)
class Account:
    """``[account]``: the support account the supplier uses on the customer's servers."""

    username: str | None = None
    password: SecretRef | None = None
    ssh_key: str | None = None
    known_hosts: str | None = None
    min_password_days: int = 14


@dataclass(frozen=True)
class SshCfg:
    """A server's ``ssh = { ... }`` table."""

    port: int = 22
    known_hosts: str | None = None


@dataclass(frozen=True)
class RdpCfg:
    """A server's ``rdp = { ... }`` table."""

    port: int = 3389


@dataclass(frozen=True)
class WinrmCfg:
    """A server's ``winrm = { ... }`` table."""

    transport: str = "ntlm"
    https: bool = True
    port: int | None = None
    tls: TlsOptions = TlsOptions()
    allow_insecure_credentials: bool = False

    @property
    def effective_port(self) -> int:
        """The configured port, or WinRM's default for the scheme (5986 / 5985)."""
        if self.port is not None:
            return self.port
        return 5986 if self.https else 5985


@dataclass(frozen=True)
class Server:
    """One ``[[servers]]`` entry."""

    name: str
    address: str
    roles: tuple[str, ...] = ()
    remote: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    ssh: SshCfg = SshCfg()
    rdp: RdpCfg = RdpCfg()
    winrm: WinrmCfg = WinrmCfg()
    known_hosts: str | None = None
    tls: TlsOptions = TlsOptions()


@dataclass(frozen=True)
class AdfsCfg:
    """``[adfs]``: the federation service."""

    federation_service: str
    cert_warn_days: int = 30
    port: int = 443
    ports: dict[str, int] = field(default_factory=dict)
    tls: TlsOptions = TlsOptions()


@dataclass(frozen=True)
class ChecksCfg:
    """``[checks]``: run settings."""

    timeout: float = 10.0
    concurrency: int = 32
    skip: tuple[str, ...] = ()
    only: tuple[str, ...] = ()


@dataclass(frozen=True)
class Waiver:
    """One ``[[waivers]]`` entry: a finding the customer accepts, with why and until when."""

    check: str
    reason: str
    until: dt.date
    target: str | None = None
    line: int = 0  # where the entry starts, for messages
    check_line: int = 0
    until_line: int = 0


@dataclass(frozen=True)
class Profile:
    """A whole validated profile."""

    path: str
    customer: Customer
    network: Network = Network()
    access: Access = Access()
    account: Account = Account()
    servers: tuple[Server, ...] = ()
    adfs: AdfsCfg | None = None
    checks: ChecksCfg = ChecksCfg()
    waivers: tuple[Waiver, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
