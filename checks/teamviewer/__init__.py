"""TeamViewer Host: reachable network and an installed, signed-in host."""

from .host import TeamViewerHostCheck
from .network import TeamViewerNetworkCheck

CHECKS = [TeamViewerNetworkCheck, TeamViewerHostCheck]
