"""``access``: split tunnelling of the customer's VPN, and the Windows VPN connection.

``anyconnect.split_tunnel``, ``checkpoint.split_tunnel`` and ``winvpn.split_tunnel`` read
the routing of a live tunnel: for a sample address in every ``network.internal_subnets``
entry and for ``network.internet_probe`` they ask the operating system which source
address and adapter it would use (a UDP socket's ``connect()`` — no packet is sent), map
the adapter to a VPN product by its name and description, and keep the routes that decide
it (``ip route``/``Get-NetRoute``/``netstat -rn``, and the OS's own route lookup) as
evidence. Internal traffic through the method's tunnel and internet traffic outside it is
a split tunnel (pass); internet traffic through the tunnel is a full tunnel (fail); no
tunnel carrying the internal networks means the VPN is not connected (error: connect and
run again).

What they prove: how this workstation routes *now*, with the tunnel as the gateway
configured it. What they cannot prove: the routing of another session or group, traffic
steered by a VPN client's own filters outside the routing table (e.g. AnyConnect's
"tunnel all DNS"), or policy-based IPsec on Linux/macOS, which has no tunnel adapter to
see. A generic ``tun``/``ppp`` device counts for every method, so on Linux and macOS the
check cannot tell openconnect from Cisco's own client.

``winvpn.connection`` reads ``Get-VpnConnection`` (the current user's and the all-users
phone book): the connection named in the profile exists, uses the profile's tunnel type,
has split tunnelling on and points at the profile's server. It proves the client is set up;
it does not dial. On other systems it is skipped.

All four look at the engineer's machine and the tunnel it has up, so they apply only from
the engineer's vantage: an audit host has no tunnel up, and in a self-check the customer's
admin is already inside the network (they skip there, saying so).
"""

from __future__ import annotations

import ipaddress
from typing import Any, ClassVar

from accessready.agent.core.model import Requirement, Result, Status, Vantage, t
from accessready.agent.core.powershell import quote as ps_quote
from accessready.agent.core.profile_types import Profile
from accessready.agent.io.localsys import (
    Adapter,
    CommandFailed,
    Egress,
    LocalSystem,
    NotSupported,
    VpnConnection,
)
from accessready.agent.plugin.checkapi import Check, CheckContext, Target
from accessready.checks.common.tunnel import (
    METHOD_PRODUCTS,
    Decision,
    Probe,
    TunnelState,
    decide,
    default_routes,
    resolve_probe,
    sample_address,
)

# Used only when the profile names no internet_probe: routing is by prefix, so any public
# address shows where internet traffic goes, and connect() on UDP sends nothing to it.
DEFAULT_INTERNET_PROBE = "1.1.1.1"
HOW = ("UDP connect() to each address sends no packet; the source address the operating "
       "system picks is mapped to its adapter (psutil), beside the OS's own route lookup.")


class InternetProbeUnresolved(Exception):
    """``network.internet_probe`` is a name that does not resolve."""


def _internet_probe(ctx: CheckContext) -> tuple[str, str]:
    """(address, how it was chosen) for the internet probe."""
    probe = ctx.profile.network.internet_probe
    if not probe:
        return DEFAULT_INTERNET_PROBE, "default (no network.internet_probe in the profile)"
    try:
        return str(ipaddress.ip_address(probe)), "network.internet_probe"
    except ValueError:
        pass
    answer = ctx.service("dns").lookup(probe, "A", view="external", timeout=ctx.timeout(3.0))
    if answer.outcome == "ok" and answer.records:
        return answer.records[0], f"network.internet_probe {probe} (resolved)"
    raise InternetProbeUnresolved(f"{probe}: {answer.outcome} {answer.error}".strip())


def _windows_vpn_names(ctx: CheckContext, local: LocalSystem) -> tuple[str, ...]:
    if local.system != "windows":
        return ()
    try:
        return tuple(c.name for c in local.vpn_connections(ctx.timeout(10.0)))
    except (NotSupported, CommandFailed):
        return ()


def analyse(ctx: CheckContext, method: str) -> tuple[Decision, dict[str, Any]]:
    """Collect the egress facts through the ``local`` service and decide for ``method``."""
    local: LocalSystem = ctx.service("local")
    adapters = local.adapters(ctx.timeout(10.0))
    names = _windows_vpn_names(ctx, local)
    table = local.routes(ctx.timeout(10.0))
    own = [a for adapter in adapters for a in adapter.addresses]
    probes: list[Probe] = []
    for subnet in ctx.profile.network.internal_subnets:
        address = str(sample_address(subnet, own))
        probes.append(_probe(ctx, local, "internal", address, adapters, table.routes,
                             str(subnet), names))
    address, chosen = _internet_probe(ctx)
    probes.append(_probe(ctx, local, "internet", address, adapters, table.routes, None, names))
    decision = decide(method, probes, adapters, names)
    details: dict[str, Any] = {
        "state": decision.state.value,
        "method": method,
        "how": HOW,
        "probes": [p.to_json() for p in decision.probes],
        "internet_probe_from": chosen,
        # adapters without an address (idle miniports, macOS' own utuns) are noise here
        "vpn_adapters": [{**a.to_json(), "vendor": m.vendor, "why": m.reason}
                         for a, m in decision.vpn_adapters if a.addresses],
        "default_routes": [r.to_json() for r in default_routes(table.routes)],
        "routes_from": table.command,
    }
    if table.error:
        details["routes_error"] = table.error
    if names:
        details["windows_vpn_connections"] = list(names)
    if decision.notes:
        details["notes"] = list(decision.notes)
    if getattr(local, "simulated", False):
        details["simulated"] = True
        details["notes"] = [*details.get("notes", []), getattr(
            local, "simulated_note", "These facts come from a simulated workstation.")]
    return decision, details


def _probe(ctx: CheckContext, local: LocalSystem, role: str, address: str,
           adapters: list[Adapter], routes: Any, subnet: str | None,
           names: tuple[str, ...]) -> Probe:
    try:
        egress = local.egress(address)
    except (OSError, ValueError) as exc:
        egress = Egress(address, error=str(exc))
    lookup = None
    # the OS's own lookup is evidence beside the socket's answer; on Windows it costs a
    # PowerShell start (about a second), so there it is asked only when the socket's
    # source address did not name a single adapter
    if local.system != "windows" or egress.interface is None:
        lookup = local.route_to(address, ctx.timeout(5.0))
    return resolve_probe(role, address, egress, adapters, routes, lookup, subnet, names)


def _join(items: Any) -> str:
    return ", ".join(str(i) for i in items)


class SplitTunnelCheck(Check):
    """Shared logic of the three ``*.split_tunnel`` checks; subclasses set id and texts."""

    # Connecting the VPN and running again is the engineer's; naming the networks is the
    # profile's (the supplier's); split tunnelling on the gateway is the customer's.
    owners: ClassVar[dict[str, str]] = {"connect": "engineer", "default": "engineer",
                                        "profile": "supplier"}

    requirement = Requirement.ACCESS
    needs = ("local",)
    product: ClassVar[str] = ""
    vantages = frozenset({Vantage.ENGINEER})
    looks_at = t("split tunnelling (read from the engineer's machine while its VPN is up)",
                 "delad tunnel (läses på teknikerns dator medan dess VPN är uppe)")

    def run(self, ctx: CheckContext, target: Target) -> Result:
        if not ctx.profile.network.internal_subnets:
            return self.result(target, Status.ERROR, t(
                "The profile names no internal subnets, so split tunnelling cannot be "
                "judged.", "Profilen anger inga interna nät, så delad tunnel kan inte "
                "bedömas."), {"reason": "no_internal_subnets"}, "profile")
        method = self.method or ""
        try:
            decision, details = analyse(ctx, method)
        except InternetProbeUnresolved as exc:
            return self.result(target, Status.ERROR, t(
                f"The internet probe does not resolve ({exc}).",
                f"Internetadressen för provet går inte att slå upp ({exc})."),
                {"reason": "internet_probe_unresolved"}, "profile")
        return self._verdict(target, decision, details)

    def _verdict(self, target: Target, d: Decision, details: dict[str, Any]) -> Result:
        product = self.product
        internal = [p for p in d.probes if p.role == "internal"]
        internet = [p for p in d.probes if p.role == "internet"]
        subnets = _join(p.subnet for p in internal)
        tunnels = _join(d.tunnel_interfaces)
        net_probe = internet[0] if internet else None
        out_if = (net_probe.interface if net_probe else None) or "no route"
        sim = " (simulated workstation)" if details.get("simulated") else ""
        sim_sv = " (simulerad arbetsstation)" if details.get("simulated") else ""
        state = d.state
        if state is TunnelState.SPLIT:
            return self.result(target, Status.PASS, t(
                f"Split tunnel{sim}: {subnets} goes through {tunnels}; "
                f"{net_probe.destination if net_probe else 'internet'} leaves through "
                f"{out_if}.",
                f"Delad tunnel{sim_sv}: {subnets} går genom {tunnels}; "
                f"{net_probe.destination if net_probe else 'internet'} går ut via {out_if}."),
                details)
        if state is TunnelState.FULL:
            dest = net_probe.destination if net_probe else "internet"
            return self.result(target, Status.FAIL, t(
                f"Full tunnel{sim}: internet traffic ({dest}) also goes through {tunnels}.",
                f"Full tunnel{sim_sv}: även internettrafik ({dest}) går genom {tunnels}."),
                details, "full")
        if state is TunnelState.PARTIAL:
            missing = _join(d.bypassing)
            where = tunnels or _join(a.name for a, m in d.vpn_adapters
                                     if m.vendor == self.method)
            return self.result(target, Status.FAIL, t(
                f"The {product} tunnel ({where}) is up, but {missing} does not go through "
                f"it{sim}.",
                f"{product}-tunneln ({where}) är uppe, men {missing} går inte genom den"
                f"{sim_sv}."), details, "include")
        if state is TunnelState.OTHER_VPN:
            return self.result(target, Status.ERROR, t(
                f"{subnets} goes through another VPN ({d.other_vpn}), not {product}. Connect "
                f"with {product} and run again.",
                f"{subnets} går genom en annan VPN ({d.other_vpn}), inte {product}. Anslut "
                f"med {product} och kör igen."), details, "connect")
        if state is TunnelState.NOT_CONNECTED:
            return self.result(target, Status.ERROR, t(
                f"Not connected{sim}: no {product} tunnel carries {subnets}. Connect the VPN "
                "and run again.",
                f"Inte ansluten{sim_sv}: ingen {product}-tunnel bär {subnets}. Anslut VPN:en "
                "och kör igen."), details, "connect")
        return self.result(target, Status.ERROR, t(
            "The routing could not be read well enough to decide.",
            "Routningen kunde inte läsas tillräckligt för ett beslut."), details)


_COMMON_REMEDIATION = {
    "profile": t(
        "Name the customer's internal networks in [network] internal_subnets (they must go "
        "through the tunnel) and an internet address in internet_probe (it must not).",
        "Ange kundens interna nät i [network] internal_subnets (de ska gå genom tunneln) "
        "och en internetadress i internet_probe (den ska inte göra det)."),
    "default": t(
        "Read the evidence (adapters and routes), make sure the VPN is connected, and run "
        "again.",
        "Läs underlaget (nätverkskort och rutter), se till att VPN:en är ansluten och kör "
        "igen."),
}


class AnyConnectSplitTunnel(SplitTunnelCheck):
    """Cisco AnyConnect: internal networks through the tunnel, internet outside it."""

    id = "anyconnect.split_tunnel"
    method = "anyconnect"
    product = METHOD_PRODUCTS["anyconnect"]
    title = t("AnyConnect split tunnel", "AnyConnect delad tunnel")
    description = t(
        "While AnyConnect is connected, the internal subnets leave through the AnyConnect "
        "adapter and the internet probe does not (read from the routing, no packet sent).",
        "Medan AnyConnect är ansluten går de interna näten ut via AnyConnects nätverkskort "
        "och internetprovet gör det inte (läses ur routningen, inget paket skickas).")
    remediation = {
        **_COMMON_REMEDIATION,
        "full": t(
            "Ask the customer's VPN administrator to turn on split tunnelling for the "
            "supplier's connection profile: in the ASA/FTD group policy set IPv4 split "
            "tunnelling to 'Tunnel Network List Below' (split-tunnel-policy "
            "tunnelspecified) with a network list holding only the internal networks, "
            "instead of 'Tunnel All Networks'. On ocserv: one 'route =' line per internal "
            "network instead of 'route = default'.",
            "Be kundens VPN-administratör att slå på delad tunnel (split tunnel) för "
            "leverantörens anslutningsprofil: i ASA/FTD:s grupprincip sätts IPv4 split "
            "tunneling till 'Tunnel Network List Below' (split-tunnel-policy "
            "tunnelspecified) med en nätverkslista som bara innehåller de interna näten, i "
            "stället för 'Tunnel All Networks'. På ocserv: en 'route ='-rad per internt nät "
            "i stället för 'route = default'."),
        "include": t(
            "Ask the customer's VPN administrator to add the missing networks to the "
            "split-tunnel network list of the supplier's group policy (ocserv: 'route ='), "
            "or correct [network] internal_subnets if it names networks the supplier does "
            "not need.",
            "Be kundens VPN-administratör att lägga till de saknade näten i nätverkslistan "
            "för delad tunnel i leverantörens grupprincip (ocserv: 'route ='), eller rätta "
            "[network] internal_subnets om den anger nät som leverantören inte behöver."),
        "connect": t(
            "Connect to the customer with Cisco AnyConnect (the profile's gateway and group) "
            "and run accessready again while connected: split tunnelling can only be read "
            "from a live tunnel's routing.",
            "Anslut till kunden med Cisco AnyConnect (profilens gateway och grupp) och kör "
            "accessready igen medan anslutningen är uppe: delad tunnel kan bara läsas ur "
            "routningen för en aktiv tunnel."),
    }


class CheckPointSplitTunnel(SplitTunnelCheck):
    """Check Point Endpoint Security VPN: the encryption domain through the tunnel only."""

    id = "checkpoint.split_tunnel"
    method = "checkpoint"
    product = METHOD_PRODUCTS["checkpoint"]
    title = t("Check Point split tunnel", "Check Point delad tunnel")
    description = t(
        "While the Check Point client is connected, the internal subnets leave through the "
        "Check Point virtual adapter and the internet probe does not.",
        "Medan Check Point-klienten är ansluten går de interna näten ut via Check Points "
        "virtuella nätverkskort och internetprovet gör det inte.")
    remediation = {
        **_COMMON_REMEDIATION,
        "full": t(
            "Ask the customer's Check Point administrator to turn off 'Route all traffic to "
            "gateway' for remote-access clients (SmartConsole: the gateway's or the Remote "
            "Access community's VPN Clients settings), so that only the encryption domain "
            "goes through the tunnel, and install the policy.",
            "Be kundens Check Point-administratör att stänga av 'Route all traffic to "
            "gateway' för fjärråtkomstklienter (SmartConsole: inställningarna för VPN "
            "Clients på gatewayen eller i Remote Access-communityn), så att bara "
            "krypteringsdomänen går genom tunneln, och installera policyn."),
        "include": t(
            "Ask the customer's Check Point administrator to add the missing networks to the "
            "gateway's encryption domain for remote access, or correct [network] "
            "internal_subnets.",
            "Be kundens Check Point-administratör att lägga till de saknade näten i "
            "gatewayens krypteringsdomän för fjärråtkomst, eller rätta [network] "
            "internal_subnets."),
        "connect": t(
            "Connect to the customer with Check Point Endpoint Security VPN (the profile's "
            "gateway) and run accessready again while connected.",
            "Anslut till kunden med Check Point Endpoint Security VPN (profilens gateway) "
            "och kör accessready igen medan anslutningen är uppe."),
    }


class WindowsVpnSplitTunnel(SplitTunnelCheck):
    """Windows' built-in VPN: the internal networks through it, the internet outside it."""

    id = "winvpn.split_tunnel"
    owner = "engineer"  # the connection on the engineer's workstation
    owners = {"profile": "supplier"}
    method = "windows_vpn"
    product = METHOD_PRODUCTS["windows_vpn"]
    title = t("Windows VPN split tunnel", "Windows VPN delad tunnel")
    description = t(
        "While the Windows VPN connection is up, the internal subnets leave through it and "
        "the internet probe does not.",
        "Medan Windows VPN-anslutningen är uppe går de interna näten ut genom den och "
        "internetprovet gör det inte.")
    remediation = {
        **_COMMON_REMEDIATION,
        "full": t(
            "Turn on split tunnelling for the connection on the workstation: "
            "Set-VpnConnection -Name '<connection>' -SplitTunneling $true (add "
            "-AllUserConnection for an all-users connection), and add the customer's "
            "networks with Add-VpnConnectionRoute. If the customer's VPN server pushes a "
            "default route, its administrator must stop doing so.",
            "Slå på delad tunnel för anslutningen på arbetsstationen: Set-VpnConnection "
            "-Name '<anslutning>' -SplitTunneling $true (lägg till -AllUserConnection för en "
            "anslutning för alla användare), och lägg till kundens nät med "
            "Add-VpnConnectionRoute. Om kundens VPN-server skickar en standardväg måste "
            "dess administratör sluta med det."),
        "include": t(
            "Add the missing networks to the connection: Add-VpnConnectionRoute "
            "-ConnectionName '<connection>' -DestinationPrefix <network>, or ask the "
            "customer's VPN administrator to push those routes; or correct [network] "
            "internal_subnets.",
            "Lägg till de saknade näten i anslutningen: Add-VpnConnectionRoute "
            "-ConnectionName '<anslutning>' -DestinationPrefix <nät>, eller be kundens "
            "VPN-administratör att skicka de rutterna; eller rätta [network] "
            "internal_subnets."),
        "connect": t(
            "Connect the Windows VPN connection named in the profile (Settings > Network & "
            "internet > VPN, or rasdial) and run accessready again while connected.",
            "Anslut den Windows VPN-anslutning som profilen anger (Inställningar > Nätverk "
            "och Internet > VPN, eller rasdial) och kör accessready igen medan anslutningen "
            "är uppe."),
    }


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
