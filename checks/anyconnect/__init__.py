"""Cisco AnyConnect: the gateway answers and the tunnel is split."""

from .gateway import AnyConnectGatewayCheck
from .split_tunnel import AnyConnectSplitTunnel

CHECKS = [AnyConnectGatewayCheck, AnyConnectSplitTunnel]
