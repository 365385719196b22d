"""``account``: the support account can log in, is in good standing, and has the rights
support needs.

* ``account.login`` (:mod:`.login`): it authenticates per server over each command method
  and runs a harmless identity command;
* ``account.status`` (:mod:`.status`): enabled, not locked out, password and account not
  about to end, as the directory or the server says;
* ``account.privileges`` (:mod:`.privileges`): group memberships and rights, warned where
  the server's role needs more.

All three run over the shared ``sessions`` service: one login per server and method.
"""

from .login import LoginCheck
from .privileges import PrivilegesCheck
from .status import StatusCheck

CHECKS = [LoginCheck, StatusCheck, PrivilegesCheck]
