"""Check Point: the gateway answers and the tunnel is split."""

from accessready.checks.common.split_tunnel import CheckPointSplitTunnel

from .gateway import CheckpointGatewayCheck

CHECKS = [CheckpointGatewayCheck, CheckPointSplitTunnel]
