"""``winvpn.split_tunnel``: while the Windows VPN connection is up, the internal subnets
leave through it and the internet probe does not.

Read from this machine's routing (a UDP ``connect()`` per address sends no packet), decided
by :class:`~accessready.checks.common.split_tunnel.SplitTunnelCheck`; Windows' own
connections are RAS interfaces named after the connection. It proves how the workstation
routes now. It cannot prove what the server would push to another connection, nor see the
connection's settings (``winvpn.connection`` reads those).
"""

from __future__ import annotations

from accessready.agent.core.model import t
from accessready.checks.common.split_tunnel import COMMON_REMEDIATION, SplitTunnelCheck
from accessready.checks.common.tunnel import METHOD_PRODUCTS


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
        **COMMON_REMEDIATION,
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
