"""What the commands share: one-line errors and warnings, the report language, output
files and the exit that follows a run.

Only the standard library and click are imported at module level, so ``--help`` stays
fast; the rest is imported inside the functions that need it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
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


def fail(message: str) -> NoReturn:
    """Say ``message`` on stderr as one line and exit 3."""
    click.echo(f"accessready: error: {safe(message)}", err=True)
    sys.exit(3)


def warn(message: str) -> None:
    """Say ``message`` on stderr as one warning line."""
    click.echo(f"accessready: warning: {safe(message)}", err=True)


def safe(message: str) -> str:
    """A diagnostic fit for the terminal: secrets masked, and terminal escapes (from a
    profile value, a result-file key, a plugin's text it echoes) neutralised, one line."""
    from accessready.agent.core.textsafe import clean
    from accessready.agent.io.secrets import REDACTOR

    return clean(REDACTOR.text(message))


def pick_lang(option: str | None, profile_lang: str | None, environ: Any = None,
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


def finite(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    """Reject nan/inf, which slip past a range check (every comparison with nan is false)."""
    import math

    if value is not None and not math.isfinite(value):
        raise click.BadParameter("must be a finite number of seconds", ctx, param)
    return value


def output_options(f: Any) -> Any:
    """The options naming where a run's reports go, shared by run, report and merge."""
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


def registry_with_warnings() -> Any:
    """The loaded checks; a plugin that failed to load is named on stderr, not dropped
    silently."""
    from accessready.agent.plugin.capture import protect_stdout_fd, reinstate
    from accessready.agent.plugin.registry import load_registry

    protect_stdout_fd()  # a plugin printing while it loads must not spoil stdout
    registry = load_registry()
    reinstate()
    for problem in registry.problems:
        warn(problem)
    return registry


def check_stdout(outputs: dict[str, str | None], nagios: bool) -> bool:
    """At most one output may go to stdout (``-``, or ``/dev/stdout`` and its kin); if one
    does, the table does not."""
    from accessready.agent.core.safefile import own_descriptor

    to_stdout = [fmt for fmt, path in outputs.items()
                 if path == "-" or (path and own_descriptor(path) == 1)]
    if len(to_stdout) + (nagios and bool(to_stdout)) > 1:
        raise UserError(f"only one output can go to stdout (-), not {', '.join(to_stdout)}"
                        f"{' and --nagios' if nagios else ''} — write the others to files")
    return bool(to_stdout)


def finish(result: Any, lang: str, outputs: dict[str, str | None], nagios: bool,
           quiet: bool, exit_code: int | None = None) -> NoReturn:
    """Write ``result``'s reports, show its table (or Nagios line) and exit with its
    verdict's code (or ``exit_code``)."""
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
