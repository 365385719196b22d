"""``accessready audit``: every customer's profile, recorded, as one overview."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from accessready.agent.cli.common import UserError, finite, pick_lang, warn, write_output

MOST_PROCESSES = 64


def _processes(ctx: click.Context, param: click.Parameter, value: str) -> int | None:
    """``--processes``: a count, or ``auto`` (None)."""
    if value.strip().lower() == "auto":
        return None
    try:
        count = int(value)
    except ValueError:
        count = 0
    if not 1 <= count <= MOST_PROCESSES:
        raise click.BadParameter(f"{value!r} is neither auto nor a whole number from 1 to "
                                 f"{MOST_PROCESSES}", ctx, param)
    return count


@click.command(short_help="Run every customer profile, record history, report changes.",
               epilog="""\b
Exit code: the worst customer's (not ready > unknown > warnings > ready: a
customer that could not be checked is not hidden behind a warning); 3 also when the
audit could not start (another audit holds the lock, bad history file) or was
interrupted. Checks of the engineer's workstation and of a VPN tunnel on this machine
skip in an audit (vantage 'audit').""")
@click.argument("profiles", nargs=-1, required=True, metavar="PROFILE...")
@click.option("--history", "--db", "history_path", metavar="FILE",
              envvar="ACCESSREADY_HISTORY", help="Record every run in this SQLite file "
              "and report what changed since the last run [env ACCESSREADY_HISTORY].")
@click.option("--html", metavar="FILE", help="Write the HTML overview.")
@click.option("--json", "json_", metavar="FILE", help="Write the audit JSON.")
@click.option("--prometheus", metavar="FILE", help="Write Prometheus text (one file).")
@click.option("--nagios", is_flag=True, help="Print the Nagios status of the worst customer.")
@click.option("--reports-dir", metavar="DIR",
              help="Also write each customer's HTML report and JSON result here; the "
              "overview links to them.")
@click.option("--lang", type=click.Choice(["sv", "en"]), help="Language of the outputs.")
@click.option("--profiles-at-once", type=click.IntRange(1, 256), default=8,
              show_default=True,
              help="Profiles loaded and planned at the same time (their checks then share "
              "--concurrency).")
@click.option("--concurrency", type=click.IntRange(1, 4096), default=128, show_default=True,
              help="Checks at once across the whole audit.")
@click.option("--processes", default="auto", show_default=True, metavar="N|auto",
              callback=_processes,
              help="Processes that share the profiles, one core each; the bounds above are "
              "shared among them (auto: one per 400 profiles, up to the CPUs).")
@click.option("--timeout", type=click.FloatRange(0.1, 3600), callback=finite,
              help="Seconds per check (default: each profile's).")
@click.option("--only", multiple=True, metavar="GLOB", help="Run only checks matching GLOB.")
@click.option("--skip", multiple=True, metavar="GLOB", help="Skip checks matching GLOB.")
@click.option("--lock", "lock_path", metavar="FILE",
              help="Lock file (default: the history file + .lock).")
@click.option("--keep-days", type=click.IntRange(1, 36500), metavar="DAYS",
              help="After the audit, delete runs older than DAYS from the history.")
@click.option("--quiet", "-q", is_flag=True, help="No table on stdout.")
def audit(profiles: tuple[str, ...], history_path: str | None, html: str | None,
          json_: str | None, prometheus: str | None, nagios: bool, reports_dir: str | None,
          lang: str | None, profiles_at_once: int, concurrency: int, timeout: float | None,
          only: tuple[str, ...], skip: tuple[str, ...], lock_path: str | None,
          keep_days: int | None, quiet: bool, processes: int | None) -> None:
    """Run every PROFILE (files, folders of *.toml, or patterns), record the runs and
    report what changed: an overview across customers."""
    from accessready.agent.app.audit import AuditOptions, expand_profiles, run_audit
    from accessready.agent.app.audit_reports import Details
    from accessready.agent.core.safefile import OutputError
    from accessready.agent.plugin.capture import protect_stdout_fd, reinstate
    from accessready.reports.overview import RENDERERS as OVERVIEW
    from accessready.reports.overview_text import render_table

    if keep_days is not None and not history_path:
        raise UserError("--keep-days needs --history FILE (it prunes that history)")
    chosen = pick_lang(lang, None)
    options = AuditOptions(profiles_at_once=profiles_at_once, checks_at_once=concurrency,
                           timeout=timeout, only=only, skip=skip, lang=chosen,
                           history=history_path, lock=lock_path, keep_days=keep_days,
                           processes=processes)
    paths = expand_profiles(profiles)
    # each customer's reports are written as its run ends, while the others' checks wait
    details = Details(Path(reports_dir), chosen, write_output,
                      link_from=Path(html).parent if html and html != "-" else None,
                      offload=True) if reports_dir else None
    protect_stdout_fd()  # stdout is the overview's: plugins' own output goes to stderr
    progress = _AuditProgress()
    try:
        result = run_audit(paths, options, on_progress=progress,
                           on_run=details.early if details is not None else None,
                           on_started=details.release if details is not None else None)
    finally:
        reinstate()  # a plugin may have swapped sys.stdout; the overview goes through ours
        progress.close()
    details_failed: str | None = None
    if details is not None:
        try:
            result = details.finish(result)
        except (UserError, OutputError) as exc:
            details_failed = str(exc)
        except OSError as exc:  # the folder cannot be made (a file of that name, no rights)
            details_failed = (f"{reports_dir}: cannot write the customers' reports there: "
                              f"{exc.strerror} — name a folder you can write to")
    for fmt, path in (("html", html), ("json", json_), ("prometheus", prometheus)):
        if path:
            write_output(path, OVERVIEW[fmt](result, chosen), private=fmt == "json")
    if details_failed:  # the overview is written first: the audit's result is not lost
        raise UserError(details_failed)
    if nagios:
        sys.stdout.write(OVERVIEW["nagios"](result, chosen).decode())
    elif not quiet:
        sys.stdout.write(render_table(result, chosen))
    if result.interrupted:
        click.echo("accessready: audit interrupted; the runs that finished are recorded.",
                   err=True)
    if result.history_error:
        warn(f"{result.history_error} (the audit's outputs were written)")
    sys.exit(int(result.exit_code))


class _AuditProgress:
    """A live "[12/200] customer: verdict" line on a terminal; nothing otherwise."""

    def __init__(self) -> None:
        from accessready.reports.terminal import LiveLine

        self.line = LiveLine(sys.stderr)

    def __call__(self, done: int, total: int, entry: Any) -> None:
        from accessready.agent.plugin.runner import Progress

        self.line(Progress(total=total, done=done,
                           running=[f"{entry.customer}: {entry.verdict.value}"]))

    def close(self) -> None:
        self.line.close()
