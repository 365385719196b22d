"""SSH through paramiko: the unauthenticated handshake ``remote.ssh`` needs, and a login
session (:class:`SshTransport`) the account and service checks run commands over.

Order of events, each step bounded by what is left of one deadline:

1. TCP connect (``refused`` / ``timeout`` / ``unreachable`` / ``dns``);
2. wait for the server's first bytes with ``MSG_PEEK`` — a host that accepts TCP and then
   says nothing is told apart from one that says something that is not SSH;
3. paramiko reads the banner and runs the key exchange (``banner_timeout``,
   ``handshake_timeout`` set to the time left; paramiko's own defaults are 15 s and 15 s);
4. the host key is compared with the known_hosts file **before any credential is sent**: an
   unknown key is ``host_key_unknown`` (the SHA256 fingerprint is in the details) unless the
   run opted in with ``--accept-new-host-keys``; a different key of the same type is
   ``host_key_mismatch`` and is never accepted;
5. authentication (``auth_timeout``): the key file, then the password, then keys from a
   running ssh-agent. Every attempt is recorded (method and outcome, never a secret).

An expired password shows on OpenSSH in one of three ways, all detected:
keyboard-interactive PAM prompts asking for a new password; the password method answered
with SSH_MSG_USERAUTH_PASSWD_CHANGEREQ (paramiko: "Illegal info request from server");
or a successful login whose commands all fail with "Password change required but no TTY
available" (sshd's ``do_pwchange``: PAM said NEW_AUTHTOK_REQD). OpenSSH deliberately answers a
wrong password, an unknown user and a locked account alike, so those are one kind,
``auth_failed``.

Host keys and known_hosts live in :mod:`.ssh_hostkeys`, authentication in :mod:`.ssh_auth`;
their public names are importable from here too. paramiko is imported inside the functions
so ``accessready --help`` stays fast.
"""

from __future__ import annotations

import contextlib
import logging
import shlex
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from accessready.agent.core import powershell
from accessready.agent.io import watchdog
from accessready.agent.io.transports import ssh_native
from accessready.agent.io.transports.base import (
    CommandResult,
    TransportError,
    library_message,
    open_tcp,
    unexpected_answer,
)
from accessready.agent.io.transports.ssh_auth import EXPIRED_TEXTS, authenticate
from accessready.agent.io.transports.ssh_auth import SshCredentials as SshCredentials
from accessready.agent.io.transports.ssh_hostkeys import (
    MAX_KNOWN_HOSTS_BYTES as MAX_KNOWN_HOSTS_BYTES,
)
from accessready.agent.io.transports.ssh_hostkeys import Handshake as Handshake
from accessready.agent.io.transports.ssh_hostkeys import HostKeyVerdict as HostKeyVerdict
from accessready.agent.io.transports.ssh_hostkeys import KnownHosts as KnownHosts
from accessready.agent.io.transports.ssh_hostkeys import fingerprint_sha256 as fingerprint_sha256
from accessready.agent.io.transports.ssh_hostkeys import known_hosts_name as known_hosts_name
from accessready.checks.protocols import sshkex

MAX_OUTPUT = 1024 * 1024
"""Most bytes kept of one command's stdout (and, separately, stderr)."""


def _ms(started: float) -> float:
    return (time.monotonic() - started) * 1000


def _left(deadline: float, what: str, details: Mapping[str, Any]) -> float:
    # No time left *before* a stage starts: we could not decide (``deadline``, an error),
    # not "the server did not answer" (a stage that waits and hears nothing is a timeout).
    left = deadline - time.monotonic()
    if left <= 0.01:
        raise TransportError("deadline", f"ran out of time {what}", details)
    return left


_QUIETED = False


def _quiet_paramiko() -> None:
    """paramiko logs a traceback when a transport we gave up on is closed under its reader
    thread; without a handler Python prints that to stderr. The evidence is in our errors."""
    global _QUIETED
    if _QUIETED:  # once per process: getLogger takes logging's global lock
        return
    logger = logging.getLogger("paramiko")
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
        logger.propagate = False
    _QUIETED = True


HANDSHAKE_TIMER_GRACE_S = 1.0
"""How long after the handshake timeout paramiko's reader thread is told to give up: later
than :func:`handshake` gives up itself (``start_client`` looks every 0.1 s)."""


class _HandshakeTimer:
    """Stands in for the ``threading.Timer`` paramiko's Packetizer starts per handshake.

    That timer is a thread per connection (starting it costs more CPU than building the
    key exchange message), and after a failed exchange it sleeps on until
    ``handshake_timeout``. :meth:`start` replaces the Packetizer's ``start_handshake`` on
    this one transport and does what it does with the shared watchdog: at the end it calls
    the Packetizer's own ``read_timer``, which is all paramiko's timer does. paramiko calls
    :meth:`cancel` when the exchange completes, :func:`handshake` when it is over either way.

    The end is :data:`HANDSHAKE_TIMER_GRACE_S` after paramiko's: its timer raced
    ``start_client``'s own timeout, and when it won, the reader thread ended the transport
    and a server silent during the key exchange was reported as having closed the
    connection (``protocol``) instead of ``silent``. :func:`handshake` gives up at its
    deadline and closes the transport; this timer is only the safety net behind it.
    """

    def __init__(self, packetizer: Any) -> None:
        self._packetizer = packetizer
        self._handle: int | None = None

    def start(self, timeout: float) -> None:
        """``Packetizer.start_handshake``: the first call starts the timer."""
        if self._handle is None and getattr(self._packetizer, _TIMER_SLOT) is None:
            self._handle = watchdog.arm(time.monotonic() + float(timeout)
                                        + HANDSHAKE_TIMER_GRACE_S, self._packetizer.read_timer)
            setattr(self._packetizer, _TIMER_SLOT, self)

    def cancel(self) -> None:
        """The handshake is over: the expiry will not be needed."""
        if self._handle is not None:
            watchdog.disarm(self._handle)


_TIMER_SLOT = "_Packetizer__timer"  # paramiko's private slot for that timer


def _share_handshake_timer(transport: Any) -> _HandshakeTimer | None:
    """Give the transport's Packetizer a :class:`_HandshakeTimer` in place of a timer
    thread. A paramiko without that slot (or with a timer already running) is left alone:
    it then starts its own, as before."""
    packetizer = transport.packetizer
    if getattr(packetizer, _TIMER_SLOT, False) is not None or \
            not callable(getattr(packetizer, "read_timer", None)):
        return None
    timer = _HandshakeTimer(packetizer)
    packetizer.start_handshake = timer.start
    return timer


def _open(host: str, port: int, deadline: float, timeout: float,
          note: str = "") -> tuple[socket.socket, Handshake]:
    """Connect and wait for the server's first bytes until ``deadline`` (``timeout`` is
    the whole probe's, for the messages): (socket, evidence).

    The bytes are peeked, not read, so the key exchange still reads the banner itself:
    tells a silent host (TCP open, no bytes) from one speaking another protocol.
    """
    started = time.monotonic()
    info = Handshake(host, port, note=note)
    where = f"{host}:{port}"
    sock = open_tcp(host, port, _left(deadline, "before connecting", info.to_json()))
    info.connect_ms = _ms(started)
    try:
        sock.settimeout(_left(deadline, "waiting for the SSH banner", info.to_json()))
        try:
            info.first_bytes = sock.recv(256, socket.MSG_PEEK)
        except TimeoutError:
            raise TransportError(
                "silent", f"{where} accepted TCP but sent no SSH banner within "
                f"{timeout:.1f} s (a silent host, a very slow sshd, or a firewall that "
                "accepts and drops)", {**info.to_json(), "stage": "banner"}) from None
        if not info.first_bytes:
            raise TransportError("protocol", f"{where} closed the connection without an "
                                 "SSH banner (sshd refusing us: MaxStartups, tcp wrappers, "
                                 "or not SSH)", {**info.to_json(), "stage": "banner"})
        info.banner_ms = _ms(started)
    except BaseException:
        sock.close()
        raise
    return sock, info


def handshake(host: str, port: int, known: KnownHosts, timeout: float,
              key_check: bool = True) -> tuple[Any, Handshake]:
    """Connect, read the banner, exchange keys and check the host key.

    Returns the live paramiko Transport (not yet authenticated) and the evidence. Raises
    :class:`TransportError`; the transport is closed on every failure, so no thread leaks.
    """
    started = time.monotonic()
    deadline = started + timeout
    sock, info = _open(host, port, deadline, timeout)
    return _paramiko_handshake(sock, info, known, started, deadline, timeout, key_check), info


def _paramiko_handshake(sock: socket.socket, info: Handshake, known: KnownHosts,
                        started: float, deadline: float, timeout: float,
                        key_check: bool) -> Any:
    """paramiko's banner exchange and key exchange on ``sock`` (see :func:`handshake`)."""
    import paramiko

    _quiet_paramiko()
    host, port = info.host, info.port
    where = f"{host}:{port}"
    transport = paramiko.Transport(sock)
    timer = None
    try:
        left = _left(deadline, "before the key exchange", info.to_json())
        transport.banner_timeout = left
        transport.handshake_timeout = left
        transport.auth_timeout = left
        timer = _share_handshake_timer(transport)
        options = transport.get_security_options()
        options.key_types = known.preferred_algorithms(host, port, list(options.key_types))
        try:
            transport.start_client(timeout=left)
        except paramiko.SSHException as exc:
            raise _kex_error(exc, where, info) from None
        except (EOFError, OSError) as exc:
            raise _hung_up(where, info, exc) from None
        except Exception as exc:
            raise unexpected_answer(where, exc, "key exchange", info.to_json()) from None
        # start_client returns without an error when its timeout passes mid-exchange.
        if not transport.is_active() or not transport.initial_kex_done:
            if not info.first_bytes.startswith(b"SSH-"):
                raise TransportError("protocol", f"{where} does not speak SSH: it answered "
                                     f"{info.first_bytes[:40]!r}",
                                     {**info.to_json(), "stage": "banner",
                                      "first_bytes": info.first_bytes[:80].decode("latin-1")})
            # connected and answering, but not to the end in time: "silent", not "timeout"
            raise TransportError("silent", f"the key exchange with {where} did not finish "
                                 f"within {timeout:.1f} s", {**info.to_json(), "stage": "kex"})
        info.kex_ms = _ms(started)
        info.banner = transport.remote_version
        info.cipher = getattr(transport, "remote_cipher", "") or ""
        key = transport.get_remote_server_key()
        info.host_key = known.check(host, port, key)
        if key_check:
            require_trusted_key(info)
        return transport
    except BaseException:
        transport.close()
        raise
    finally:
        if timer is not None:  # the exchange is over either way (done, or given up)
            timer.cancel()


def require_trusted_key(info: Handshake) -> None:
    """Raise unless the host key is known (or was just added on the user's request)."""
    verdict = info.host_key
    if verdict is None or verdict.status in ("known", "added"):
        return
    where = f"{info.host}:{info.port}"
    if verdict.status == "revoked":
        raise TransportError(
            "host_key_mismatch", f"the {verdict.key_type} host key of {where} "
            f"({verdict.fingerprint}) is marked @revoked in {verdict.known_hosts}; nothing "
            "was sent", {**info.to_json(), "fingerprint": verdict.fingerprint})
    if verdict.status == "unknown" and verdict.other_types_known:
        raise TransportError(
            "host_key_unknown", f"{where} presents a {verdict.key_type} host key "
            f"({verdict.fingerprint}), but {verdict.known_hosts} holds "
            f"{', '.join(verdict.other_types_known)} for it: not accepted, even with "
            "--accept-new-host-keys (a man in the middle need only offer another key type); "
            "nothing was sent", {**info.to_json(), "fingerprint": verdict.fingerprint})
    if verdict.status == "mismatch":
        raise TransportError(
            "host_key_mismatch", f"the {verdict.key_type} host key of {where} "
            f"({verdict.fingerprint}) differs from the one in {verdict.known_hosts} "
            f"({', '.join(verdict.known_fingerprints)}); nothing was sent",
            {**info.to_json(), "fingerprint": verdict.fingerprint})
    raise TransportError(
        "host_key_unknown", f"the {verdict.key_type} host key of {where} is not in "
        f"{verdict.known_hosts}: {verdict.fingerprint}; nothing was sent"
        + (f" ({verdict.note})" if verdict.note else ""),
        {**info.to_json(), "fingerprint": verdict.fingerprint})


def _hung_up(where: str, info: Handshake, exc: BaseException) -> TransportError:
    """The peer closed the connection during the key exchange. A reset is a hang-up too,
    as on the native path: whether the close arrives as FIN or RST depends on timing
    (data it had not read), not on the peer."""
    name = "EOFError" if isinstance(exc, ConnectionError) else exc.__class__.__name__
    return TransportError("protocol", f"{where} closed the connection during the key "
                          "exchange", {**info.to_json(), "stage": "kex", "exception": name})


def _kex_error(exc: Exception, where: str, info: Handshake) -> TransportError:
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, EOFError | ConnectionError):
        # paramiko wraps a hang-up while it reads the banner we peeked ("Error reading
        # SSH protocol banner"): where a reset discards unread data (Windows), not silence
        return _hung_up(where, info, cause)
    text = str(exc)
    details = {**info.to_json(), "stage": "kex",
               "first_bytes": info.first_bytes[:80].decode("latin-1")}
    if "banner" in text.lower() or "protocol version" in text.lower():
        if not info.first_bytes.startswith(b"SSH-"):
            return TransportError("protocol", f"{where} does not speak SSH: it answered "
                                  f"{info.first_bytes[:40]!r}", details)
        return TransportError("silent", f"{where} did not finish its SSH banner in time",
                              details)
    if "incompatible" in text.lower() or "no acceptable" in text.lower():
        return TransportError("protocol", f"{where} and this client share no SSH algorithms: "
                              f"{text}", details)
    return TransportError("protocol", f"the SSH key exchange with {where} failed: {text}",
                          details)


def _exec_request(channel: Any, command: str, deadline: float, where: str,
                  timeout: float) -> None:
    """``channel.exec_command(command)``, waiting for the server's reply only until
    ``deadline``.

    paramiko waits for the reply to an exec request without a bound, whatever the channel
    timeout (its issues #739 and #2599): a busy or stuck server held the command, and its
    check, past the deadline. The shared watchdog closes the channel at the deadline,
    which ends that wait (exec_command raises on a closed channel): a ``timeout``, not a
    broken channel — and no thread of its own per command.
    """
    import paramiko

    expired = threading.Event()

    def expire() -> None:
        expired.set()
        with contextlib.suppress(Exception):  # the link is gone: exec_command ends anyway
            channel.close()

    handle = watchdog.arm(max(deadline, time.monotonic() + 0.05), expire)
    try:
        channel.exec_command(command)
    except paramiko.SSHException:
        if not expired.is_set():
            raise
    finally:
        watchdog.disarm(handle)
    if expired.is_set():
        raise TransportError("timeout", f"{where} did not answer the request to run the "
                             f"command within {timeout:.1f} s",
                             {"command": command[:200], "stage": "exec"})


class SshTransport:
    """An authenticated SSH session; each command runs on its own channel.

    Commands are POSIX argv, joined with :func:`shlex.join` for the remote login shell.
    paramiko's Transport is thread-safe, so checks may run commands concurrently.
    """

    method = "ssh"

    def __init__(self, transport: Any, info: Handshake, attempts: list[dict],
                 username: str) -> None:
        self._transport = transport
        self.info = info
        self.attempts = attempts
        self.username = username

    def evidence(self) -> dict[str, Any]:
        """The handshake and login as evidence."""
        return {**self.info.to_json(), "auth": self.attempts}

    def run(self, argv: Sequence[str], timeout: float) -> CommandResult:
        """Run ``argv`` on a new channel; raise TransportError on timeout or a dead link."""
        if not argv:
            raise ValueError("empty command")
        return self._exec(shlex.join(argv), timeout)

    def run_powershell(self, script: str, timeout: float,
                       params: Mapping[str, str] | None = None) -> CommandResult:
        """Run PowerShell on a Windows OpenSSH server (``-EncodedCommand``: no quoting)."""

        return self.run(powershell.argv(powershell.script(script, params)), timeout)

    def _exec(self, command: str, timeout: float) -> CommandResult:
        import paramiko

        started = time.monotonic()
        deadline = started + timeout
        where = f"{self.info.host}:{self.info.port}"
        try:
            channel = self._transport.open_session(timeout=max(0.1, timeout))
        except (paramiko.SSHException, EOFError, OSError) as exc:
            kind = "timeout" if "timeout" in str(exc).lower() else "protocol"
            raise TransportError(kind, f"cannot open an SSH channel on {where}: "
                                 f"{library_message(exc) or 'the connection broke'}") from None
        except Exception as exc:
            raise unexpected_answer(where, exc, "channel") from None
        out, err = bytearray(), bytearray()
        try:
            channel.settimeout(max(0.05, deadline - time.monotonic()))
            _exec_request(channel, command, deadline, where, timeout)
            while True:
                if channel.recv_ready():
                    out += channel.recv(65536)[: max(0, MAX_OUTPUT - len(out))]
                    continue
                if channel.recv_stderr_ready():
                    err += channel.recv_stderr(65536)[: max(0, MAX_OUTPUT - len(err))]
                    continue
                # sshd may send the exit status before the last output (it is still in the
                # child's pipe): finished only once the output ended (EOF or close) too.
                if channel.exit_status_ready() and (channel.eof_received or channel.closed) \
                        and not (channel.recv_ready() or channel.recv_stderr_ready()):
                    break
                if time.monotonic() >= deadline:
                    raise TransportError(
                        "timeout", f"the command did not finish on {where} within "
                        f"{timeout:.1f} s", {"command": command[:200],
                                             "stdout": out[:500].decode("utf-8", "replace")})
                channel.status_event.wait(0.02)
            code = channel.recv_exit_status()
        except (paramiko.SSHException, EOFError, OSError) as exc:
            said = library_message(exc)  # e.g. "Channel closed.": which way it broke
            raise TransportError("protocol", f"the SSH channel on {where} broke: "
                                 f"{said or exc.__class__.__name__}",
                                 {"exception": exc.__class__.__name__,
                                  "library_message": said}) from None
        except TransportError:
            raise
        except Exception as exc:
            raise unexpected_answer(where, exc, "command") from None
        finally:
            channel.close()
        result = CommandResult(out.decode("utf-8", "replace"), err.decode("utf-8", "replace"),
                               code, (time.monotonic() - started) * 1000)
        if code != 0 and any(t in result.stderr.lower() for t in EXPIRED_TEXTS):
            raise TransportError("password_expired", f"{self.username} logged in on {where}, "
                                 "but sshd demands a password change before any command "
                                 "runs", {"stderr": result.stderr[:300], "exit_code": code})
        return result

    def close(self) -> None:
        """End the session."""
        self._transport.close()


_LEGACY_KEYS = ("ssh-rsa", "ssh-dss")
"""Host key algorithms an older paramiko still speaks and the native exchange does not
verify: offered to the negotiation so that a host known (or only offering) by them goes to
paramiko, which then decides as on its own path."""


def probe(host: str, port: int, known: KnownHosts, timeout: float) -> Handshake:
    """The handshake only (banner, key exchange, host key verdict), then disconnect.

    Unlike :func:`login` an unknown or changed key is not an exception here: the verdict is
    in the returned evidence, which is what ``remote.ssh`` reports.

    A server that sends an SSH banner gets the key exchange of
    :mod:`~accessready.agent.io.transports.ssh_native` (no paramiko Transport, no thread;
    the host key's signature over the exchange hash is verified all the same). One that
    needs what that does not implement gets paramiko's on a new connection, in the time
    left; anything else (no banner, not SSH) goes to paramiko on this connection, whose
    errors say what it is.
    """
    started = time.monotonic()
    deadline = started + timeout
    sock, info = _open(host, port, deadline, timeout)
    if not info.first_bytes.startswith(b"SSH-"):
        _paramiko_handshake(sock, info, known, started, deadline, timeout, False).close()
        return info
    try:
        _left(deadline, "before the key exchange", info.to_json())  # as paramiko's path
        offer = known.preferred_algorithms(host, port, [*sshkex.HOST_KEY_TYPES, *_LEGACY_KEYS])
        native = ssh_native.exchange(sock, host, port, deadline, offer,
                                     evidence=info.to_json(), timeout=timeout)
    except ssh_native.Unsupported as why:
        sock.close()
        # the same deadline, timings from the probe's start, and the evidence says so
        sock, again = _open(host, port, deadline, timeout, note=(
            f"key exchange by paramiko on a second connection: the server's {why} "
            "need what the first did not speak"))
        _paramiko_handshake(sock, again, known, started, deadline, timeout, False).close()
        return again
    finally:
        sock.close()
    info.kex_ms = _ms(started)
    info.banner = native.banner
    info.cipher = native.cipher
    info.host_key = known.check(host, port, native.host_key)
    return info


def login(host: str, port: int, known: KnownHosts, creds: SshCredentials,
          timeout: float) -> SshTransport:
    """A verified, authenticated session, or a classified :class:`TransportError`."""
    started = time.monotonic()
    transport, info = handshake(host, port, known, timeout)
    try:
        transport.auth_timeout = max(0.1, timeout - (time.monotonic() - started))
        attempts = authenticate(transport, creds, info)
    except BaseException:
        transport.close()
        raise
    return SshTransport(transport, info, attempts, creds.username)
