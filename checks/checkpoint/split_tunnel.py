"""``checkpoint.split_tunnel``: while Check Point Endpoint Security VPN is connected, the
internal subnets (the encryption domain) leave through its virtual adapter and the internet
probe does not.

Read from this machine's routing (a UDP ``connect()`` per address sends no packet), decided
by :class:`~accessready.checks.common.split_tunnel.SplitTunnelCheck`. It proves how the
workstation routes now. It cannot prove the routing of another user's session, nor see
policy-based IPsec on Linux/macOS, which has no tunnel adapter.
"""

from __future__ import annotations

from accessready.agent.core.model import t
from accessready.checks.common.split_tunnel import COMMON_REMEDIATION, SplitTunnelCheck
from accessready.checks.common.tunnel import METHOD_PRODUCTS


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
        **COMMON_REMEDIATION,
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
