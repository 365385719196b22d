"""Building the typed profile: validated data in, final values out.

Everything a profile leaves to a rule is decided here, once, so that checks and transports
receive final values and never work a default out again:

* every default comes from :data:`~accessready.agent.core.profile_spec.DEFAULTS`;
* ports: WinRM's follows its scheme (5986 / 5985); a port map (``ports = { … }``) holds
  every name its method uses; a Windows VPN's ``port`` stands in for its tunnel's own
  (``ike`` for IKEv2 and L2TP, ``pptp`` for PPTP); AD FS's ``ports.https`` wins over
  ``port``;
* files (``ca_file``, ``ssh_key``, ``known_hosts``): ``~`` expanded, a relative path taken
  from the profile's folder (:func:`resolve_path`), and a server's known_hosts file chosen
  by its order of precedence;
* TLS: each endpoint's :class:`~accessready.agent.core.profile_types.TlsOptions` with the
  server name its certificate must carry (the gateway, the federation service, the WinRM
  host); WinRM takes its table's trust settings when it has any, else the server's.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from accessready.agent.core.profile_spec import DEFAULTS, SPEC
from accessready.agent.core.profile_types import (
    Access,
    Account,
    AdfsCfg,
    ChecksCfg,
    Contact,
    Customer,
    GatewayCfg,
    Network,
    Profile,
    RdpCfg,
    Server,
    SshCfg,
    TeamViewerCfg,
    TlsOptions,
    Waiver,
    WindowsVpnCfg,
    WinrmCfg,
    default_known_hosts,
)


def resolve_path(profile_path: str, value: str) -> str:
    """``value`` with ``~`` expanded; a relative path is taken from the folder of the
    profile at ``profile_path`` (the working folder for a profile without a file).

    The one rule for every file a profile names: the profile means the same file wherever
    ``accessready`` is started from.
    """
    path = Path(os.path.expanduser(value))
    if not path.is_absolute():
        base = Path(profile_path).resolve().parent if profile_path else Path.cwd()
        path = base / path
    return str(path)


def _port_names(*keys: str) -> tuple[str, ...]:
    """The names a method's ``ports`` map may hold, as the spec lists them."""
    field = SPEC[keys[0]]
    for key in keys[1:]:
        assert field.table is not None
        field = field.table[key]
    return field.enum


class _Builder:
    """Turns one profile's validated data into final values (module docstring: the rules)."""

    def __init__(self, path: str) -> None:
        self.path = path
        # value -> resolve_path(value): a profile names the same file for many servers
        self._files: dict[str, str] = {}

    def file(self, value: str | None) -> str | None:
        if not value:
            return None
        found = self._files.get(value)
        if found is None:
            found = self._files[value] = resolve_path(self.path, value)
        return found

    def tls(self, table: dict[str, Any], server_name: str | None) -> TlsOptions:
        return TlsOptions(ca_file=self.file(table.get("ca_file")),
                          verify=table.get("verify", DEFAULTS["tls.verify"]),
                          server_name=server_name)

    def gateway(self, method: str, data: dict[str, Any] | None) -> GatewayCfg | None:
        if data is None:
            return None
        given = data.get("ports", {})
        names = _port_names("access", method, "ports") if method == "checkpoint" else ()
        return GatewayCfg(
            gateway=data["gateway"], group=data.get("group"),
            port=data.get("port", DEFAULTS[f"access.{method}.port"]),
            ports={n: given.get(n, DEFAULTS[f"access.{method}.ports.{n}"]) for n in names},
            tls=self.tls(data, data["gateway"]))

    @staticmethod
    def teamviewer(data: dict[str, Any]) -> TeamViewerCfg:
        routers = data.get("routers")
        return TeamViewerCfg(
            id=data.get("id"),
            routers=tuple(str(e) for e in routers) if routers is not None
            else DEFAULTS["access.teamviewer.routers"],
            # an empty list means the defaults too; each port is tried once
            ports=tuple(dict.fromkeys(data.get("ports") or DEFAULTS["access.teamviewer.ports"])),
            server=data.get("server"))

    @staticmethod
    def windows_vpn(data: dict[str, Any]) -> WindowsVpnCfg:
        tunnel = data.get("tunnel", DEFAULTS["access.windows_vpn.tunnel"])
        main = "pptp" if tunnel == "pptp" else "ike"
        given = data.get("ports", {})
        ports = {n: given.get(n) or (data.get("port") if n == main else None)
                 or DEFAULTS[f"access.windows_vpn.ports.{n}"]
                 for n in _port_names("access", "windows_vpn", "ports")}
        return WindowsVpnCfg(server=data["server"], tunnel=tunnel,
                             connection=data.get("connection"), port=ports[main], ports=ports)

    def server(self, s: dict[str, Any], account: dict[str, Any]) -> Server:
        w = s.get("winrm", {})
        ssh = s.get("ssh", {})
        https = w.get("https", DEFAULTS["servers.winrm.https"])
        own_tls = self.tls(s, None)
        if w.get("ca_file") or not w.get("verify", DEFAULTS["tls.verify"]):
            winrm_tls = self.tls(w, s["address"])
        else:
            winrm_tls = TlsOptions(own_tls.ca_file, own_tls.verify, s["address"])
        known_hosts = next((v for v in (ssh.get("known_hosts"), s.get("known_hosts"),
                                        account.get("known_hosts")) if v), None)
        return Server(
            name=s["name"], address=s["address"], roles=tuple(s.get("roles", [])),
            remote=tuple(dict.fromkeys(s.get("remote", []))),
            services=tuple(s.get("services", [])),
            ssh=SshCfg(port=ssh.get("port", DEFAULTS["servers.ssh.port"]),
                       known_hosts=self.file(known_hosts) if known_hosts
                       else default_known_hosts()),
            rdp=RdpCfg(port=s.get("rdp", {}).get("port", DEFAULTS["servers.rdp.port"])),
            winrm=WinrmCfg(
                transport=w.get("transport", DEFAULTS["servers.winrm.transport"]), https=https,
                port=w.get("port", DEFAULTS["servers.winrm.port." + ("https" if https
                                                                     else "http")]),
                tls=winrm_tls, allow_insecure_credentials=w.get(
                    "allow_insecure_credentials",
                    DEFAULTS["servers.winrm.allow_insecure_credentials"])),
            known_hosts=self.file(s.get("known_hosts")), tls=own_tls)

    def adfs(self, ad: dict[str, Any] | None, servers: list[dict[str, Any]]) -> AdfsCfg | None:
        if ad is None:
            return None
        fs = ad["federation_service"]
        given = ad.get("ports", {})
        port = given.get("https", ad.get("port", DEFAULTS["adfs.port"]))
        # a node with trust settings of its own is checked with them, under the service name
        node_tls = {s["name"]: self.tls(s, fs) for s in servers
                    if s.get("ca_file") or not s.get("verify", DEFAULTS["tls.verify"])}
        return AdfsCfg(federation_service=fs,
                       cert_warn_days=ad.get("cert_warn_days", DEFAULTS["adfs.cert_warn_days"]),
                       port=port, ports={**given, "https": port,
                                         "http": given.get("http", DEFAULTS["adfs.ports.http"])},
                       tls=self.tls(ad, fs), node_tls=node_tls)

    def profile(self, data: dict[str, Any], waivers: tuple[Waiver, ...]) -> Profile:
        c = data["customer"]
        customer = Customer(
            name=c["name"], agreement=c.get("agreement"),
            agreement_valid_until=c.get("agreement_valid_until"), dpa_signed=c.get("dpa_signed"),
            support_email=c.get("support_email"), support_phone=c.get("support_phone"),
            maintenance_contact=c.get("maintenance_contact"),
            contacts=tuple(Contact(**x) for x in c.get("contacts", [])), lang=c.get("lang"))
        n = data.get("network", {})
        network = Network(
            internal_resolvers=tuple(n.get("internal_resolvers", [])),
            external_resolvers=tuple(n.get("external_resolvers", [])),
            internal_subnets=tuple(n.get("internal_subnets", [])),
            internet_probe=n.get("internet_probe"))
        a = data["access"]
        tv = a.get("teamviewer")
        wv = a.get("windows_vpn")
        access = Access(
            methods=tuple(dict.fromkeys(a["methods"])),
            teamviewer=self.teamviewer(tv or {})
            if tv is not None or "teamviewer" in a["methods"] else None,
            anyconnect=self.gateway("anyconnect", a.get("anyconnect")),
            checkpoint=self.gateway("checkpoint", a.get("checkpoint")),
            windows_vpn=self.windows_vpn(wv) if wv else None)
        ac = data.get("account", {})
        account = Account(
            username=ac.get("username"), password=ac.get("password"),
            ssh_key=self.file(ac.get("ssh_key")), known_hosts=self.file(ac.get("known_hosts")),
            min_password_days=ac.get("min_password_days", DEFAULTS["account.min_password_days"]))
        servers = data.get("servers", [])
        ch = data.get("checks", {})
        checks = ChecksCfg(timeout=float(ch.get("timeout", DEFAULTS["checks.timeout"])),
                           concurrency=ch.get("concurrency", DEFAULTS["checks.concurrency"]),
                           skip=tuple(ch.get("skip", [])), only=tuple(ch.get("only", [])))
        return Profile(path=self.path, customer=customer, network=network, access=access,
                       account=account, servers=tuple(self.server(s, ac) for s in servers),
                       adfs=self.adfs(data.get("adfs"), servers), checks=checks,
                       waivers=waivers, raw=data)


def build_profile(path: str, data: dict[str, Any],
                  waivers: tuple[Waiver, ...] = ()) -> Profile:
    """The typed :class:`Profile` of validated ``data`` read from ``path``, every value final
    (``waivers``: its ``[[waivers]]``, read with their lines)."""
    return _Builder(path).profile(data, waivers)
