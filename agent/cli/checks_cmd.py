"""``accessready checks``: the catalogue of the loaded checks."""

from __future__ import annotations

import click

from accessready.agent.cli.common import pick_lang, registry_with_warnings


@click.command()
@click.option("--lang", type=click.Choice(["sv", "en"]), default=None)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def checks(lang: str | None, fmt: str) -> None:
    """The catalogue: id, title, requirement, what each check needs."""
    import json

    registry = registry_with_warnings()
    chosen = pick_lang(lang, None)
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
