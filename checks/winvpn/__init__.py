"""The Windows built-in VPN: IKEv2, L2TP/IPsec, PPTP, the connection and its split."""

from .connection import WindowsVpnConnection
from .ike import Ikev2Check, L2tpCheck
from .pptp import PptpCheck
from .split_tunnel import WindowsVpnSplitTunnel

CHECKS = [WindowsVpnConnection, Ikev2Check, L2tpCheck, PptpCheck, WindowsVpnSplitTunnel]
