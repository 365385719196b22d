"""``winvpn.connection``: the Windows VPN connection named in the profile is set up as the
customer's server needs.

It reads ``Get-VpnConnection`` (the current user's and the all-users phone book) through
the ``local`` service: the connection exists, uses the profile's tunnel type, has split
tunnelling on and points at the profile's server. It proves the client is set up; it cannot
prove that it connects (it does not dial). On other systems it is skipped. Like the
split-tunnel checks it looks at the engineer's machine, so it applies only from the
engineer's vantage.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from accessready.agent.core.model import Requirement, Result, Status, Vantage, t
from accessready.agent.core.powershell import quote as ps_quote
from accessready.agent.core.profile_types import Profile
from accessready.agent.io.localsys import CommandFailed, LocalSystem, NotSupported, VpnConnection
from accessready.agent.plugin.checkapi import Check, CheckContext, Target


def _join(items: Any) -> str:
    return ", ".join(str(i) for i in items)


_TUNNEL_TYPES = {"ikev2": "Ikev2", "l2tp": "L2tp", "pptp": "Pptp"}
SYSTEM_NAMES = {"windows": "Windows", "linux": "Linux", "macos": "macOS"}


def _host(value: str) -> str:
    return value.strip().rstrip(".").casefold()


def evaluate_connection(conn: VpnConnection, server: str, tunnel: str
                        ) -> tuple[Status, list[str], list[str]]:
    """(status, problems in English, problems in Swedish) of one Windows VPN connection."""
    status, en, sv = Status.PASS, [], []

    def worse(new: Status) -> None:
        nonlocal status
        if new.rank > status.rank:
            status = new

    want = _TUNNEL_TYPES.get(tunnel.casefold(), tunnel)
    if conn.tunnel_type.casefold() == "automatic":
        worse(Status.WARN)
        en.append(f"tunnel type is Automatic, not pinned to {want}")
        sv.append(f"tunneltypen är Automatic, inte låst till {want}")
    elif conn.tunnel_type.casefold() != want.casefold():
        worse(Status.FAIL)
        en.append(f"tunnel type is {conn.tunnel_type or 'unknown'}, the customer offers {want}")
        sv.append(f"tunneltypen är {conn.tunnel_type or 'okänd'}, kunden erbjuder {want}")
    if conn.split_tunneling is False:
        worse(Status.FAIL)
        en.append("split tunnelling is off (all traffic would go into the tunnel)")
        sv.append("delad tunnel är avslagen (all trafik skulle gå in i tunneln)")
    elif conn.split_tunneling is None:
        worse(Status.WARN)
        en.append("split tunnelling could not be read")
        sv.append("inställningen för delad tunnel kunde inte läsas")
    if _host(conn.server_address) != _host(server):
        worse(Status.FAIL)
        en.append(f"server is {conn.server_address or 'empty'}, the profile says {server}")
        sv.append(f"servern är {conn.server_address or 'tom'}, profilen anger {server}")
    return status, en, sv


def fix_command(conn: VpnConnection | None, name: str, server: str, tunnel: str) -> str:
    """The PowerShell line that would set the connection up as the profile wants (shown only).

    Values are quoted with :func:`ps_quote`, so the line is safe to paste.
    """
    want = _TUNNEL_TYPES.get(tunnel.casefold(), tunnel)
    if conn is None:
        return (f"Add-VpnConnection -Name {ps_quote(name)} -ServerAddress {ps_quote(server)} "
                f"-TunnelType {want} -SplitTunneling")
    scope = " -AllUserConnection" if conn.all_user else ""
    return (f"Set-VpnConnection -Name {ps_quote(conn.name)} -ServerAddress "
            f"{ps_quote(server)} -TunnelType {want} -SplitTunneling $true{scope}")


class WindowsVpnConnection(Check):
    """The Windows VPN connection exists and is set up as the customer's server needs."""

    id = "winvpn.connection"
    owner = "engineer"  # the connection on the engineer's workstation
    requirement = Requirement.ACCESS
    method = "windows_vpn"
    needs = ("local",)
    vantages = frozenset({Vantage.ENGINEER})
    looks_at = t("the engineer's Windows VPN connection",
                 "teknikerns Windows VPN-anslutning")
    title = t("Windows VPN connection", "Windows VPN-anslutning")
    description = t(
        "The Windows VPN connection named in the profile exists (current user or all "
        "users), uses the customer's tunnel type and server, and has split tunnelling on.",
        "Den Windows VPN-anslutning som profilen anger finns (för användaren eller alla "
        "användare), använder kundens tunneltyp och server och har delad tunnel påslagen.")
    remediation = {
        "missing": t(
            "Create the connection on the workstation, e.g. Add-VpnConnection -Name "
            "'<connection>' -ServerAddress <server> -TunnelType <type> -SplitTunneling "
            "(the exact line is in the evidence), or correct access.windows_vpn.connection.",
            "Skapa anslutningen på arbetsstationen, t.ex. Add-VpnConnection -Name "
            "'<anslutning>' -ServerAddress <server> -TunnelType <typ> -SplitTunneling (exakt "
            "rad finns i underlaget), eller rätta access.windows_vpn.connection."),
        "settings": t(
            "Correct the connection with Set-VpnConnection (the exact line is in the "
            "evidence): the customer's server, its tunnel type, and -SplitTunneling $true. "
            "Add the customer's networks with Add-VpnConnectionRoute if the server does not "
            "push them.",
            "Rätta anslutningen med Set-VpnConnection (exakt rad finns i underlaget): "
            "kundens server, dess tunneltyp och -SplitTunneling $true. Lägg till kundens nät "
            "med Add-VpnConnectionRoute om servern inte skickar dem."),
        "default": t(
            "Get-VpnConnection could not be read. Run it in PowerShell as the engineer to "
            "see why, and run again.",
            "Get-VpnConnection kunde inte läsas. Kör kommandot i PowerShell som teknikern "
            "för att se varför, och kör igen."),
    }

    def targets(self, profile: Profile) -> list[Target]:
        cfg = profile.access.windows_vpn
        if cfg is None:
            return []
        return [Target(cfg.connection or cfg.server, cfg)]

    def run(self, ctx: CheckContext, target: Target) -> Result:
        local: LocalSystem = ctx.service("local")
        cfg = target.data
        if local.system != "windows":
            shown = SYSTEM_NAMES.get(local.system, local.system)
            return self.result(target, Status.SKIP, t(
                f"The Windows built-in VPN client exists only on Windows; this is {shown}.",
                f"Windows inbyggda VPN-klient finns bara i Windows; detta är {shown}."),
                {"reason": "not_windows", "system": local.system})
        try:
            conns = local.vpn_connections(ctx.timeout(15.0))
        except (CommandFailed, NotSupported) as exc:
            return self.result(target, Status.ERROR, t(
                f"Get-VpnConnection failed: {exc}", f"Get-VpnConnection misslyckades: {exc}"),
                {"reason": "command_failed", "error": str(exc)})
        details: dict[str, Any] = {
            "source": "Get-VpnConnection; Get-VpnConnection -AllUserConnection",
            "wanted": {"name": cfg.connection, "server": cfg.server, "tunnel": cfg.tunnel},
            "connections": [c.to_json() for c in conns]}
        if cfg.connection:
            matching = [c for c in conns if c.name.casefold() == cfg.connection.casefold()]
        else:
            matching = [c for c in conns if _host(c.server_address) == _host(cfg.server)]
        if not matching:
            name = cfg.connection or cfg.server
            details["fix_command"] = fix_command(None, name, cfg.server, cfg.tunnel)
            what = (f"named '{cfg.connection}'" if cfg.connection
                    else f"to {cfg.server}")
            what_sv = (f"med namnet '{cfg.connection}'" if cfg.connection
                       else f"till {cfg.server}")
            return self.result(target, Status.FAIL, t(
                f"No Windows VPN connection {what} (found: "
                f"{_join(c.name for c in conns) or 'none'}).",
                f"Ingen Windows VPN-anslutning {what_sv} (hittade: "
                f"{_join(c.name for c in conns) or 'ingen'})."), details, "missing")
        graded = [(evaluate_connection(c, cfg.server, cfg.tunnel), c) for c in matching]
        graded.sort(key=lambda g: g[0][0].rank)
        (status, en, sv), conn = graded[0]
        details["chosen"] = conn.to_json()
        self._route_notes(ctx, conn, details)
        book = "all users" if conn.all_user else "current user"
        book_sv = "alla användare" if conn.all_user else "aktuell användare"
        if status is Status.PASS:
            return self.result(target, status, t(
                f"'{conn.name}' ({book}): {conn.tunnel_type} to {conn.server_address}, split "
                "tunnelling on.",
                f"'{conn.name}' ({book_sv}): {conn.tunnel_type} till {conn.server_address}, "
                "delad tunnel påslagen."), details)
        details["fix_command"] = fix_command(conn, conn.name, cfg.server, cfg.tunnel)
        return self.result(target, status, t(
            f"'{conn.name}' ({book}): {'; '.join(en)}.",
            f"'{conn.name}' ({book_sv}): {'; '.join(sv)}."), details, "settings")

    @staticmethod
    def _route_notes(ctx: CheckContext, conn: VpnConnection, details: dict[str, Any]) -> None:
        """Evidence only: internal subnets the connection's own routes do not cover."""
        routes = []
        for r in conn.routes:
            try:
                routes.append(ipaddress.ip_network(r, strict=False))
            except ValueError:
                continue
        if not routes:
            details["routes_note"] = ("no routes on the connection: Windows adds a class-based "
                                      "route, and the server may push more")
            return
        uncovered = [str(n) for n in ctx.profile.network.internal_subnets
                     if not any(n.version == r.version and n.subnet_of(r)  # type: ignore[arg-type]
                                for r in routes)]
        if uncovered:
            details["routes_note"] = f"not covered by the connection's routes: {_join(uncovered)}"
