"""The Windows built-in VPN: IKEv2, L2TP/IPsec, PPTP, the connection and its split."""

from .connection import WindowsVpnConnection
from .split_tunnel import WindowsVpnSplitTunnel
from .tunnels import Ikev2Check, L2tpCheck, PptpCheck

CHECKS = [WindowsVpnConnection, Ikev2Check, L2tpCheck, PptpCheck, WindowsVpnSplitTunnel]
