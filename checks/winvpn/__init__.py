"""The Windows built-in VPN: IKEv2, L2TP/IPsec, PPTP, the connection and its split."""

from accessready.checks.common.split_tunnel import WindowsVpnConnection, WindowsVpnSplitTunnel

from .ike import Ikev2Check, L2tpCheck
from .pptp import PptpCheck

CHECKS = [WindowsVpnConnection, Ikev2Check, L2tpCheck, PptpCheck, WindowsVpnSplitTunnel]
