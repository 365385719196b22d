"""openssh-server in the ``ssh`` host, with the ``support`` user (password and key).

sshd runs with private copies of /etc/passwd, /etc/shadow and /etc/group (bind-mounted in its
mount namespace) that add the support user, so the machine's account database is never
written. Its privilege-separation dir /run/sshd and its logs (btmp, lastlog) land in the
host's folder. ``UsePAM no``: sshd checks the password against the private shadow itself.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING

from ..pki import SshKey, make_ssh_key
from ..proc import in_netns
from .base import Daemon

if TYPE_CHECKING:
    from ..core import Lab


class SshServer(Daemon):
    """sshd on port 22 of the ``ssh`` host."""

    kind = "sshd"
    port = 22

    def __init__(self, lab: Lab, host: str = "ssh") -> None:
        super().__init__(lab, host)
        self.etc = self.dir / "etc"
        self.host_key: SshKey | None = None

    def prepare(self) -> None:
        """Host key, account files, home with authorized_keys, sshd_config."""
        super().prepare()
        (self.run_dir / "sshd").mkdir(mode=0o755, exist_ok=True)
        self.etc.mkdir(exist_ok=True)
        self.host_key = make_ssh_key(self.dir / "ssh_host_ed25519_key", "ssh01-lab-hostkey")
        acct = self.lab.support
        with open("/etc/passwd") as f:
            passwd = f.read()
        with open("/etc/group") as f:
            group = f.read()
        with open("/etc/shadow") as f:
            shadow = f.read()
        (self.etc / "passwd").write_text(
            _with_line(passwd, f"{acct.username}:x:{acct.uid}:{acct.gid}:Lab support:"
                       f"{acct.home}:/bin/bash")
        )
        (self.etc / "group").write_text(_with_line(group, f"{acct.username}:x:{acct.gid}:"))
        shadow_path = self.etc / "shadow"
        shadow_path.write_text(_with_line(shadow, acct.shadow_line()))
        shadow_path.chmod(0o640)
        ssh_dir = acct.home / ".ssh"
        ssh_dir.mkdir(parents=True, exist_ok=True)
        (ssh_dir / "authorized_keys").write_text(acct.key.public_line + "\n")
        for path in (acct.home, ssh_dir, ssh_dir / "authorized_keys"):
            os.chown(path, acct.uid, acct.gid)
        acct.home.chmod(0o755)
        ssh_dir.chmod(0o700)
        (ssh_dir / "authorized_keys").chmod(0o600)
        config = f"""\
# accessready lab sshd ({self.host.ns})
Port {self.port}
ListenAddress {self.host.address}
HostKey {self.host_key.private_key}
PidFile /run/sshd.pid
UsePAM no
PermitRootLogin no
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile {ssh_dir}/authorized_keys
StrictModes yes
AllowUsers {acct.username}
PrintMotd no
LogLevel VERBOSE
MaxStartups 100:30:200
MaxAuthTries 10
LoginGraceTime 30
"""
        (self.dir / "sshd_config").write_text(config)

    def binds(self) -> list[tuple[Path, str]]:
        """/run, /var/log and the three account files."""
        return [
            *super().binds(),
            (self.etc / "passwd", "/etc/passwd"),
            (self.etc / "group", "/etc/group"),
            (self.etc / "shadow", "/etc/shadow"),
        ]

    def command(self) -> list[str]:
        """Foreground, log to stderr."""
        return ["/usr/sbin/sshd", "-D", "-e", "-f", str(self.dir / "sshd_config")]

    def ready(self) -> bool:
        """The SSH banner arrives."""
        return self.banner(timeout=0.3).startswith("SSH-2.0-")

    def banner(self, timeout: float = 2.0) -> str:
        """Read sshd's identification line from the ssh host itself."""

        def read() -> str:
            try:
                with socket.create_connection((self.host.address, self.port), timeout=timeout) as s:
                    s.settimeout(timeout)
                    return s.recv(256).decode(errors="replace").strip()
            except OSError:
                return ""

        return in_netns(self.host.ns, read)

    def set_password_expiry(self, days_left: int | None) -> None:
        """Make the support password expire in ``days_left`` days (None: never).

        The shadow file is rewritten in place: it is bind-mounted, and a new inode (rename)
        would not show through the mount.
        """
        path = self.etc / "shadow"
        text = path.read_text()
        new = _with_line(text, self.lab.support.shadow_line(days_left))
        with open(path, "r+") as f:
            f.seek(0)
            f.write(new)
            f.truncate()


def _with_line(content: str, line: str) -> str:
    """``content`` with the entry for ``line``'s name replaced or appended."""
    name = line.split(":", 1)[0] + ":"
    kept = [ln for ln in content.splitlines() if not ln.startswith(name)]
    return "\n".join([*kept, line]) + "\n"
