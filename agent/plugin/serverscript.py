"""Run a script on one of the customer's servers and turn what goes wrong into a result.

Every check that reads a server from inside (``account``, ``service``, ``adfs``, ``wap``,
``teamviewer.host``) does the same five things, here once:

* pick the *command method* to reach the server over (:func:`command_method`: WinRM
  first, then SSH, among those the check can use and the server lists in ``remote``);
* make one target per server (:func:`server_targets`), saying when a login with the
  support account's SSH key makes the password unnecessary;
* say "this server has no command method" the same way everywhere (:func:`no_command_method`:
  a ``skip``, reason ``no_command_method``; the profile loader refuses a profile that asks
  for something only a command can show on such a server, so the skip means nothing was
  asked there);
* name the session's first connection, for the runner to open ahead
  (:func:`session_contact`);
* open the shared session, run the fixed script, parse its JSON (:func:`run_script`), and
  map a :class:`~accessready.agent.io.transports.base.TransportError` to a result with the
  failure texts of :mod:`~accessready.agent.plugin.transport_texts`
  (:func:`failure_result`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from accessready.agent.core.model import Result, Status, Text, t
from accessready.agent.core.profile_types import Profile, Server
from accessready.agent.io.transports.base import TransportError, powershell_json
from accessready.agent.plugin.checkapi import Check, CheckContext, Contact, Target
from accessready.agent.plugin.transport_texts import (
    failure_details,
    failure_summary,
    remediation_key,
)

COMMAND_METHODS = ("winrm", "ssh")
"""The ``remote`` methods a command can run over, in order of preference."""

SESSION_CAP_S = 10.0
SCRIPT_CAP_S = 10.0


def command_method(server: Server, allowed: Iterable[str] = COMMAND_METHODS) -> str | None:
    """The first of ``allowed`` (in :data:`COMMAND_METHODS` order) that ``server`` lists in
    ``remote``; None when it lists none of them."""
    allowed = set(allowed)
    return next((m for m in COMMAND_METHODS if m in allowed and m in server.remote), None)


def session_contact(server: Server | None, methods: Iterable[str] = COMMAND_METHODS,
                    cap: float = SESSION_CAP_S) -> Contact | None:
    """The first connection of the shared session to ``server`` over its command method
    among ``methods`` (:func:`command_method`; None when there is no session to open),
    for a check's ``first_contact``: every check that reads the server names it, and the
    run makes one attempt at it (``shared``), which they all wait for without a thread.
    ``cap``: the check's own cap on opening the session."""
    method = command_method(server, methods) if server is not None else None
    if server is None or method is None:
        return None
    port = server.winrm.port if method == "winrm" else server.ssh.port
    return Contact(server.address, port, cap, via="sessions", shared=True)


def key_login_needs(profile: Profile, method: str | None,
                    needs: tuple[str, ...]) -> tuple[str, ...] | None:
    """What a target read over ``method`` needs when that differs from the check's own
    ``needs``: over SSH with the support account's key file, no password. None: the
    check's own needs hold (so a password-less run still tests key logins)."""
    if method == "ssh" and profile.account.ssh_key and "password" in needs:
        return tuple(n for n in needs if n != "password")
    return None


def server_targets(profile: Profile, methods: Iterable[str] = COMMAND_METHODS, *,
                   where: Callable[[Server], bool] | None = None,
                   needs: tuple[str, ...] = ()) -> list[Target]:
    """One target per server, its data the :class:`Server`.

    The servers are those ``where`` selects, or (without it) those that list any of
    ``methods`` in ``remote``. ``needs`` are the check's own: a server that will be read
    over SSH with the account's key gets them without the password (see
    :func:`key_login_needs`).
    """
    methods = tuple(methods)
    chosen = [s for s in profile.servers
              if (where(s) if where is not None else set(methods) & set(s.remote))]
    return [Target(s.name, s, needs=key_login_needs(profile, command_method(s, methods),
                                                    needs))
            for s in chosen]


def no_command_method(check: Check, target: Target, allowed: Iterable[str] = COMMAND_METHODS,
                      details: dict[str, Any] | None = None) -> Result:
    """The one answer for a server (``target``) that lists none of the command methods the
    check can use: ``skip``, reason ``no_command_method`` (nothing was decided about it)."""
    names = " or ".join(m for m in COMMAND_METHODS if m in set(allowed))
    names_sv = " eller ".join(m for m in COMMAND_METHODS if m in set(allowed))
    return check.result(target, Status.SKIP, t(
        f"{target.name} lists no command method ({names}) in remote, so this cannot be "
        "read there.",
        f"{target.name} anger ingen kommandometod ({names_sv}) i remote, så detta kan inte "
        "läsas där."), {**(details or {}), "reason": "no_command_method"})


def failure_result(check: Check, target: Target, exc: TransportError, method: str, *,
                   prefix: Text | None = None, details: dict[str, Any] | None = None,
                   status: Status = Status.ERROR) -> Result:
    """The result of a session or script that failed with ``exc``: the failure's words
    (after ``prefix``), its evidence and the remediation for its kind on ``method``.

    ``error`` unless the caller knows better: a check that only reads a server decided
    nothing about it when the login or the script failed.
    """
    return check.result(target, status, failure_summary(exc, prefix),
                        failure_details(exc, {"method": method} if details is None
                                        else details),
                        fix=remediation_key(exc, method))


def session(check: Check, ctx: CheckContext, target: Target, server: Server, method: str,
            *, cap: float = SESSION_CAP_S, prefix: Text | None = None,
            details: dict[str, Any] | None = None) -> tuple[Any, Result | None]:
    """(the shared session to ``server`` over ``method``, None), or (None, the failure
    result) when it cannot be opened."""
    try:
        return ctx.service("sessions").get(server, method, ctx.timeout(cap)), None
    except TransportError as exc:
        return None, failure_result(check, target, exc, method, prefix=prefix,
                                    details=details)


def run_script(ctx: CheckContext, server: Server, method: str, script: str,
               params: Mapping[str, str] | None = None, *, check: Check, target: Target,
               prefix: Text | None = None, details: dict[str, Any] | None = None,
               session_cap: float = SESSION_CAP_S, script_cap: float = SCRIPT_CAP_S,
               transport: Any = None) -> Any:
    """Run the fixed PowerShell ``script`` (values only in ``params``) on ``server`` over
    ``method`` and return its parsed JSON; or, when the session or the script fails, the
    :class:`Result` that says so (:func:`failure_result` with ``prefix`` and ``details``).

    ``transport`` is a session the check already holds; otherwise the shared one is
    opened. Callers tell the two answers apart with ``isinstance(answer, Result)``.
    """
    try:
        if transport is None:
            transport = ctx.service("sessions").get(server, method, ctx.timeout(session_cap))
        return powershell_json(transport, script, ctx.timeout(script_cap), params)
    except TransportError as exc:
        return failure_result(check, target, exc, method, prefix=prefix, details=details)
