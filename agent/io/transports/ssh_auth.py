"""SSH authentication for a login session: the key file, then the password (with
keyboard-interactive PAM prompts), then keys from a running ssh-agent. Every attempt is
recorded (method and outcome, never a secret); an expired password or account is told
apart from a refused login. Used by :mod:`accessready.agent.io.transports.ssh`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from accessready.agent.core.safefile import oversized
from accessready.agent.io.transports.base import TransportError, unexpected_answer
from accessready.agent.io.transports.ssh_hostkeys import Handshake, fingerprint_sha256

# What sshd prints when PAM demands a new password and there is no TTY (session.c
# do_pwchange), plus the PAM texts that precede it.
EXPIRED_TEXTS = (
    "password change required but no tty available",
    "your password has expired",
    "you are required to change your password immediately",
    "password expired",
)
_ACCOUNT_EXPIRED_TEXTS = ("your account has expired", "account expired")
_NEW_PASSWORD_PROMPTS = ("new password", "current password", "(current)", "retype",
                         "change your password")


@dataclass
class SshCredentials:
    """What to try, in order: a key file, the password, the ssh-agent's keys."""

    username: str
    password: Any = None  # accessready.agent.io.secrets.Secret
    key_file: Path | None = None
    use_agent: bool = False
    agent_key_limit: int = 3


@dataclass
class _AuthState:
    attempts: list[dict[str, Any]] = field(default_factory=list)
    expired: bool = False
    account_expired: bool = False
    prompts: list[str] = field(default_factory=list)


def _interactive_handler(password: str, state: _AuthState) -> Any:
    """A keyboard-interactive handler that answers one password prompt, once.

    A prompt for a new or current password, or a PAM text saying the password expired,
    marks the password as expired and gets an empty answer, which ends the attempt.
    """
    answered = [False]

    def handler(title: str, instructions: str, prompts: list[tuple[str, bool]]) -> list[str]:
        texts = " ".join([title, instructions, *(p for p, _ in prompts)]).lower()
        state.prompts.append(" | ".join(t for t in [title, instructions,
                                                     *(p for p, _ in prompts)] if t)[:200])
        if any(t in texts for t in _ACCOUNT_EXPIRED_TEXTS):
            state.account_expired = True
            return ["" for _ in prompts]
        if any(t in texts for t in EXPIRED_TEXTS) or any(
                t in texts for t in _NEW_PASSWORD_PROMPTS):
            state.expired = True
            return ["" for _ in prompts]
        if not prompts:
            return []
        if answered[0] or len(prompts) > 1:
            return ["" for _ in prompts]
        answered[0] = True
        return [password]

    return handler


def _try_password(transport: Any, creds: SshCredentials, state: _AuthState) -> bool:
    import paramiko

    secret = creds.password.reveal()
    try:
        transport.auth_password(creds.username, secret, fallback=False)
        state.attempts.append({"method": "password", "result": "accepted"})
        return True
    except paramiko.BadAuthenticationType as exc:
        allowed = list(exc.allowed_types)
        if "keyboard-interactive" not in allowed:
            state.attempts.append({"method": "password", "result": "not offered",
                                   "allowed": allowed})
            return False
    except paramiko.AuthenticationException:
        state.attempts.append({"method": "password", "result": "rejected"})
        return False
    except paramiko.SSHException as exc:
        if "illegal info request" in str(exc).lower():
            # SSH_MSG_USERAUTH_PASSWD_CHANGEREQ (RFC 4252 §8): the server wants a new one.
            state.expired = True
            state.attempts.append({"method": "password", "result": "change requested"})
            return False
        raise
    try:
        transport.auth_interactive(creds.username, _interactive_handler(secret, state))
        state.attempts.append({"method": "keyboard-interactive", "result": "accepted"})
        return True
    except paramiko.AuthenticationException:
        result = "password expired" if state.expired else "rejected"
        state.attempts.append({"method": "keyboard-interactive", "result": result})
        return False


def _try_key(transport: Any, username: str, key: Any, label: str, state: _AuthState) -> bool:
    import paramiko

    try:
        transport.auth_publickey(username, key)
        state.attempts.append({"method": "publickey", "key": label, "result": "accepted"})
        return True
    except paramiko.BadAuthenticationType as exc:
        state.attempts.append({"method": "publickey", "key": label, "result": "not offered",
                               "allowed": list(exc.allowed_types)})
    except paramiko.AuthenticationException:
        state.attempts.append({"method": "publickey", "key": label, "result": "rejected"})
    return False


def _load_key(path: Path, state: _AuthState) -> Any:
    import paramiko


    too_big = oversized(path)  # a key is a few KB; never read a huge file whole
    if too_big:
        state.attempts.append({"method": "publickey", "key": str(path), "result": too_big})
        return None
    try:
        return paramiko.PKey.from_path(str(path))
    except paramiko.PasswordRequiredException:
        note = "passphrase-protected: load it into ssh-agent instead"
    except TypeError as exc:  # PKey.from_path on an encrypted PEM key without a password
        note = ("passphrase-protected: load it into ssh-agent instead"
                if "password" in str(exc).lower() else f"cannot be read: {exc}")
    except FileNotFoundError:
        note = "file not found"
    except (OSError, paramiko.SSHException, ValueError) as exc:
        note = f"cannot be read: {exc.__class__.__name__}"
    state.attempts.append({"method": "publickey", "key": str(path), "result": note})
    return None


def _agent_keys(limit: int) -> list[Any]:
    import paramiko

    try:
        agent = paramiko.Agent()
        return list(agent.get_keys())[:limit]
    except Exception:  # no agent, or it went away: simply no keys
        return []


def authenticate(transport: Any, creds: SshCredentials, info: Handshake) -> list[dict]:
    """Authenticate ``transport``; return the attempts. Raises a classified TransportError."""
    import paramiko

    state = _AuthState()
    where = f"{info.host}:{info.port}"
    try:
        if creds.key_file is not None:
            key = _load_key(creds.key_file, state)
            if key is not None and _try_key(transport, creds.username, key,
                                            str(creds.key_file), state):
                return state.attempts
        if creds.password is not None and _try_password(transport, creds, state):
            return state.attempts
        if creds.use_agent and not state.expired:
            for i, key in enumerate(_agent_keys(creds.agent_key_limit)):
                label = f"agent key {i + 1} ({fingerprint_sha256(key.asbytes())})"
                if _try_key(transport, creds.username, key, label, state):
                    return state.attempts
    except paramiko.SSHException as exc:
        timed_out = "timeout" in str(exc).lower()
        # stage "auth": credentials may have reached the server, so even a timeout here
        # is remembered by the SessionPool (a retry could count as another failed logon)
        raise TransportError("timeout" if timed_out else "protocol",
                             f"authentication with {where} broke off: {exc}",
                             {**info.to_json(), "attempts": state.attempts,
                              "stage": "auth"}) from None
    except (EOFError, OSError) as exc:
        raise TransportError("protocol", f"{where} closed the connection during "
                             "authentication", {**info.to_json(), "attempts": state.attempts,
                                                "exception": exc.__class__.__name__}) from None
    except Exception as exc:
        # stage "auth": credentials may have been sent, so the session pool remembers it
        raise unexpected_answer(where, exc, "auth", {**info.to_json(),
                                                     "attempts": state.attempts}) from None
    details = {**info.to_json(), "attempts": state.attempts}
    if state.prompts:
        details["prompts"] = state.prompts
    if state.account_expired:
        raise TransportError("account_expired", f"{creds.username} on {where}: the account "
                             "has expired", details)
    if state.expired:
        raise TransportError("password_expired", f"{creds.username} on {where}: the "
                             "password has expired and must be changed", details)
    if not state.attempts:
        raise TransportError("auth_failed", f"no credentials to try for {creds.username} on "
                             f"{where} (no password, key file or agent)", details)
    raise TransportError("auth_failed", f"{where} rejected {creds.username} "
                         f"({', '.join(_attempt_text(a) for a in state.attempts)}); OpenSSH "
                         "answers a wrong password, an unknown user and a locked account "
                         "alike", details)


def _attempt_text(attempt: Mapping[str, Any]) -> str:
    key = f" {attempt['key']}" if "key" in attempt else ""
    return f"{attempt['method']}{key}: {attempt['result']}"
