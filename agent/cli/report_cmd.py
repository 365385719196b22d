"""``accessready report`` and ``merge``: render saved results again, alone or combined."""

from __future__ import annotations

import click

from accessready.agent.cli.common import (
    EXIT_HELP,
    UserError,
    check_stdout,
    finish,
    output_options,
    pick_lang,
    write_reports,
)


@click.command()
@click.argument("result_file", metavar="RESULT.json", type=click.Path(dir_okay=False))
@output_options
def report(result_file: str, html: str | None, json_: str | None, junit: str | None,
           prometheus: str | None, nagios: bool, lang: str | None) -> None:
    """Re-render a saved result (e.g. a customer's self-check)."""
    from accessready.reports.json_report import load_file

    result = load_file(result_file)
    chosen = pick_lang(lang, result.lang)
    outputs = {"html": html, "json": json_, "junit": junit, "prometheus": prometheus}
    finish(result, chosen, outputs, nagios, quiet=check_stdout(outputs, nagios))


@click.command(epilog=EXIT_HELP, short_help="Combine the customer's and the engineer's "
               "results into one report.")
@click.argument("results", nargs=-1, required=True, metavar="RESULT.json...",
                type=click.Path(dir_okay=False))
@output_options
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
    chosen = pick_lang(lang, merged.lang)
    write_reports(merged, {"html": html, "json": json_}, chosen)
    # one line per target elsewhere: disagreeing views get "@vantage" on the target
    finish(display_run(merged), chosen, {"junit": junit, "prometheus": prometheus}, nagios,
           quiet)
