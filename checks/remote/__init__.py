"""Remote access to the customer's servers: RDP, WinRM and SSH."""

from .checks import CHECKS as CHECKS
