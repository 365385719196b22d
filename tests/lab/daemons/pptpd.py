"""pptpd answering PPTP control connections on TCP 1723.

The kernel has no PPP, so pppd can never run: pptpd serves the control connection only
(Start-Control-Connection-Request/Reply), which is all accessready's probe and nmap's
``pptp-version`` need. pptpd 1.4.0 reports vendor "linux", firmware 1, host name "local".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import Daemon, tcp_open

if TYPE_CHECKING:
    from ..core import Lab


class Pptpd(Daemon):
    """pptpd in the ``pptp`` host."""

    kind = "pptpd"
    port = 1723

    def __init__(self, lab: Lab, host: str = "pptp") -> None:
        super().__init__(lab, host)

    def prepare(self) -> None:
        """pptpd.conf and the (unused) ppp options file."""
        super().prepare()
        options = self.dir / "pptpd-options"
        options.write_text("name pptpd\nrefuse-pap\nrequire-mschap-v2\n")
        (self.dir / "pptpd.conf").write_text(
            f"# accessready lab pptpd ({self.host.ns})\n"
            f"option {options}\n"
            "localip 198.51.100.161\n"
            "remoteip 198.51.100.162-170\n"
        )

    def command(self) -> list[str]:
        """Foreground, bound to the host's address only."""
        return [
            "/usr/sbin/pptpd",
            "-f",
            "-c", str(self.dir / "pptpd.conf"),
            "-o", str(self.dir / "pptpd-options"),
            "-p", "/run/pptpd.pid",
            "-l", self.host.address,
        ]

    def ready(self) -> bool:
        """TCP 1723 accepts."""
        return tcp_open(self.host.ns, self.host.address, self.port)
