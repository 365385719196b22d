"""The typed profile: what ``customer.toml`` becomes once it has been validated.

Frozen dataclasses only; :mod:`accessready.agent.core.profile_build` fills them with final
values: every default applied (from :data:`~accessready.agent.core.profile_spec.DEFAULTS`,
the one table of them), every port chosen, every file named by an absolute path, every TLS
endpoint with its server name. Checks receive these objects, never read the profile file
themselves and never work out a default again.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass, field
from typing import Any

from accessready.agent.core.profile_spec import DEFAULTS

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
    """Trust settings for a TLS endpoint: an extra CA bundle, or verification off (loud).

    Built from a profile, ``ca_file`` is an absolute path and ``server_name`` the name sent
    as SNI and verified in the certificate (the gateway, the federation service, the WinRM
    host); a server's own ``tls`` leaves it None, as its uses differ in name.
    """

    ca_file: str | None = None
    verify: bool = DEFAULTS["tls.verify"]
    server_name: str | None = None


@dataclass(frozen=True)
class TeamViewerCfg:
    """``[access.teamviewer]``."""

    id: str | None = None
    routers: tuple[str, ...] = DEFAULTS["access.teamviewer.routers"]
    ports: tuple[int, ...] = DEFAULTS["access.teamviewer.ports"]  # once each, in order
    server: str | None = None


@dataclass(frozen=True)
class GatewayCfg:
    """``[access.anyconnect]`` / ``[access.checkpoint]``: a VPN gateway reached over TLS."""

    gateway: str
    group: str | None = None
    port: int = DEFAULTS["access.anyconnect.port"]
    ports: dict[str, int] = field(default_factory=dict)  # Check Point: topology, ike (all set)
    tls: TlsOptions = TlsOptions()


@dataclass(frozen=True)
class WindowsVpnCfg:
    """``[access.windows_vpn]``: a VPN server for Windows' built-in client."""

    server: str
    tunnel: str = DEFAULTS["access.windows_vpn.tunnel"]
    connection: str | None = None
    port: int = DEFAULTS["access.windows_vpn.ports.ike"]  # the tunnel's own: ike or pptp
    ports: dict[str, int] = field(default_factory=dict)  # ike, natt and pptp, all set


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
    ssh_key: str | None = None  # absolute
    known_hosts: str | None = None  # absolute; what [account] names
    min_password_days: int = DEFAULTS["account.min_password_days"]


def default_known_hosts() -> str:
    """The known_hosts file when a profile names none: the user's own, as OpenSSH's."""
    return os.path.expanduser(DEFAULTS["account.known_hosts"])


@dataclass(frozen=True)
class SshCfg:
    """A server's ``ssh = { ... }`` table.

    ``known_hosts`` is the file SSH uses for this server, absolute: the first named of
    ``ssh.known_hosts``, the server's ``known_hosts``, ``[account] known_hosts``, else
    ``~/.ssh/known_hosts``.
    """

    port: int = DEFAULTS["servers.ssh.port"]
    known_hosts: str = field(default_factory=default_known_hosts)


@dataclass(frozen=True)
class RdpCfg:
    """A server's ``rdp = { ... }`` table."""

    port: int = DEFAULTS["servers.rdp.port"]


@dataclass(frozen=True)
class WinrmCfg:
    """A server's ``winrm = { ... }`` table.

    ``port`` is final (the scheme's default when unset); ``tls`` is the one WinRM uses: the
    table's own trust settings when it has any, else the server's, named for its address.
    """

    transport: str = DEFAULTS["servers.winrm.transport"]
    https: bool = DEFAULTS["servers.winrm.https"]
    port: int = DEFAULTS["servers.winrm.port.https"]
    tls: TlsOptions = TlsOptions()
    allow_insecure_credentials: bool = DEFAULTS["servers.winrm.allow_insecure_credentials"]


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
    """``[adfs]``: the federation service.

    ``ports`` always holds ``https`` (equal to ``port``) and ``http``, plus the per-node
    ``"<server>.https"`` / ``"<server>.http"`` keys the profile sets. ``tls`` is named for
    the federation service; ``node_tls`` holds, per server with trust settings of its own,
    those settings named for the federation service too (the name is what AD FS binds).
    """

    federation_service: str
    cert_warn_days: int = DEFAULTS["adfs.cert_warn_days"]
    port: int = DEFAULTS["adfs.port"]
    ports: dict[str, int] = field(default_factory=dict)
    tls: TlsOptions = TlsOptions()
    node_tls: dict[str, TlsOptions] = field(default_factory=dict)


@dataclass(frozen=True)
class ChecksCfg:
    """``[checks]``: run settings."""

    timeout: float = float(DEFAULTS["checks.timeout"])
    concurrency: int = DEFAULTS["checks.concurrency"]
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
