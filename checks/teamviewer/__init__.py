"""TeamViewer Host: reachable network and an installed, signed-in host."""

from .checks import TeamViewerNetworkCheck
from .host import TeamViewerHostCheck

CHECKS = [TeamViewerNetworkCheck, TeamViewerHostCheck]
