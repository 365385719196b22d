"""TeamViewer Host: reachable network and an installed, signed-in host."""

from .checks import CHECKS as CHECKS
