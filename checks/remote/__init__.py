"""``remote``: can the supplier reach the servers by the methods the customer names?

Three unauthenticated probes, each run against every server that lists the method in its
``remote`` list:

* ``remote.rdp`` sends three X.224 Connection Requests with an RDP Negotiation Request
  (classic RDP security; TLS; TLS+CredSSP+CredSSP-EX) and reads each Connection Confirm.
  It proves the server speaks RDP and which security protocols it accepts, and whether
  NLA (CredSSP) is required — decided by comparing the *selected* protocol with the one
  *requested* (xrdp answers a CredSSP request by selecting TLS; tools that only look at
  the response type report "NLA supported" there). It cannot prove that a login works
  or that a session host has licences.
* ``remote.winrm`` sends the anonymous WS-Management ``Identify`` and reports the product
  vendor and version, or exactly why not (closed, filtered, TLS failure, not WinRM); a
  second empty POST collects the offered authentication schemes. It proves a WinRM
  listener answers; whether the support account may use it is ``account.login``'s job.
* ``remote.ssh`` reads the banner and runs the key exchange, then compares the host key
  with the known_hosts file (never logging in). It proves an SSH server answers and that
  it is the machine known_hosts says it is (or shows the fingerprint to check).

An unreachable server gives ``fail`` here, so an AD FS or WAP server reachable by none of
its methods makes the customer not ready. Status and wording of a failed probe come from
the one failure table (:mod:`accessready.agent.core.failures`): a port that accepts the connection
and then stays silent (``silent``) reads differently from one that never answers
(``timeout``); this machine's own problems (its resolver, its files, no time left) are
``error``, not ``fail``.
"""

from .rdp import RdpCheck
from .ssh import SshCheck
from .winrm import WinrmCheck

CHECKS = [RdpCheck, WinrmCheck, SshCheck]
