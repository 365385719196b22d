"""An SSH server on loopback (paramiko) for the demo and the tests.

:class:`SshSimulator` accepts password, public-key and keyboard-interactive logins for the
users it is given and answers a fixed set of harmless commands from canned outputs
(:class:`LinuxHost`: ``id``, ``id -un``, ``whoami``, ``chage -l``, ``passwd -S``,
``sudo -n -l``, ``systemctl show`` / ``is-active``). Users can be in the states OpenSSH
shows to a client:

* ``ok``;
* ``locked``: every method is rejected (sshd refuses a locked account, indistinguishable
  from a wrong password);
* ``expired``: the password is accepted, then every command gets sshd's
  "Password change required but no TTY available." on stderr and exit status 1
  (session.c ``do_pwchange``);
* ``expired_kbdint``: keyboard-interactive only; after the password, PAM's "You are required
  to change your password immediately" and a "Current password:" prompt.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shlex
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from accessready.agent.demo.simulators.stream import accept_loop
from accessready.agent.io.transports.ssh import fingerprint_sha256, known_hosts_name

CommandHandler = Callable[[list[str], str], tuple[str, str, int]]

EXPIRED_STDERR = ("WARNING: Your password has expired.\n"
                  "Password change required but no TTY available.\n")


@dataclass
class SshUser:
    """An account of the simulated server."""

    password: str | None = None
    keys: list[Any] = field(default_factory=list)  # paramiko PKey objects
    state: str = "ok"  # ok | locked | expired | expired_kbdint


@dataclass
class LinuxHost:
    """Canned answers of a Debian server for the commands the checks run."""

    hostname: str = "sync01"
    uid: int = 1001
    groups: tuple[tuple[int, str], ...] = ((4, "adm"), (998, "eventful"))
    password_changed_days_ago: int = 30
    max_days: int = 90
    account_expires_in_days: int | None = None
    passwd_state: str = "P"  # noqa: S105 - passwd -S status letter (P usable, L locked)
    sudo: str = "rules"  # rules | password | none
    units: dict[str, tuple[str, str, str, str]] = field(default_factory=dict)
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)

    def _date(self, days: int) -> str:
        return (self.now() + dt.timedelta(days=days)).strftime("%b %d, %Y")

    def respond(self, argv: list[str], user: str) -> tuple[str, str, int]:
        """(stdout, stderr, exit status) for ``argv`` run by ``user``."""
        name = user.split("\\")[-1].split("@")[0]
        if argv[:2] == ["env", "LC_ALL=C"]:
            argv = argv[2:]
        if argv in (["id", "-un"], ["whoami"]):
            return f"{name}\n", "", 0
        if argv == ["id"]:
            groups = ",".join([f"{self.uid}({name})"] + [f"{g}({n})" for g, n in self.groups])
            return f"uid={self.uid}({name}) gid={self.uid}({name}) groups={groups}\n", "", 0
        if argv == ["chage", "-l", name]:
            expires = self._date(self.max_days - self.password_changed_days_ago) \
                if self.max_days < 99999 else "never"
            account = "never" if self.account_expires_in_days is None else \
                self._date(self.account_expires_in_days)
            rows = [("Last password change", "\t\t\t\t\t",
                     self._date(-self.password_changed_days_ago)),
                    ("Password expires", "\t\t\t\t\t", expires),
                    ("Password inactive", "\t\t\t\t\t", "never"),
                    ("Account expires", "\t\t\t\t\t\t", account),
                    ("Minimum number of days between password change", "\t\t", "0"),
                    ("Maximum number of days between password change", "\t\t",
                     str(self.max_days)),
                    ("Number of days of warning before password expires", "\t", "7")]
            return "".join(f"{a}{tabs}: {b}\n" for a, tabs, b in rows), "", 0
        if argv[:2] == ["chage", "-l"]:
            return "", f"chage: user '{argv[2] if len(argv) > 2 else ''}' does not exist " \
                       "in /etc/passwd\n", 1
        if argv == ["passwd", "-S", name]:
            changed = (self.now() - dt.timedelta(days=self.password_changed_days_ago))
            return (f"{name} {self.passwd_state} {changed:%Y-%m-%d} 0 {self.max_days} 7 -1\n",
                    "", 0)
        if argv == ["sudo", "-n", "-l"]:
            return self._sudo(name)
        if argv[:2] == ["systemctl", "show"]:
            return self._systemctl_show([a for a in argv[2:] if not a.startswith("-")]), "", 0
        if argv[:2] == ["systemctl", "is-active"] and len(argv) > 2:
            unit = self.units.get(argv[-1].removesuffix(".service"))
            state = unit[1] if unit else "inactive"
            return f"{state}\n", "", 0 if state == "active" else 3
        return "", f"bash: line 1: {argv[0] if argv else ''}: command not found\n", 127

    def _sudo(self, name: str) -> tuple[str, str, int]:
        if self.sudo == "password":
            return "", "sudo: a password is required\n", 1
        if self.sudo == "none":
            return "", f"Sorry, user {name} may not run sudo on {self.hostname}.\n", 1
        return (f"Matching Defaults entries for {name} on {self.hostname}:\n"
                "    env_reset, mail_badpass,\n"
                "    secure_path=/usr/local/sbin\\:/usr/local/bin\\:/usr/sbin\\:/usr/bin\\:"
                "/sbin\\:/bin, use_pty\n\n"
                f"User {name} may run the following commands on {self.hostname}:\n"
                "    (root) NOPASSWD: /usr/bin/systemctl restart eventful-*,\n"
                "        /usr/bin/journalctl -u eventful-*\n", "", 0)

    def _systemctl_show(self, units: list[str]) -> str:
        blocks = []
        for unit in units:
            base = unit.removesuffix(".service")
            known = self.units.get(base)
            if known is None:
                load, active, sub, enabled, desc = "not-found", "inactive", "dead", "", \
                    f"{unit}"
            else:
                load = "loaded"
                active, sub, enabled, desc = known
            blocks.append(f"Id={base}.service\nDescription={desc}\nLoadState={load}\n"
                          f"ActiveState={active}\nSubState={sub}\nUnitFileState={enabled}\n")
        return "\n".join(blocks)


def _server_interface(sim: SshSimulator) -> Any:
    import paramiko

    class Interface(paramiko.ServerInterface):
        def __init__(self) -> None:
            self.user: str | None = None
            self.kbd_step = 0
            self.kbd_user: str | None = None

        def get_allowed_auths(self, username: str) -> str:
            return ",".join(sim.methods)

        def _ok(self, username: str) -> SshUser | None:
            user = sim.users.get(username)
            return user if user is not None and user.state != "locked" else None

        def check_auth_password(self, username: str, password: str) -> int:
            user = self._ok(username)
            sim.log.append({"op": "password", "user": username})
            if "password" in sim.methods and user and user.state != "expired_kbdint" \
                    and user.password == password:
                self.user = username
                return paramiko.AUTH_SUCCESSFUL
            return paramiko.AUTH_FAILED

        def check_auth_publickey(self, username: str, key: Any) -> int:
            user = self._ok(username)
            sim.log.append({"op": "publickey", "user": username})
            if "publickey" in sim.methods and user and any(
                    k.asbytes() == key.asbytes() for k in user.keys):
                self.user = username
                return paramiko.AUTH_SUCCESSFUL
            return paramiko.AUTH_FAILED

        def check_auth_interactive(self, username: str, submethods: str) -> Any:
            if "keyboard-interactive" not in sim.methods:
                return paramiko.AUTH_FAILED
            self.kbd_user, self.kbd_step = username, 0
            return paramiko.InteractiveQuery("", "", ("Password: ", False))

        def check_auth_interactive_response(self, responses: list[str]) -> Any:
            user = self._ok(self.kbd_user or "")
            sim.log.append({"op": "keyboard-interactive", "user": self.kbd_user,
                            "step": self.kbd_step})
            if self.kbd_step == 0 and user and responses == [user.password]:
                if user.state == "expired_kbdint":
                    self.kbd_step = 1
                    return paramiko.InteractiveQuery(
                        "", "You are required to change your password immediately "
                        "(administrator enforced)", ("Current password: ", False))
                self.user = self.kbd_user
                return paramiko.AUTH_SUCCESSFUL
            return paramiko.AUTH_FAILED

        def check_channel_request(self, kind: str, chanid: int) -> int:
            if kind == "session":
                return paramiko.OPEN_SUCCEEDED
            return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

        def check_channel_exec_request(self, channel: Any, command: bytes) -> bool:
            text = command.decode("utf-8", "replace")
            sim.log.append({"op": "exec", "user": self.user, "command": text})
            threading.Thread(target=sim._exec, args=(channel, text, self.user or ""),
                             daemon=True, name="ssh-sim-exec").start()
            if sim.exec_reply_delay:  # a busy server: the exec reply comes late
                time.sleep(sim.exec_reply_delay)
            return True

    return Interface()


class SshSimulator:
    """A paramiko SSH server on loopback; ``start()``, then ``port``; ``stop()``."""

    def __init__(self, users: dict[str, SshUser], *, host_key: Any = None,
                 commands: CommandHandler | None = None, host: str = "127.0.0.1",
                 port: int = 0, banner_delay: float = 0.0,
                 methods: tuple[str, ...] = ("publickey", "password"),
                 version: str = "OpenSSH_9.2p1 Debian-2+deb12u3",
                 extra_host_keys: tuple[Any, ...] = (),
                 exec_reply_delay: float = 0.0) -> None:
        import paramiko

        self.users = users
        self.host_key = host_key or paramiko.ECDSAKey.generate(bits=256)
        self.extra_host_keys = extra_host_keys  # more key types, as sshd offers several
        self.exec_reply_delay = exec_reply_delay
        self.commands = commands or LinuxHost().respond
        self.banner_delay = banner_delay
        self.methods = methods
        self.version = version
        self.log: list[dict[str, Any]] = []
        self._listener = socket.create_server((host, port))
        self.host, self.port = self._listener.getsockname()[:2]
        self._stop = threading.Event()
        self._transports: list[Any] = []
        self._thread = threading.Thread(target=self._serve, name="ssh-sim", daemon=True)

    @property
    def fingerprint(self) -> str:
        """The host key's OpenSSH SHA256 fingerprint."""
        return fingerprint_sha256(self.host_key.asbytes())

    def known_hosts_line(self, name: str | None = None) -> str:
        """A known_hosts line for this server (``[host]:port`` unless port 22)."""
        host = name or known_hosts_name(self.host, self.port)
        return f"{host} {self.host_key.get_name()} {self.host_key.get_base64()}\n"

    def start(self) -> SshSimulator:
        """Accept connections in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting and close every session."""
        self._stop.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        for transport in list(self._transports):
            with contextlib.suppress(Exception):
                transport.close()

    def _serve(self) -> None:
        accept_loop(self._listener, self._stop, self._session, "ssh-sim-conn")

    def _session(self, sock: socket.socket) -> None:
        import paramiko

        if self.banner_delay:
            time.sleep(self.banner_delay)
        try:
            transport = paramiko.Transport(sock)
            transport.local_version = f"SSH-2.0-{self.version}"
            transport.add_server_key(self.host_key)
            for key in self.extra_host_keys:
                transport.add_server_key(key)
            self._transports.append(transport)
            transport.start_server(server=_server_interface(self))
        except Exception:  # a client that hung up early is normal for a probe
            with contextlib.suppress(OSError):
                sock.close()

    def _exec(self, channel: Any, command: str, user: str) -> None:
        # paramiko sends the exec request's reply only after check_channel_exec_request
        # returns, on the transport's thread, so this thread's messages may overtake it. The
        # client's exec_command fails ("Channel closed.") if a CLOSE arrives before that
        # reply; output, the exit status and EOF do not disturb it. So end with EOF, as
        # sshd does when the command exits, and close only once the client has closed (its
        # reply long received) or after a bound. A fixed sleep here used to lose that race
        # on a busy machine.
        with contextlib.suppress(Exception):  # the client went away: nothing to do
            self._answer(channel, command, user)
            channel.shutdown_write()
            deadline = time.monotonic() + 10.0
            while not channel.closed and time.monotonic() < deadline:
                channel.status_event.wait(0.05)
        with contextlib.suppress(Exception):
            channel.close()

    def _answer(self, channel: Any, command: str, user: str) -> None:
        account = self.users.get(user)
        if account is not None and account.state == "expired":
            out, err, code = "", EXPIRED_STDERR, 1
        else:
            try:
                argv = shlex.split(command)
            except ValueError:
                argv = [command]
            out, err, code = self.commands(argv, user)
        if out:
            channel.sendall(out.encode("utf-8"))
        if err:
            channel.sendall_stderr(err.encode("utf-8"))
        channel.send_exit_status(code)
