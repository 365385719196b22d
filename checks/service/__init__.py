"""Services on the customer's servers run."""

from .running import CHECKS as CHECKS
