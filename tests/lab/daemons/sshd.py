"""openssh-server in the ``ssh`` host, with the ``support`` user (password and key).

sshd runs with private copies of /etc/passwd, /etc/shadow and /etc/group (bind-mounted in its
mount namespace) that add the support user, so the machine's account database is never
written; the private shadow is root:shadow 0640 as on Debian, so the setgid ``chage -l``
works for the support user. Where sudo is installed, a private /etc/sudoers (no syslog, no
mail, its log in the host's log folder) and /etc/sudoers.d with a NOPASSWD rule for the
support user are bind-mounted too (``set_sudo_rule`` changes or removes the rule). Its
privilege-separation dir /run/sshd and its logs (btmp, lastlog) land in the host's folder.
``UsePAM no``: sshd checks the password against the private shadow itself.
"""

from __future__ import annotations

import grp
import os
import shutil
import socket
from pathlib import Path
from typing import TYPE_CHECKING

from ..pki import SshKey, make_ssh_key
from ..proc import in_netns
from .base import Daemon

if TYPE_CHECKING:
    from ..core import Lab


# What support typically gets on a sync server: restart services and read their logs.
SUPPORT_SUDO_RULE = ("ALL=(root) NOPASSWD: /usr/bin/systemctl restart *, "
                     "/usr/bin/journalctl")


class SshServer(Daemon):
    """sshd on port 22 of the ``ssh`` host."""

    kind = "sshd"
    port = 22

    def __init__(self, lab: Lab, host: str = "ssh") -> None:
        super().__init__(lab, host)
        self.etc = self.dir / "etc"
        self.host_key: SshKey | None = None
        self.sudoers = self.etc / "sudoers"
        self.sudoers_d = self.etc / "sudoers.d"

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
        # root:shadow 0640 as on Debian, so the setgid-shadow chage can read it for the
        # support user (chage -l support over SSH works as on a real server).
        os.chown(shadow_path, 0, shadow_gid())
        shadow_path.chmod(0o640)
        if sudo_available():
            self._write_sudoers()
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

    def _write_sudoers(self) -> None:
        """The private /etc/sudoers and /etc/sudoers.d (root-owned, as sudo insists)."""
        self.sudoers.write_text(f"""\
# accessready lab sudoers ({self.host.ns}; private to sshd's mount namespace)
Defaults env_reset
Defaults !syslog
Defaults logfile=/var/log/sudo.log
Defaults !mail_badpass, !mail_no_user, !mail_no_host, !mail_no_perms, !mail_always
Defaults lecture=never
Defaults secure_path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
root ALL=(ALL:ALL) ALL
@includedir /etc/sudoers.d
""")
        os.chown(self.sudoers, 0, 0)
        self.sudoers.chmod(0o440)
        self.sudoers_d.mkdir(mode=0o755, exist_ok=True)
        os.chown(self.sudoers_d, 0, 0)
        self.sudoers_d.chmod(0o755)
        self.set_sudo_rule(SUPPORT_SUDO_RULE)

    def set_sudo_rule(self, rule: str | None) -> None:
        """Give the support user this sudoers rule (``None``: no sudo at all).

        The rule lives in the private /etc/sudoers.d (a bind-mounted folder, so a new or
        removed file shows through at once); sudo reads it afresh on every call.
        """
        path = self.sudoers_d / "support"
        if rule is None:
            path.unlink(missing_ok=True)
            return
        tmp = self.sudoers_d / "support.new"  # sudo skips names with a dot
        tmp.write_text(f"{self.lab.support.username} {rule}\n")
        os.chown(tmp, 0, 0)
        tmp.chmod(0o440)
        tmp.replace(path)

    def binds(self) -> list[tuple[Path, str]]:
        """/run, /var/log, the three account files and (with sudo) sudoers."""
        out = [
            *super().binds(),
            (self.etc / "passwd", "/etc/passwd"),
            (self.etc / "group", "/etc/group"),
            (self.etc / "shadow", "/etc/shadow"),
        ]
        if self.sudoers.exists():
            out += [(self.sudoers, "/etc/sudoers"), (self.sudoers_d, "/etc/sudoers.d")]
        return out

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


def sudo_available() -> bool:
    """sudo is installed, with the files the private copies stand in for."""
    return bool(shutil.which("sudo")) and os.path.isfile("/etc/sudoers") and \
        os.path.isdir("/etc/sudoers.d")


def shadow_gid() -> int:
    """The ``shadow`` group's id (Debian: 42), or root's group where there is none."""
    try:
        return grp.getgrnam("shadow").gr_gid
    except KeyError:
        return 0


def _with_line(content: str, line: str) -> str:
    """``content`` with the entry for ``line``'s name replaced or appended."""
    name = line.split(":", 1)[0] + ":"
    kept = [ln for ln in content.splitlines() if not ln.startswith(name)]
    return "\n".join([*kept, line]) + "\n"


class PamSshServer(SshServer):
    """A second sshd on port 2222 of the ``ssh`` host: ``UsePAM yes``, keyboard-interactive.

    It shares the first sshd's host key and private account files (so ``set_password_expiry``
    applies to both) and adds a private /etc/pam.d/sshd with pam_unix alone: no pam_systemd,
    pam_loginuid or motd scripts that could reach the machine's own session state. An
    expired password makes PAM ask for a new one through keyboard-interactive prompts.
    """

    kind = "sshd-pam"
    port = 2222

    def __init__(self, lab: Lab, primary: SshServer) -> None:
        super().__init__(lab, primary.host.name)
        self.primary = primary
        self.pam_file = self.etc / "pam.d-sshd"

    def prepare(self) -> None:
        """sshd-pam_config and the PAM stack; the account files come from ``primary``."""
        Daemon.prepare(self)
        self.host_key = self.primary.host_key
        if self.host_key is None:
            raise RuntimeError("sshd-pam needs the first sshd prepared (its host key)")
        self.pam_file.write_text(
            "# accessready lab: pam_unix only (private to sshd-pam's mount namespace)\n"
            "auth     required pam_unix.so\n"
            "account  required pam_unix.so\n"
            "password required pam_unix.so\n"
            "session  required pam_unix.so\n"
        )
        acct = self.lab.support
        config = f"""\
# accessready lab sshd with PAM ({self.host.ns})
Port {self.port}
ListenAddress {self.host.address}
HostKey {self.host_key.private_key}
PidFile none
UsePAM yes
PermitRootLogin no
PasswordAuthentication no
KbdInteractiveAuthentication yes
PubkeyAuthentication no
AllowUsers {acct.username}
PrintMotd no
LogLevel VERBOSE
MaxStartups 100:30:200
MaxAuthTries 10
LoginGraceTime 30
"""
        (self.dir / "sshd-pam_config").write_text(config)

    def binds(self) -> list[tuple[Path, str]]:
        """The first sshd's binds plus the private /etc/pam.d/sshd."""
        return [*self.primary.binds(), (self.pam_file, "/etc/pam.d/sshd")]

    def command(self) -> list[str]:
        """Foreground, log to stderr."""
        return ["/usr/sbin/sshd", "-D", "-e", "-f", str(self.dir / "sshd-pam_config")]
