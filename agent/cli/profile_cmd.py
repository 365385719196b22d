"""``accessready init``, ``validate`` and ``schema``: write, check and describe a profile
(and the schemas of the result files)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from accessready.agent.cli.common import UserError, registry_with_warnings, warn, write_output


@click.command()
@click.argument("profile", type=click.Path(dir_okay=False))
def validate(profile: str) -> None:
    """Check PROFILE alone; errors name file, line and key."""
    from accessready.agent.core.profile import check_waivers, load_profile
    from accessready.agent.core.textsafe import clean
    from accessready.agent.io.transports.sessions import credential_warnings

    prof = load_profile(profile)  # a waiver past its date is an error here
    check_waivers(prof, {c.id for c in registry_with_warnings().checks})
    servers = len(prof.servers)
    for warning in credential_warnings(prof):
        warn(warning)
    waived = "".join(f"; waives {w.check}{' on ' + w.target if w.target else ''} until "
                     f"{w.until}" for w in prof.waivers)
    # the path, the customer's name and the waivers are input: no terminal escape gets through
    click.echo(clean(f"{profile}: valid — {prof.customer.name}, methods "
                     f"{', '.join(prof.access.methods)}, {servers} "
                     f"server{'s' * (servers != 1)}{waived}"))


@click.command()
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


@click.command()
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
