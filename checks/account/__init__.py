"""Account checks: the support account logs in, is enabled and may do its job."""

from .checks import CHECKS as CHECKS
