"""``accessready demo``: the real checks against a simulated customer on loopback."""

from __future__ import annotations

import sys

import click

from accessready.agent.cli.common import UserError, finish, pick_lang


@click.command()
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
        result = run_demo(lang=pick_lang(lang, None), profile_out=profile_out,
                          on_progress=live)
    except OutputError as exc:  # --profile-out
        raise UserError(str(exc)) from None
    finally:
        live.close()
    click.echo(f"accessready: demo report written to {html}", err=True)
    finish(result, result.lang, {"html": html, "json": json_}, nagios=False, quiet=False,
           exit_code=0)
