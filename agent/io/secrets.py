"""Secrets: a type that never prints itself, where they come from, and the redactor.

Every secret the run obtains is registered with :data:`REDACTOR`. The runner passes every
result through it before any renderer sees it, the logging filter passes every log record
through it, and the CLI passes every error message through it. So a password that leaks
into a server's error text or an exception still never reaches an output.
"""

from __future__ import annotations

import base64
import contextlib
import html
import json
import logging
import os
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from typing import Any

from accessready.agent.core.console import (
    env_password_hint,
    is_windows,
    pip_install_hint,
    quote_arg,
)
from accessready.agent.core.model import Text, t
from accessready.agent.core.profile_types import SecretRef
from accessready.agent.core.textsafe import clean

MASK = "***"


class Secret:
    """A secret string. ``str()`` and ``repr()`` show ``***``; :meth:`reveal` the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        REDACTOR.register(value)

    def reveal(self) -> str:
        """The real value, for handing to an authentication library and nowhere else."""
        return self._value

    def __str__(self) -> str:
        return MASK

    def __repr__(self) -> str:
        return f"Secret({MASK})"

    def __reduce__(self) -> Any:
        raise TypeError("a Secret cannot be pickled")


class Redactor:
    """Replaces every registered secret (and its common encodings) with ``***``."""

    def __init__(self) -> None:
        self._needles: set[str] = set()
        # longest first, rebuilt when the set changes: text() runs for every string of
        # every result, and must not sort or lock each time
        self._ordered: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def register(self, value: str) -> None:
        """Remember ``value`` (and its URL, base64 and repr forms) as never to be shown."""
        if len(value) < 3:  # too short to replace without mangling ordinary text
            return
        forms = {value, urllib.parse.quote(value), urllib.parse.quote_plus(value),
                 repr(value)[1:-1], base64.b64encode(value.encode()).decode(),
                 html.escape(value), json.dumps(value)[1:-1],
                 json.dumps(value, ensure_ascii=False)[1:-1]}
        with self._lock:
            self._needles.update(f for f in forms if len(f) >= 3)
            self._ordered = tuple(sorted(self._needles, key=len, reverse=True))

    def clear(self) -> None:
        """Forget every registered secret (tests use this between runs)."""
        with self._lock:
            self._needles.clear()
            self._ordered = ()

    def text(self, value: str) -> str:
        """``value`` with every registered secret masked."""
        for needle in self._ordered:  # one atomic read of an immutable tuple
            if needle in value:
                value = value.replace(needle, MASK)
        return value

    def holds(self, value: str, shortest: int = 6) -> bool:
        """Is ``value`` a registered secret, or does it contain one at least ``shortest``
        characters long (shorter ones would match ordinary text such as PATH)?"""
        with self._lock:
            return value in self._needles or any(
                len(n) >= shortest and n in value for n in self._needles)

    def data(self, value: Any) -> Any:
        """A copy of JSON-like ``value`` with every string masked, keys included; ``value``
        itself while no secret is registered (an audit without passwords: every result's
        evidence would be copied for nothing)."""
        if not self._ordered:
            return value
        return self._data(value)

    def _data(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self._data(k): self._data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._data(v) for v in value]
        return value


REDACTOR = Redactor()

_HIDDEN_ENV: set[str] = set()
_HIDDEN_LOCK = threading.Lock()
# Password variables taken out of os.environ while runs are under way: name -> (value,
# usable by resolve_secret); and how many runs are under way.
_TAKEN_ENV: dict[str, tuple[str, bool]] = {}
_RUNS_UNDER_WAY = [0]


@contextlib.contextmanager
def env_withheld(name: str | None, usable: bool = True) -> Iterator[None]:
    """Keep the password variable ``name`` out of the environment for a run.

    On entry its value is registered with :data:`REDACTOR` and removed from
    ``os.environ``, so neither a program a plugin starts nor evidence a plugin copies from
    ``os.environ`` carries it, even in a run that never asks for the password;
    :func:`resolve_secret` still finds it when ``usable`` (a self-check passes False: it
    never uses the password). When the last run under way in the process ends, the taken
    variables go back into ``os.environ`` (the demo and tests run many times in one
    process; concurrent runs, as in an audit, all see them withheld).
    """
    with _HIDDEN_LOCK:
        _RUNS_UNDER_WAY[0] += 1
        value = os.environ.pop(name, None) if name else None
        if name:
            _HIDDEN_ENV.add(name)
            if value:
                _TAKEN_ENV[name] = (value, usable)
    if value:
        REDACTOR.register(value)
    try:
        yield
    finally:
        with _HIDDEN_LOCK:
            _RUNS_UNDER_WAY[0] -= 1
            if _RUNS_UNDER_WAY[0] == 0:
                for taken, (kept, _) in _TAKEN_ENV.items():
                    os.environ.setdefault(taken, kept)
                _TAKEN_ENV.clear()


def _withheld(name: str) -> str | None:
    """The value of a usable password variable a run took out of the environment."""
    with _HIDDEN_LOCK:
        value, usable = _TAKEN_ENV.get(name, ("", False))
    return value if usable else None


def hidden_env() -> frozenset[str]:
    """The names of the variables :func:`child_environment` leaves out."""
    with _HIDDEN_LOCK:
        return frozenset(_HIDDEN_ENV)


def hide_env(name: str) -> None:
    """Never pass the environment variable ``name`` (it holds a password) to a child
    process; the run calls this for the variable its profile names."""
    with _HIDDEN_LOCK:
        _HIDDEN_ENV.add(name)


def child_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a program we start: ours without the password variables
    (:func:`hide_env`) and without any variable whose value holds a registered secret
    (however the run obtained it: a copy in another variable is dropped too)."""
    if base is None:
        # key by key: a concurrent run may take its password variable out meanwhile, and
        # dict(os.environ) would then raise KeyError
        env = {k: v for k in list(os.environ) if (v := os.environ.get(k)) is not None}
    else:
        env = dict(base)
    with _HIDDEN_LOCK:
        hidden = set(_HIDDEN_ENV)
    # Windows variable names ignore case: compare them that way everywhere.
    hidden_folded = {h.upper() for h in hidden}
    return {k: v for k, v in env.items()
            if k.upper() not in hidden_folded and not REDACTOR.holds(v)}


class RedactingFilter(logging.Filter):
    """A logging filter that masks secrets in every record's final message and
    neutralises terminal escapes in it (log lines echo server answers and file names)."""

    def filter(self, record: logging.LogRecord) -> bool:

        record.msg = clean(REDACTOR.text(record.getMessage()), multiline=True)
        record.args = None
        if record.exc_info and not record.exc_text:
            # Format the traceback now, so the masked text is what the handler prints.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.exc_info = None
        if record.exc_text:
            record.exc_text = clean(REDACTOR.text(record.exc_text), multiline=True)
        if record.stack_info:
            record.stack_info = clean(REDACTOR.text(record.stack_info), multiline=True)
        return True


def log_to_stderr(level: int) -> None:
    """accessready's log records at ``level`` and above to stderr, secrets masked (the
    CLI's ``--debug``, and each audit process as its parent's)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("accessready")
    root.handlers[:] = [handler]
    root.propagate = False  # not also to handlers a plugin put on the root logger (stdout)
    root.setLevel(level)


class SecretUnavailable(Exception):
    """The profile names a password source that has nothing to give.

    ``text`` says why and how to fix it, in both languages (it reaches the report);
    ``str()`` is the English.
    """

    def __init__(self, text: Text) -> None:
        super().__init__(text.en)
        self.text = text


_ENV_INSTEAD = 'password = { env = "…" }'


def resolve_secret(ref: SecretRef, *, username: str = "", interactive: bool = True,
                   platform: str | None = None, lang: str = "en") -> Secret:
    """Fetch the secret ``ref`` points to. Raises :class:`SecretUnavailable` with a fix
    written for the user's shell (``platform``: default this machine's ``sys.platform``);
    a prompt asks in ``lang``."""
    if ref.source == "env":
        hide_env(ref.name)
        value = os.environ.get(ref.name) or _withheld(ref.name)
        if not value:
            hint = env_password_hint(ref.name, platform)
            also = t("", "")
            if is_windows(platform):
                also = t('; or keep it in Windows Credential Manager with password = '
                            '{ keyring = "…" }',
                            '; eller spara det i Windows Autentiseringshanteraren med '
                            'password = { keyring = "…" }')
            raise SecretUnavailable(t(
                f"environment variable {ref.name} is not set — set it before the run, "
                f"{hint.en}{also.en}",
                f"miljövariabeln {ref.name} är inte satt — sätt den före körningen, "
                f"{hint.sv}{also.sv}"))
        return Secret(value)
    if ref.source == "keyring":
        try:
            import keyring  # optional extra: pip install "accessready[keyring]"
        except ImportError:
            install = pip_install_hint("accessready[keyring]", platform)
            raise SecretUnavailable(t(
                f"the keyring package is not installed — {install}, or use {_ENV_INSTEAD}",
                f"paketet keyring är inte installerat — {install}, eller använd "
                f"{_ENV_INSTEAD}")) from None
        try:
            value = keyring.get_password(ref.name, username or "accessready")
        except Exception as exc:  # any backend failure is the same answer to the user
            raise SecretUnavailable(t(
                f"keyring service '{ref.name}' failed: {type(exc).__name__}",
                f"nyckelringstjänsten '{ref.name}' misslyckades: {type(exc).__name__}")) from None
        if not value:
            user = username or "accessready"
            # this Python has keyring (it just answered); a pipx/uv/venv install does not
            # put a `keyring` command on PATH, so name the interpreter itself
            store = (f"{quote_arg(sys.executable, platform)} -m keyring set "
                     f"{quote_arg(ref.name, platform)} {quote_arg(user, platform)}")
            raise SecretUnavailable(t(
                f"no password in keyring service '{ref.name}' for '{user}' — store it "
                f"with: {store}",
                f"inget lösenord i nyckelringstjänsten '{ref.name}' för '{user}' — spara "
                f"det med: {store}"))
        return Secret(value)
    if ref.source == "prompt":
        if not interactive:
            raise SecretUnavailable(t(
                "the profile asks for a password prompt but there is no terminal — use "
                f"{_ENV_INSTEAD} instead",
                "profilen ber om en lösenordsfråga men det finns ingen terminal — använd "
                f"{_ENV_INSTEAD} i stället"))
        import getpass

        question = t(f"Password for {username or 'the support account'}: ",
                     f"Lösenord för {username or 'supportkontot'}: ")
        value = getpass.getpass(question.get(lang))
        if not value:
            raise SecretUnavailable(t("no password was entered", "inget lösenord angavs"))
        return Secret(value)
    raise SecretUnavailable(t(f"unknown password source {ref.source}",
                              f"okänd lösenordskälla {ref.source}"))
