"""``accessready run``: every applicable check of a profile, then its reports."""

from __future__ import annotations

import fnmatch
import re
import sys
from typing import Any

import click

from accessready.agent.cli.common import (
    EXIT_HELP,
    UserError,
    check_stdout,
    finish,
    finite,
    output_options,
    pick_lang,
    registry_with_warnings,
    warn,
)

_VANTAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,39}$")


def _check_vantage(ctx: Any, param: Any, value: str | None) -> str | None:
    if value is not None and not _VANTAGE.match(value):
        raise click.BadParameter(f"{value!r}: use up to 40 letters, digits, spaces, '.', '_' "
                                 "or '-', e.g. --vantage school-lan")
    return value


@click.command(epilog=EXIT_HELP)
@click.argument("profile", type=click.Path(dir_okay=False))
@output_options
@click.option("--only", multiple=True, metavar="GLOB", help="Run only checks matching GLOB.")
@click.option("--skip", multiple=True, metavar="GLOB", help="Skip checks matching GLOB.")
@click.option("--timeout", type=click.FloatRange(0.1, 3600), callback=finite,
              help="Seconds per check.")
@click.option("--concurrency", type=click.IntRange(1, 1024), help="Checks at once.")
@click.option("--quiet", "-q", is_flag=True, help="No table on stdout.")
@click.option("--accept-new-host-keys", is_flag=True,
              help="SSH: add unknown host keys to known_hosts (a changed key still fails).")
@click.option("--self-check", is_flag=True,
              help="The customer checks themselves: never use the support account's "
              "password (checks that need it skip); vantage 'customer'.")
@click.option("--vantage", callback=_check_vantage, metavar="LABEL",
              help="Where this runs from: engineer (default), customer (default with "
              "--self-check), audit, or a label of your own (an engineer's view, a "
              "customer's with --self-check). Decides which checks apply; shown in the "
              "report and used by merge.")
def run(profile: str, html: str | None, json_: str | None, junit: str | None,
        prometheus: str | None, nagios: bool, lang: str | None, only: tuple[str, ...],
        skip: tuple[str, ...], timeout: float | None, concurrency: int | None,
        quiet: bool, accept_new_host_keys: bool, self_check: bool,
        vantage: str | None) -> None:
    """Run every applicable check of PROFILE and write the requested outputs.

    With --self-check (for the customer's IT admin) no password is ever asked for or
    read; send the --json result back to the supplier."""
    from accessready.agent.app.run import password_env_withheld, run_checks
    from accessready.agent.core.profile import load_profile
    from accessready.agent.plugin.capture import protect_stdout_fd, reinstate
    from accessready.agent.plugin.runner import RunOptions
    from accessready.reports.terminal import LiveLine

    if self_check and vantage in ("engineer", "audit"):
        raise UserError(f"--self-check looks from the customer's network, not --vantage "
                        f"{vantage} — drop one of them")
    protect_stdout_fd()  # stdout is the report's: plugins' own output goes to stderr
    prof = load_profile(profile, allow_expired_waivers=True)
    options = RunOptions(
        timeout=timeout or prof.checks.timeout,
        concurrency=concurrency or prof.checks.concurrency,
        only=only or prof.checks.only,
        skip=tuple(prof.checks.skip) + skip,
        accept_new_host_keys=accept_new_host_keys,
    )
    chosen = pick_lang(lang, prof.customer.lang)
    with password_env_withheld(prof, self_check):  # before any plugin is imported
        registry = registry_with_warnings()
        _check_waivers(prof, registry)
        unmatched = [g for g in options.only
                     if not any(fnmatch.fnmatchcase(c.id, g) for c in registry.checks)]
        if unmatched:
            warn(f"--only {', '.join(unmatched)} matches no check; see `accessready checks`")
        outputs = {"html": html, "json": json_, "junit": junit, "prometheus": prometheus}
        quiet = check_stdout(outputs, nagios) or quiet
        live = LiveLine(sys.stderr)
        try:
            result = run_checks(prof, options, lang=chosen, on_progress=live,
                                self_check=self_check, vantage=vantage,
                                checks=registry.checks)
        finally:
            reinstate()  # a plugin may have swapped sys.stdout; the report goes through ours
            live.close()
    finish(result, chosen, outputs, nagios, quiet)


def _check_waivers(prof: Any, registry: Any) -> None:
    """Waivers must name registered checks (an error); one that ran out is named on stderr
    — the run goes on and its finding counts again."""
    from accessready.agent.core.profile import check_waivers, expired_waivers

    check_waivers(prof, {c.id for c in registry.checks})
    for expired in expired_waivers(prof):
        warn(str(expired))
