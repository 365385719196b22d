"""Cisco AnyConnect: the gateway answers and the tunnel is split."""

from accessready.checks.common.split_tunnel import AnyConnectSplitTunnel

from .gateway import AnyConnectGatewayCheck

CHECKS = [AnyConnectGatewayCheck, AnyConnectSplitTunnel]
