"""One run, end to end, as a library call: profile + options in, :class:`Run` out.

The CLI and the demo both call :func:`run_checks`; nothing here prints.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import getpass
import platform
import socket
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from accessready import __version__
from accessready.agent.core.findings import apply_waivers
from accessready.agent.core.model import Result, Run, Vantage, vantage_of
from accessready.agent.core.profile_types import Profile
from accessready.agent.core.verdict import decide
from accessready.agent.io.connector import Connector
from accessready.agent.io.dns import Resolvers
from accessready.agent.io.localsys import local_system
from accessready.agent.io.secrets import SecretUnavailable, env_withheld, resolve_secret
from accessready.agent.io.transports.sessions import SessionOptions, Sessions
from accessready.agent.io.tvhost import LocalTeamViewerSource
from accessready.agent.plugin.checkapi import Check
from accessready.agent.plugin.pool import Workers
from accessready.agent.plugin.registry import load_registry
from accessready.agent.plugin.runner import (
    ContextFactory,
    Interrupted,
    Job,
    Progress,
    RunOptions,
    execute,
    plan,
    start,
)


def where_from() -> dict[str, str]:
    """Who ran the checks and from where — never the command line (it may hold secrets)."""
    try:
        user = getpass.getuser()
    except Exception:  # no login name in some containers and services
        user = "unknown"
    return {"hostname": socket.gethostname(), "user": user,
            "platform": f"{platform.system()} {platform.release()}".strip(),
            "python": platform.python_version()}


def default_services(profile: Profile, options: RunOptions | None = None,
                     password: Any = None) -> dict[str, Any]:
    """The shared services checks may ask for. Later families add transports here.

    ``sessions`` (SSH/WinRM with the support account) opens nothing until a check asks.
    """
    local = local_system()
    sessions = Sessions(profile, password, SessionOptions(
        accept_new_host_keys=bool(options and options.accept_new_host_keys)))
    return {"dns": Resolvers(profile.network), "local": local,
            "teamviewer_host": LocalTeamViewerSource(local), "sessions": sessions}


def _needs_password(items: list) -> bool:
    return any(isinstance(i, Job) and "password" in i.needs for i in items)


def _close_services(services: dict[str, Any]) -> None:
    """Close every service that holds connections (sessions, sockets)."""
    for service in services.values():
        close = getattr(service, "close", None)
        if callable(close):
            with contextlib.suppress(Exception):  # best effort; the results are already in
                close()


def verdict_basis(profile: Profile) -> dict[str, list[str]]:
    """What :func:`decide` reads from the profile besides the results, saved with the run."""
    return {"methods": list(profile.access.methods),
            "gating_servers": [s.name for s in profile.servers
                               if {"adfs", "wap"} & set(s.roles)]}


def password_env_withheld(profile: Profile,
                          self_check: bool = False) -> contextlib.AbstractContextManager:
    """:func:`~accessready.agent.io.secrets.env_withheld` for the profile's password variable
    (when it names one); the CLI enters it before plugins are even imported."""
    ref = profile.account.password
    name = ref.name if ref is not None and ref.source == "env" else None
    return env_withheld(name, usable=not self_check)


def run_checks(profile: Profile, options: RunOptions, *, lang: str = "en",
               checks: Sequence[Check] | None = None,
               services: dict[str, Any] | None = None,
               on_progress: Callable[[Progress], None] | None = None,
               interactive: bool | None = None, self_check: bool = False,
               vantage: str | None = None, workers: Workers | None = None) -> Run:
    """Run every applicable check of ``profile`` and decide the verdict.

    ``self_check``: the customer checks themselves — the support account's password is
    never resolved (no prompt, no environment, no keyring), so the checks that need it
    skip. ``vantage`` labels where the checks ran from (default "customer" for a
    self-check, else "engineer"); its kind (:func:`~accessready.agent.core.model.vantage_of`)
    decides which checks apply — elsewhere they skip, saying why. ``workers``: threads
    shared with other runs (an audit's); by default the run starts its own.

    A password variable (``password = { env = … }``) is out of ``os.environ`` and masked
    everywhere for the whole run, before any plugin code runs (:func:`env_withheld`).
    """
    with password_env_withheld(profile, self_check):
        prepared = _Prepared.make(profile, options, lang=lang, checks=checks,
                                  services=services, interactive=interactive,
                                  self_check=self_check, vantage=vantage, workers=workers)
        interrupted = prepared.interrupted
        try:
            results = execute(prepared.items, prepared.factory, prepared.options, on_progress,
                              workers=workers)
        except Interrupted as stop:
            results, interrupted = stop.results, True
        finally:
            _close_services(prepared.shared)
        return prepared.finish(results, interrupted)


def start_run(profile: Profile, options: RunOptions, workers: Workers,
              on_done: Callable[[Run | Exception], None], *, lang: str = "en",
              checks: Sequence[Check] | None = None,
              services: dict[str, Any] | None = None, vantage: str | None = None,
              planners: Workers | None = None, connector: Connector | None = None) -> None:
    """:func:`run_checks` without waiting (an audit's profiles): plans (on ``planners``,
    else on ``workers``), hands the checks to ``workers`` and returns; ``on_done`` hears
    the :class:`Run` — or the exception that ended it — on a worker thread when the last
    check ends. Never interactive. Raises what planning raises (nothing is then called
    back). ``connector``: where checks wait for their first connection (the audit's)."""
    stack = contextlib.ExitStack()
    stack.enter_context(password_env_withheld(profile))
    try:
        prepared = _Prepared.make(profile, options, lang=lang, checks=checks,
                                  services=services, interactive=False, self_check=False,
                                  vantage=vantage, workers=planners or workers)
    except BaseException:
        stack.close()
        raise

    def finished(results: list[Result]) -> None:
        try:
            _close_services(prepared.shared)
            run: Run | Exception = prepared.finish(results, prepared.interrupted)
        except Exception as exc:  # reported as that profile's error, never lost
            run = exc
        finally:
            stack.close()
        on_done(run)

    try:
        start(prepared.items, prepared.factory, prepared.options, workers, finished,
              connector)
    except BaseException:  # nothing was handed over: nothing will call back
        _close_services(prepared.shared)
        stack.close()
        raise


def _catalogue_of(checks: Sequence[Check]) -> dict[str, dict[str, Any]]:
    """The checks' catalogue entries (each run gets its own mapping), built once per set
    of checks: an audit's thousand runs share one registry. A plugin check that cannot be
    hashed (a dataclass with ``eq``) is simply not cached."""
    try:
        return dict(_catalogue(tuple(checks)))
    except TypeError:
        return {c.id: c.catalogue_entry() for c in checks}


@functools.lru_cache(maxsize=8)
def _catalogue(checks: tuple[Check, ...]) -> dict[str, dict[str, Any]]:
    return {c.id: c.catalogue_entry() for c in checks}


@dataclasses.dataclass
class _Prepared:
    """A run planned and ready to execute: its jobs, context and services."""

    profile: Profile
    options: RunOptions
    checks: Sequence[Check]
    items: list[Job | Result]
    interrupted: bool
    shared: dict[str, Any]
    factory: ContextFactory
    label: str
    lang: str
    self_check: bool
    started_wall: dt.datetime
    started: float

    @classmethod
    def make(cls, profile: Profile, options: RunOptions, *, lang: str,
             checks: Sequence[Check] | None, services: dict[str, Any] | None,
             interactive: bool | None, self_check: bool, vantage: str | None,
             workers: Workers | None) -> _Prepared:
        """Plan ``profile``'s checks, resolve the password if a job needs it, build the
        services (once the password variable is withheld)."""
        label = vantage or ("customer" if self_check else "engineer")
        kind = vantage_of(label, self_check)
        if self_check and kind is not Vantage.CUSTOMER:
            raise ValueError(f"a self-check looks from the customer's network, not {label!r}")
        options = dataclasses.replace(options, vantage=kind)
        if checks is None:
            checks = load_registry().checks
        if self_check and profile.account.password is not None:
            # Dropping the reference guarantees nothing ever resolves it.
            profile = dataclasses.replace(
                profile, account=dataclasses.replace(profile.account, password=None))
        started_wall = dt.datetime.now(dt.UTC)
        started = time.monotonic()
        interrupted = False
        try:
            items: list[Job | Result] = plan(checks, profile, options, workers)
        except Interrupted as stop:  # Ctrl-C while planning: nothing runs, the run says so
            items, interrupted = list(stop.results), True
        password, problem = None, None
        if profile.account.password is not None and _needs_password(items):
            try:
                password = resolve_secret(
                    profile.account.password, username=profile.account.username or "",
                    interactive=sys.stdin.isatty() if interactive is None else interactive,
                    lang=lang)
            except SecretUnavailable as exc:
                problem = exc.text
        shared = services if services is not None else default_services(profile, options,
                                                                         password)
        for service in shared.values():
            # Services that log in with the support account (sessions) get the password
            # once it is resolved, also when the caller built the services itself (the demo).
            bind = getattr(service, "bind_password", None)
            if password is not None and callable(bind):
                bind(password)
        factory = ContextFactory(profile, shared, password, problem, self_check=self_check,
                                 vantage=kind)
        return cls(profile, options, checks, items, interrupted, shared, factory, label, lang,
                   self_check, started_wall, started)

    def finish(self, results: list[Result], interrupted: bool) -> Run:
        """The run: waivers applied, the verdict decided."""
        profile = self.profile
        results = list(apply_waivers(results, profile.waivers, dt.date.today()))
        verdict, outcomes = decide(results, profile, interrupted)
        return Run(
            customer=profile.customer.name,
            profile_path=profile.path,
            started_at=self.started_wall.isoformat(timespec="seconds"),
            finished_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            duration_s=time.monotonic() - self.started,
            results=tuple(results),
            verdict=verdict,
            requirements=outcomes,
            host=where_from(),
            interrupted=interrupted,
            lang=self.lang,
            tool_version=__version__,
            catalogue=_catalogue_of(self.checks),
            vantage=self.label,
            self_check=self.self_check,
            basis=verdict_basis(profile),
        )
