"""``anyconnect.split_tunnel``: while Cisco AnyConnect is connected, the internal subnets
leave through its adapter and the internet probe does not.

Read from this machine's routing (a UDP ``connect()`` per address sends no packet), decided
by :class:`~accessready.checks.common.split_tunnel.SplitTunnelCheck`. It proves how the
workstation routes now, with the tunnel as the gateway configured it. It cannot prove the
routing of another group policy, AnyConnect's own filters outside the routing table ("tunnel
all DNS"), nor, on Linux and macOS, tell openconnect from Cisco's client (both are a generic
tun device).
"""

from __future__ import annotations

from accessready.agent.core.model import t
from accessready.checks.common.split_tunnel import COMMON_REMEDIATION, SplitTunnelCheck
from accessready.checks.common.tunnel import METHOD_PRODUCTS


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
        **COMMON_REMEDIATION,
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
