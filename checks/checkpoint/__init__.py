"""Check Point: the gateway answers and the tunnel is split."""

from .gateway import CheckpointGatewayCheck
from .split_tunnel import CheckPointSplitTunnel

CHECKS = [CheckpointGatewayCheck, CheckPointSplitTunnel]
