"""Checks of the engineer's own Windows workstation."""

from .checks import CHECKS as CHECKS
