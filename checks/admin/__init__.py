"""Administrative checks: agreement, data-processing agreement and contacts."""

from .checks import CHECKS as CHECKS
