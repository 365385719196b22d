"""The lab's ``support`` account: one password and one SSH key, used by sshd and ocserv.

The account never enters the machine's /etc: sshd sees it through private copies of
/etc/passwd, /etc/shadow and /etc/group bind-mounted in sshd's own mount namespace, and ocserv
through its own password file. The password is random per lab.
"""

from __future__ import annotations

import datetime as dt
import pwd
import secrets
from dataclasses import dataclass
from pathlib import Path

from .pki import SshKey, make_ssh_key
from .proc import run

USERNAME = "support"
GROUP = "Leverantorer"  # the AnyConnect group offered to suppliers (design.md's example)


@dataclass
class SupportAccount:
    """The support user as the tests see it."""

    username: str
    password: str
    password_hash: str  # SHA-512 crypt ($6$...), from `openssl passwd -6`
    uid: int
    gid: int
    home: Path
    key: SshKey
    group: str = GROUP

    def to_dict(self) -> dict[str, object]:
        """JSON-friendly form (the password included: it is a throwaway lab secret)."""
        return {
            "username": self.username,
            "password": self.password,
            "uid": self.uid,
            "home": str(self.home),
            "group": self.group,
            "key": str(self.key.private_key),
            "public_key": str(self.key.public_key),
        }

    def shadow_line(self, days_left: int | None = None) -> str:
        """The /etc/shadow entry; ``days_left`` sets when the password expires (None: never)."""
        today = (dt.datetime.now(dt.UTC).date() - dt.date(1970, 1, 1)).days
        if days_left is None:
            lastchg, max_days = today, 99999
        else:
            max_days = 90
            lastchg = today - (max_days - days_left)
        return f"{self.username}:{self.password_hash}:{lastchg}:0:{max_days}:7:::"


def _free_uid(start: int = 4242) -> int:
    for uid in range(start, start + 1000):
        try:
            pwd.getpwuid(uid)
        except KeyError:
            return uid
    raise RuntimeError("no free uid for the lab's support user")


def make_support_account(directory: Path, home: Path) -> SupportAccount:
    """Create the password, its crypt hash and the SSH key pair under ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    password = "Lab-" + secrets.token_urlsafe(12)
    # -stdin keeps the password out of the process list.
    hashed = run(["openssl", "passwd", "-6", "-stdin"], input=password + "\n").stdout.strip()
    key = make_ssh_key(directory / "id_ed25519", f"{USERNAME}@accessready-lab")
    uid = _free_uid()
    return SupportAccount(
        username=USERNAME,
        password=password,
        password_hash=hashed,
        uid=uid,
        gid=uid,
        home=home,
        key=key,
    )
