"""strongSwan's charon as an IKE responder: IKEv2 (Windows "IKEv2" VPN) and IKEv1 (L2TP/IPsec).

charon starts with its own strongswan.conf (``STRONGSWAN_CONF``) that loads an explicit plugin
list — no ``resolve`` plugin (it would rewrite resolv.conf), no ``dhcp`` plugin (it would open
UDP 68), no stroke/ipsec.conf — and puts its vici socket and log in the host's folder. Its
/run, /var/log, /etc/ipsec.d and /etc/swanctl are private folders in its mount namespace.
The cookie and half-open thresholds are raised: scans leave half-open SAs, and strongSwan
≥ 5.9.6 would otherwise start answering with COOKIE notifies.

The kernel here has no ESP, so no CHILD_SA can carry traffic: the lab proves the IKE
exchange only (UDP 500, and 4500 with the non-ESP marker), which is what accessready probes.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from ..proc import run
from .base import Daemon

if TYPE_CHECKING:
    from ..core import Lab

_PLUGINS = (
    "random nonce openssl pem pkcs1 pkcs8 x509 pubkey hmac md5 sha1 sha2 aes des gmp "
    "kernel-netlink socket-default vici"
)


class Charon(Daemon):
    """One charon; ``version`` 2 is an IKEv2 responder, 1 an IKEv1 (L2TP/IPsec) responder."""

    kind = "charon"

    def __init__(self, lab: Lab, host: str, version: int) -> None:
        if version not in (1, 2):
            raise ValueError("IKE version must be 1 or 2")
        super().__init__(lab, host)
        self.version = version
        self.psk = "lab-psk-" + secrets.token_hex(8)
        self.conf = self.dir / "strongswan.conf"
        self.swanctl_dir = self.dir / "swanctl"
        self.vici = self.run_dir / "charon.vici"

    def prepare(self) -> None:
        """strongswan.conf and swanctl.conf."""
        super().prepare()
        for sub in ("", "private", "x509", "x509ca"):
            (self.swanctl_dir / sub).mkdir(parents=True, exist_ok=True)
        (self.dir / "ipsec.d").mkdir(exist_ok=True)
        self.conf.write_text(f"""\
# accessready lab charon (IKEv{self.version}, {self.host.ns})
charon {{
  load_modular = no
  load = {_PLUGINS}
  port = 500
  port_nat_t = 4500
  install_routes = no
  install_virtual_ip = no
  cookie_threshold = 1000000
  cookie_threshold_ip = 1000000
  block_threshold = 1000000
  init_limit_half_open = 0
  half_open_timeout = 5
  plugins {{
    vici {{
      socket = unix://{self.vici}
    }}
  }}
  filelog {{
    lab {{
      path = {self.log_dir / "charon.log"}
      time_format = %T
      default = 1
      ike = 2
    }}
  }}
  syslog {{
    daemon {{
      default = -1
    }}
  }}
}}
swanctl {{
  load = pem pkcs1 pkcs8 x509 pubkey random nonce openssl
}}
""")
        address = self.host.address
        ident = self.host.dns_name or address
        if self.version == 2:
            connection = f"""\
  ikev2 {{
    version = 2
    local_addrs = {address}
    proposals = aes256-sha256-modp2048, aes128-sha256-modp2048, aes256-sha1-modp1024, default
    local {{
      auth = psk
      id = {ident}
    }}
    remote {{
      auth = psk
    }}
    children {{
      inside {{
        local_ts = 192.0.2.0/24
        esp_proposals = aes256-sha256, aes128-sha1, default
      }}
    }}
  }}
"""
        else:
            connection = f"""\
  l2tp {{
    version = 1
    local_addrs = {address}
    proposals = aes256-sha256-modp2048, aes128-sha1-modp2048, 3des-sha1-modp1024, default
    local {{
      auth = psk
      id = {address}
    }}
    remote {{
      auth = psk
    }}
    children {{
      l2tp {{
        mode = transport
        local_ts = dynamic[udp/l2f]
        remote_ts = dynamic[udp]
        esp_proposals = aes256-sha1, aes128-sha1, 3des-sha1
      }}
    }}
  }}
"""
        swanctl = f"connections {{\n{connection}}}\nsecrets {{\n  ike-lab {{\n" \
                  f'    secret = "{self.psk}"\n  }}\n}}\n'
        path = self.swanctl_dir / "swanctl.conf"
        path.write_text(swanctl)
        path.chmod(0o600)

    def binds(self) -> list[tuple[Path, str]]:
        """/run, /var/log, and empty private /etc/ipsec.d and /etc/swanctl where they exist."""
        pairs = super().binds()
        for target, source in (("/etc/ipsec.d", self.dir / "ipsec.d"),
                               ("/etc/swanctl", self.swanctl_dir)):
            if Path(target).is_dir():
                pairs.append((source, target))
        return pairs

    def env(self) -> dict[str, str]:
        """Point charon at our strongswan.conf."""
        return {"STRONGSWAN_CONF": str(self.conf)}

    def command(self) -> list[str]:
        """charon runs in the foreground when started directly (no starter)."""
        return ["/usr/lib/ipsec/charon"]

    def ready(self) -> bool:
        """The vici control socket exists."""
        return self.vici.is_socket()

    def after_ready(self, deadline: float) -> None:
        """Load the connection and the PSK over vici (swanctl talks to the socket by path)."""
        run(
            [
                "swanctl",
                "--load-all",
                "--noprompt",
                "--file",
                str(self.swanctl_dir / "swanctl.conf"),
                "--uri",
                f"unix://{self.vici}",
            ],
            env={"STRONGSWAN_CONF": str(self.conf), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
            timeout=10,
        )

    def describe(self) -> dict[str, object]:
        """Adds the IKE version."""
        return {**super().describe(), "ike_version": self.version}
