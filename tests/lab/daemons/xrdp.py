"""xrdp on TCP 3389 of the ``rdp`` host.

xrdp 0.9.21 starts headless without sesman; it answers the X.224 negotiation and TLS, but has
no NLA (CredSSP) server: asked for NLA it selects TLS. It therefore stands for "an RDP server
that does not require NLA"; the "NLA required" case needs a simulator.
Its pid file (/run/xrdp/xrdp.pid) and socket dir live in the host's folder.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import Daemon, tcp_open

if TYPE_CHECKING:
    from ..core import Lab


class Xrdp(Daemon):
    """xrdp with ``security_layer``: negotiate (default), tls or rdp."""

    kind = "xrdp"
    port = 3389

    def __init__(self, lab: Lab, host: str = "rdp", security_layer: str = "negotiate") -> None:
        super().__init__(lab, host)
        self.security_layer = security_layer
        self.cert = lab.certs["rdp"]

    def prepare(self) -> None:
        """xrdp.ini."""
        super().prepare()
        (self.run_dir / "xrdp").mkdir(exist_ok=True)
        (self.dir / "xrdp.ini").write_text(f"""\
; accessready lab xrdp ({self.host.ns})
[Globals]
ini_version=1
fork=true
port=tcp://{self.host.address}:{self.port}
use_vsock=false
tcp_nodelay=true
tcp_keepalive=true
security_layer={self.security_layer}
crypt_level=high
certificate={self.cert.cert}
key_file={self.cert.key}
ssl_protocols=TLSv1.2, TLSv1.3
autorun=
allow_channels=true
max_bpp=32

[Logging]
LogFile={self.log_dir / "xrdp.log"}
LogLevel=INFO
EnableSyslog=false

[Xorg]
name=Xorg
lib=libxup.so
username=ask
password=ask
ip=127.0.0.1
port=-1
code=20
""")

    def command(self) -> list[str]:
        """Foreground (it still forks one child per connection)."""
        return ["/usr/sbin/xrdp", "--nodaemon", "--config", str(self.dir / "xrdp.ini")]

    def ready(self) -> bool:
        """TCP 3389 accepts."""
        return tcp_open(self.host.ns, self.host.address, self.port)
