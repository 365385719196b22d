"""``accessready history``: a customer's past verdicts; export or prune stored runs."""

from __future__ import annotations

import re
import sys
from typing import Any

import click

from accessready.agent.cli.common import UserError, pick_lang, write_reports


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


@click.command(short_help="A customer's past verdicts; export or prune stored runs.")
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
    from accessready.reports.history_text import render_history

    chosen = pick_lang(lang, None)
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
            write_reports(stored, {"json": json_, "html": html}, pick_lang(lang, stored.lang))
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
    from accessready.reports.history_text import render_prune_plan

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
