"""The ``accessready`` command: turns flags into options, calls the library, exits.

Only report bytes go to stdout; progress and diagnostics go to stderr. Every expected
problem (bad profile, bad usage, unreadable file) is one line and exit code 3.
Heavy modules are imported inside the commands so ``--help`` starts fast.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click

EXIT_HELP = """\b
Exit codes (as Nagios/Icinga read them):
  0  ready
  1  ready with warnings
  2  not ready
  3  unknown: bad profile, bad usage, or no verdict possible"""


class UserError(Exception):
    """An expected problem, already phrased as one line for the user."""


def _fail(message: str) -> NoReturn:
    click.echo(f"accessready: error: {_safe(message)}", err=True)
    sys.exit(3)


def _warn(message: str) -> None:
    click.echo(f"accessready: warning: {_safe(message)}", err=True)


def _safe(message: str) -> str:
    """A diagnostic fit for the terminal: secrets masked, and terminal escapes (from a
    profile value, a result-file key, a plugin's text it echoes) neutralised, one line."""
    from accessready.agent.core.textsafe import clean
    from accessready.agent.io.secrets import REDACTOR

    return clean(REDACTOR.text(message))


def _pick_lang(option: str | None, profile_lang: str | None, environ: Any = None,
               ui_language: Callable[[], str | None] | None = None) -> str:
    """--lang, then the profile's, then the locale variables, then the Windows display
    language (Windows sets no LANG), then English."""
    if option:
        return option
    if profile_lang:
        return profile_lang
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = (os.environ if environ is None else environ).get(var, "")
        if value:
            return "sv" if value.lower().startswith("sv") else "en"
    if ui_language is None:
        from accessready.agent.core import console

        ui_language = console.ui_language
    return ui_language() or "en"


def write_output(path: str, data: bytes, *, private: bool = False) -> None:
    """Write ``data`` to ``path`` (``-`` for stdout) without harming what is there: see
    :mod:`accessready.agent.core.safefile` (devices and pipes in place, files replaced
    atomically; ``private``: a new file is readable by its owner only)."""
    from accessready.agent.core.safefile import OutputError, write_file

    if path == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    try:
        write_file(path, data, private=private)
    except OutputError as exc:
        raise UserError(str(exc)) from None


def write_reports(run: Any, outputs: dict[str, str | None], lang: str) -> None:
    """Render ``run`` into every requested format."""
    from accessready.reports import RENDERERS

    for fmt, path in outputs.items():
        if path:
            # results name internal hosts and accounts: a new JSON file is 0600
            write_output(path, RENDERERS[fmt](run, lang), private=fmt == "json")


def _setup_logging(debug: bool) -> None:
    from accessready.agent.io.secrets import RedactingFilter

    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("accessready")
    root.handlers[:] = [handler]
    root.propagate = False  # not also to handlers a plugin put on the root logger (stdout)
    root.setLevel(logging.DEBUG if debug else logging.WARNING)


@click.group(epilog=EXIT_HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="accessready")
@click.option("--debug", is_flag=True, help="Log details (secrets masked) to stderr.")
def cli(debug: bool) -> None:
    """Check that a customer's environment is ready for remote support, and write a
    readiness report the customer can act on."""
    _setup_logging(debug)


_VANTAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,39}$")


def _check_vantage(ctx: Any, param: Any, value: str | None) -> str | None:
    if value is not None and not _VANTAGE.match(value):
        raise click.BadParameter(f"{value!r}: use up to 40 letters, digits, spaces, '.', '_' "
                                 "or '-', e.g. --vantage school-lan")
    return value


def _finite(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    """Reject nan/inf, which slip past a range check (every comparison with nan is false)."""
    import math

    if value is not None and not math.isfinite(value):
        raise click.BadParameter("must be a finite number of seconds", ctx, param)
    return value


def _output_options(f: Any) -> Any:
    for opt in reversed([
        click.option("--html", "html", metavar="FILE", help="Write the HTML report."),
        click.option("--json", "json_", metavar="FILE", help="Write the JSON result."),
        click.option("--junit", metavar="FILE", help="Write JUnit XML."),
        click.option("--prometheus", metavar="FILE", help="Write Prometheus text format."),
        click.option("--nagios", is_flag=True, help="Print a one-line Nagios status."),
        click.option("--lang", type=click.Choice(["sv", "en"]),
                     help="Report language (default: profile, then locale)."),
    ]):
        f = opt(f)
    return f


@cli.command(epilog=EXIT_HELP)
@click.argument("profile", type=click.Path(dir_okay=False))
@_output_options
@click.option("--only", multiple=True, metavar="GLOB", help="Run only checks matching GLOB.")
@click.option("--skip", multiple=True, metavar="GLOB", help="Skip checks matching GLOB.")
@click.option("--timeout", type=click.FloatRange(0.1, 3600), callback=_finite,
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
    chosen = _pick_lang(lang, prof.customer.lang)
    with password_env_withheld(prof, self_check):  # before any plugin is imported
        registry = _registry_with_warnings()
        _check_waivers(prof, registry)
        unmatched = [g for g in options.only
                     if not any(fnmatch.fnmatchcase(c.id, g) for c in registry.checks)]
        if unmatched:
            _warn(f"--only {', '.join(unmatched)} matches no check; see `accessready checks`")
        outputs = {"html": html, "json": json_, "junit": junit, "prometheus": prometheus}
        quiet = _check_stdout(outputs, nagios) or quiet
        live = LiveLine(sys.stderr)
        try:
            result = run_checks(prof, options, lang=chosen, on_progress=live,
                                self_check=self_check, vantage=vantage,
                                checks=registry.checks)
        finally:
            reinstate()  # a plugin may have swapped sys.stdout; the report goes through ours
            live.close()
    _finish(result, chosen, outputs, nagios, quiet)


def _check_waivers(prof: Any, registry: Any) -> None:
    """Waivers must name registered checks (an error); one that ran out is named on stderr
    — the run goes on and its finding counts again."""
    from accessready.agent.core.profile import check_waivers, expired_waivers

    check_waivers(prof, {c.id for c in registry.checks})
    for expired in expired_waivers(prof):
        _warn(str(expired))


def _registry_with_warnings() -> Any:
    """The loaded checks; a plugin that failed to load is named on stderr, not dropped
    silently."""
    from accessready.agent.plugin.capture import protect_stdout_fd, reinstate
    from accessready.agent.plugin.registry import load_registry

    protect_stdout_fd()  # a plugin printing while it loads must not spoil stdout
    registry = load_registry()
    reinstate()
    for problem in registry.problems:
        _warn(problem)
    return registry


def _check_stdout(outputs: dict[str, str | None], nagios: bool) -> bool:
    """At most one output may go to stdout (``-``, or ``/dev/stdout`` and its kin); if one
    does, the table does not."""
    from accessready.agent.core.safefile import own_descriptor

    to_stdout = [fmt for fmt, path in outputs.items()
                 if path == "-" or (path and own_descriptor(path) == 1)]
    if len(to_stdout) + (nagios and bool(to_stdout)) > 1:
        raise UserError(f"only one output can go to stdout (-), not {', '.join(to_stdout)}"
                        f"{' and --nagios' if nagios else ''} — write the others to files")
    return bool(to_stdout)


def _finish(result: Any, lang: str, outputs: dict[str, str | None], nagios: bool,
            quiet: bool, exit_code: int | None = None) -> NoReturn:
    from accessready.agent.core.model import ExitCode
    from accessready.reports.terminal import render_table, use_colour

    write_reports(result, outputs, lang)
    if nagios:
        from accessready.reports import RENDERERS

        sys.stdout.write(RENDERERS["nagios"](result, lang).decode())
    elif not quiet:
        sys.stdout.write(render_table(result, lang, colour=use_colour(sys.stdout)))
    if result.interrupted:
        click.echo("accessready: interrupted; the outputs hold what finished.", err=True)
    sys.exit(int(ExitCode.for_verdict(result.verdict)) if exit_code is None else exit_code)


@cli.command()
@click.argument("profile", type=click.Path(dir_okay=False))
def validate(profile: str) -> None:
    """Check PROFILE alone; errors name file, line and key."""
    from accessready.agent.core.profile import check_waivers, load_profile
    from accessready.agent.core.textsafe import clean
    from accessready.agent.io.transports.sessions import credential_warnings

    prof = load_profile(profile)  # a waiver past its date is an error here
    check_waivers(prof, {c.id for c in _registry_with_warnings().checks})
    servers = len(prof.servers)
    for warning in credential_warnings(prof):
        _warn(warning)
    waived = "".join(f"; waives {w.check}{' on ' + w.target if w.target else ''} until "
                     f"{w.until}" for w in prof.waivers)
    # the path, the customer's name and the waivers are input: no terminal escape gets through
    click.echo(clean(f"{profile}: valid — {prof.customer.name}, methods "
                     f"{', '.join(prof.access.methods)}, {servers} "
                     f"server{'s' * (servers != 1)}{waived}"))


@cli.command()
@click.option("--lang", type=click.Choice(["sv", "en"]), default=None)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def checks(lang: str | None, fmt: str) -> None:
    """The catalogue: id, title, requirement, what each check needs."""
    import json

    registry = _registry_with_warnings()
    chosen = _pick_lang(lang, None)
    if fmt == "json":
        click.echo(json.dumps([c.catalogue_entry() for c in registry.checks], indent=2,
                              ensure_ascii=False))
        return
    from accessready.agent.core.model import Vantage
    from accessready.agent.core.textsafe import clean

    # A plugin's id and title reach the terminal: escapes neutralised.
    shown = [(c, clean(c.id), clean(c.title.get(chosen))) for c in registry.checks]
    id_w = max(len(i) for _, i, _ in shown)
    title_w = max(len(title) for _, _, title in shown)
    for c, check_id, title in shown:
        method = f" [{clean(c.method)}]" if c.method else ""
        # where it applies, when not from every vantage: "only from: engineer"
        where = "" if c.vantages >= set(Vantage) else \
            f"  {'bara från' if chosen == 'sv' else 'only from'}: " \
            f"{', '.join(v.value for v in Vantage if v in c.vantages)}"
        click.echo(f"{check_id:<{id_w}}  {c.requirement.value:<11}  {title:<{title_w}}"
                   f"  needs: {clean(', '.join(c.needs)) or '-'}{method}{where}")


@cli.command()
@click.argument("result_file", metavar="RESULT.json", type=click.Path(dir_okay=False))
@_output_options
def report(result_file: str, html: str | None, json_: str | None, junit: str | None,
           prometheus: str | None, nagios: bool, lang: str | None) -> None:
    """Re-render a saved result (e.g. a customer's self-check)."""
    from accessready.reports.json_report import load_file

    result = load_file(result_file)
    chosen = _pick_lang(lang, result.lang)
    outputs = {"html": html, "json": json_, "junit": junit, "prometheus": prometheus}
    _finish(result, chosen, outputs, nagios, quiet=_check_stdout(outputs, nagios))


@cli.command()
@click.option("--html", default="report.html", show_default=True, metavar="FILE")
@click.option("--json", "json_", default="demo-result.json", show_default=True, metavar="FILE")
@click.option("--profile-out", default=None, metavar="FILE",
              help="Also keep the demo profile here.")
@click.option("--lang", type=click.Choice(["sv", "en"]), default=None)
def demo(html: str, json_: str, profile_out: str | None, lang: str | None) -> None:
    """Run the real checks against a simulated customer on loopback; writes report.html.

    Exits 0 when the demo ran (the simulated customer's verdict is in the report; it has
    findings on purpose), 3 when it could not run.
    """
    from accessready.agent.core.safefile import OutputError
    from accessready.agent.demo.environment import run_demo
    from accessready.reports.terminal import LiveLine

    live = LiveLine(sys.stderr)
    try:
        result = run_demo(lang=_pick_lang(lang, None), profile_out=profile_out,
                          on_progress=live)
    except OutputError as exc:  # --profile-out
        raise UserError(str(exc)) from None
    finally:
        live.close()
    click.echo(f"accessready: demo report written to {html}", err=True)
    _finish(result, result.lang, {"html": html, "json": json_}, nagios=False, quiet=False,
            exit_code=0)


@cli.command()
@click.option("--out", "-o", default="customer.toml", show_default=True, metavar="FILE")
@click.option("--customer", help="The customer's name.")
@click.option("--methods", help="Comma-separated: teamviewer, anyconnect, checkpoint, "
              "windows_vpn.")
@click.option("--gateway", help="VPN gateway / server host name for the first VPN method.")
@click.option("--username", help=r"The support account, e.g. 'DOMAIN\user'.")
@click.option("--federation-service", help="The AD FS federation service name.")
@click.option("--teamviewer-server", metavar="NAME",
              help="With teamviewer: the server where TeamViewer Host runs (examined over "
              "WinRM; default adfs01).")
@click.option("--force", is_flag=True, help="Overwrite FILE.")
def init(out: str, customer: str | None, methods: str | None, gateway: str | None,
         username: str | None, federation_service: str | None,
         teamviewer_server: str | None, force: bool) -> None:
    """Write a commented starting profile (asks for what flags leave out, on a terminal)."""
    from accessready.agent.app.init_profile import InitAnswers, ask_missing, render_profile
    from accessready.agent.core.profile import parse_profile

    if Path(out).exists() and not force:
        raise UserError(f"{out}: already exists — choose another --out or add --force")
    answers = InitAnswers(customer=customer, methods=methods, gateway=gateway,
                          username=username, federation_service=federation_service,
                          teamviewer_server=teamviewer_server)
    if sys.stdin.isatty():
        answers = ask_missing(answers, click.prompt)
    text = render_profile(answers)
    parse_profile(text, out)  # what we write must itself be valid
    write_output(out, text.encode("utf-8"))
    click.echo(f"accessready: wrote {out}; edit it, then: accessready validate {out}", err=True)


@cli.command()
@click.argument("which", type=click.Choice(["profile", "result", "audit"]))
def schema(which: str) -> None:
    """Print the JSON Schema of the profile, the JSON result or the audit JSON."""
    import json

    if which == "profile":
        from accessready.agent.core.profile_spec import json_schema

        click.echo(json.dumps(json_schema(), indent=2))
    else:
        from importlib.resources import files

        click.echo(files("accessready.reports").joinpath(f"schemas/{which}.schema.json")
                   .read_text("utf-8"), nl=False)


@cli.command(epilog=EXIT_HELP, short_help="Combine the customer's and the engineer's "
             "results into one report.")
@click.argument("results", nargs=-1, required=True, metavar="RESULT.json...",
                type=click.Path(dir_okay=False))
@_output_options
@click.option("--profile", "profile_path", type=click.Path(dir_okay=False),
              help="Decide the verdict with this profile (needed for results written "
              "before accessready recorded what the verdict rests on).")
@click.option("--force", is_flag=True, help="Merge even results of different customers "
              "or profiles.")
@click.option("--quiet", "-q", is_flag=True, help="No table on stdout.")
def merge(results: tuple[str, ...], html: str | None, json_: str | None, junit: str | None,
          prometheus: str | None, nagios: bool, lang: str | None, profile_path: str | None,
          force: bool, quiet: bool) -> None:
    """Combine results of one customer from several vantage points (e.g. the customer's
    self-check and the engineer's run) into one report.

    Per check the freshest result from each vantage point; where they disagree both are
    shown. The verdict is decided again."""
    from accessready.agent.core.merge import display_run, merge_runs
    from accessready.agent.core.profile import load_profile
    from accessready.reports.json_report import load_file

    if len(results) < 2:
        raise UserError("merge needs two or more result files, e.g. accessready merge "
                        "customer.json engineer.json --html merged.html")
    runs = [load_file(path) for path in results]
    prof = load_profile(profile_path) if profile_path else None
    merged = merge_runs(runs, list(results), profile=prof, force=force)
    chosen = _pick_lang(lang, merged.lang)
    write_reports(merged, {"html": html, "json": json_}, chosen)
    # one line per target elsewhere: disagreeing views get "@vantage" on the target
    _finish(display_run(merged), chosen, {"junit": junit, "prometheus": prometheus}, nagios,
            quiet)



@cli.command(short_help="Run every customer profile, record history, report changes.",
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
              show_default=True, help="Profiles checked at the same time.")
@click.option("--concurrency", type=click.IntRange(1, 4096), default=128, show_default=True,
              help="Checks at once across the whole audit.")
@click.option("--timeout", type=click.FloatRange(0.1, 3600), callback=_finite,
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
          keep_days: int | None, quiet: bool) -> None:
    """Run every PROFILE (files, folders of *.toml, or patterns), record the runs and
    report what changed: an overview across customers."""
    from accessready.agent.app.audit import AuditOptions, expand_profiles, run_audit, write_details
    from accessready.agent.plugin.capture import protect_stdout_fd, reinstate
    from accessready.reports.overview import RENDERERS as OVERVIEW
    from accessready.reports.overview import render_table

    if keep_days is not None and not history_path:
        raise UserError("--keep-days needs --history FILE (it prunes that history)")
    chosen = _pick_lang(lang, None)
    options = AuditOptions(profiles_at_once=profiles_at_once, checks_at_once=concurrency,
                           timeout=timeout, only=only, skip=skip, lang=chosen,
                           history=history_path, lock=lock_path, keep_days=keep_days)
    paths = expand_profiles(profiles)
    protect_stdout_fd()  # stdout is the overview's: plugins' own output goes to stderr
    progress = _AuditProgress()
    try:
        result = run_audit(paths, options, on_progress=progress)
    finally:
        reinstate()  # a plugin may have swapped sys.stdout; the overview goes through ours
        progress.close()
    details_failed: str | None = None
    if reports_dir:
        try:
            result = write_details(result, Path(reports_dir), chosen, write_output,
                                   link_from=Path(html).parent if html and html != "-" else None)
        except UserError as exc:
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
        _warn(f"{result.history_error} (the audit's outputs were written)")
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


def _past_date(ctx: Any, param: Any, value: str | None) -> Any:
    """``--before``: exactly YYYY-MM-DD, a real day, not in the future — a typo such as
    2062 for 2026 would otherwise delete every stored run."""
    import datetime as dt

    if value is None:
        return None
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise click.BadParameter(f"{value!r} is not a date: write YYYY-MM-DD, e.g. 2026-07-01")
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value} is not a day of the calendar: write YYYY-MM-DD, "
                                 "e.g. 2026-07-01") from None
    today = dt.datetime.now(dt.UTC).date()
    if day > today:
        raise click.BadParameter(f"{value} is in the future (today is {today}): every run "
                                 "finished before it — give a past day")
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


@cli.command(short_help="A customer's past verdicts; export or prune stored runs.")
@click.argument("customer", required=False)
@click.option("--history", "--db", "history_path", metavar="FILE", required=True,
              envvar="ACCESSREADY_HISTORY",
              help="The audit's SQLite file [env ACCESSREADY_HISTORY].")
@click.option("--limit", "-n", type=click.IntRange(1), default=30, show_default=True,
              help="Runs to show.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.option("--lang", type=click.Choice(["sv", "en"]), default=None)
@click.option("--run", "run_id", type=click.IntRange(1), metavar="ID",
              help="Export stored run ID as a result file (with --json/--html).")
@click.option("--json", "json_", metavar="FILE", help="With --run: write its JSON result.")
@click.option("--html", metavar="FILE", help="With --run: write its HTML report.")
@click.option("--prune", is_flag=True, help="Delete old runs (all customers, or CUSTOMER's); "
              "lists them and asks first.")
@click.option("--before", callback=_past_date, metavar="YYYY-MM-DD",
              help="With --prune: runs finished before this day (UTC midnight); a past day.")
@click.option("--keep-days", type=click.IntRange(1, 36500), metavar="DAYS",
              help="With --prune: runs older than DAYS.")
@click.option("--dry-run", is_flag=True, help="With --prune: only list what would go.")
@click.option("--yes", "-y", is_flag=True, help="With --prune: do not ask (needed without "
              "a terminal).")
@click.option("--delete-all", is_flag=True, help="With --prune: allow deleting every stored "
              "run of every customer.")
def history(customer: str | None, history_path: str, limit: int, fmt: str,
            lang: str | None, run_id: int | None, json_: str | None, html: str | None,
            prune: bool, before: Any, keep_days: int | None, dry_run: bool, yes: bool,
            delete_all: bool) -> None:
    """A customer's past verdicts and what changed each time; without CUSTOMER, every
    customer's latest. Also exports a stored run (--run; with CUSTOMER only that
    customer's) and prunes old ones (--prune: lists them, then asks or needs --yes)."""
    import json

    from accessready.agent.app.history import History
    from accessready.reports.overview import render_history

    chosen = _pick_lang(lang, None)
    if prune and (run_id is not None or json_ or html):
        # a prune deletes by date: a run id beside it would read as "only this run"
        raise UserError("--run, --json and --html do not go with --prune — prune by date "
                        "(--before/--keep-days, optionally for one CUSTOMER), or export a "
                        "run without --prune")
    if (json_ or html) and run_id is None:
        raise UserError("--json and --html go with --run ID — name the stored run to export")
    if prune:
        _prune(history_path, customer, before, keep_days, dry_run, yes, delete_all, chosen)
        return
    if dry_run or yes or delete_all:
        raise UserError("--dry-run, --yes and --delete-all go with --prune")
    if before is not None or keep_days is not None:
        raise UserError("--before and --keep-days go with --prune")
    with History(history_path, create=False) as db:
        if run_id is not None:
            if customer is not None:
                _same_customer_run(db, customer, run_id)
            stored = db.load_run(run_id)
            if not (json_ or html):
                raise UserError("--run needs --json FILE and/or --html FILE")
            write_reports(stored, {"json": json_, "html": html}, _pick_lang(lang, stored.lang))
            return
        if customer is None:
            rows: Any = db.customers()
            if fmt == "json":
                click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
            else:
                sys.stdout.write(render_history(None, rows, chosen))
            return
        name = db.find_customer(customer)
        runs = db.runs(name, limit=limit)
    if fmt == "json":
        click.echo(json.dumps({"customer": name, "runs": [r.to_json() for r in runs]},
                              indent=2, ensure_ascii=False))
    else:
        sys.stdout.write(render_history(name, runs, chosen))


def _same_customer_run(db: Any, customer: str, run_id: int) -> None:
    """``history CUSTOMER --run N`` exports N only when it is CUSTOMER's run."""
    from accessready.agent.app.history import customer_key

    name = db.find_customer(customer)
    owner = db.run_customer(run_id)
    if customer_key(owner) != customer_key(name):
        raise UserError(f"run {run_id} is of {owner!r}, not of {name!r} — list {name}'s runs "
                        f"with `accessready history {_shell_quote(name)}`, or leave out the "
                        "customer to export any run")


def _shell_quote(text: str) -> str:
    """``text`` quoted for a shell command shown in a message."""
    import shlex

    return shlex.quote(text)


def _prune(history_path: str, customer: str | None, before: Any, keep_days: int | None,
           dry_run: bool, yes: bool, delete_all: bool, lang: str) -> None:
    """``history --prune``: list what would go, then delete after a yes (or --yes)."""
    import datetime as dt

    from accessready.agent.app.history import History
    from accessready.reports.overview import render_prune_plan

    if (before is None) == (keep_days is None):
        raise UserError("--prune needs exactly one of --before YYYY-MM-DD or --keep-days DAYS")
    cutoff = before if before is not None else (
        dt.datetime.now(dt.UTC) - dt.timedelta(days=keep_days or 0))
    with History(history_path, create=False) as db:
        name = db.find_customer(customer) if customer else None
        plan = db.prune_plan(cutoff, name)
        sys.stdout.write(render_prune_plan(plan, lang))
        sys.stdout.flush()
        if dry_run or plan.runs == 0:
            return
        if plan.deletes_everything and not delete_all:
            raise UserError(f"this would delete all {plan.runs} stored runs of every customer"
                            f" (everything before {plan.before}) — check the date; if you "
                            "mean it, add --delete-all")
        if not yes:
            if not sys.stdin.isatty():
                raise UserError(f"--prune would delete {plan.runs} runs and there is no "
                                "terminal to ask — add --yes to confirm (or --dry-run to "
                                "only list them)")
            from accessready.reports.i18n import Translator

            if not click.confirm(Translator(lang)("prune.confirm", runs=plan.runs),
                                 default=False, err=True):
                raise UserError("nothing deleted (not confirmed)")
        stats = db.prune(cutoff, name)
    click.echo(f"accessready: removed {stats.runs} runs ({stats.results} results) "
               f"finished before {plan.before}{' of ' + name if name else ''}; "
               f"{stats.remaining} runs remain", err=True)


def main(argv: list[str] | None = None) -> NoReturn:
    """Entry point of the ``accessready`` console script."""
    from click.exceptions import Abort, ClickException, Exit

    from accessready.agent.core.console import utf8_streams

    utf8_streams()  # before anything is written: a cp1252 pipe cannot hold "→"
    try:
        code = cli.main(args=argv, prog_name="accessready", standalone_mode=False)
    except Exit as exc:
        sys.exit(exc.exit_code)
    except ClickException as exc:  # usage errors: one line, exit 3 (not click's 2)
        _fail(exc.format_message().replace("\n", " ") + " — see accessready --help")
    except Abort:
        _fail("aborted")
    except KeyboardInterrupt:
        _fail("interrupted")
    except UserError as exc:
        _fail(str(exc))
    except Exception as exc:
        _handle(exc)
    sys.exit(code if isinstance(code, int) else 0)


def _handle(exc: Exception) -> NoReturn:
    from accessready.agent.app.audit import AuditError
    from accessready.agent.app.history import HistoryError
    from accessready.agent.app.lock import LockBusy
    from accessready.agent.core.merge import MergeError
    from accessready.agent.core.profile import ProfileError
    from accessready.agent.plugin.registry import PluginError
    from accessready.reports.json_report import ResultFileError

    if isinstance(exc, ProfileError | ResultFileError | PluginError | AuditError
                  | HistoryError | LockBusy | MergeError):
        _fail(str(exc))
    if logging.getLogger("accessready").isEnabledFor(logging.DEBUG):
        logging.getLogger("accessready").exception("internal error")
    _fail(f"internal error: {type(exc).__name__}: {exc} — please report this; "
          "--debug shows details")
