"""``spell advisories list``: the advisories held in the platform database."""

from __future__ import annotations

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="list")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@json_option
def command(limit: int, as_json: bool) -> None:
    """Show the advisories held, most recently imported first.

    \b
    Example:
      spell advisories list --limit 20
    """
    from spell.cli.commands.admin._platform import open_platform
    from spell.cli.console import table
    from spell.platform.supply.schemas import AdvisoryOut

    with open_platform() as platform, platform.db.unit_of_work(write=False) as uow:
        items = [AdvisoryOut.from_row(row).model_dump() for row in platform.advisories.held(uow, limit=limit)]
    rows = [
        (a["id"], a["severity"], a["score"], "yes" if a["withdrawn_at"] else "", a["summary"]) for a in items
    ]
    human = table(("ID", "SEVERITY", "SCORE", "WITHDRAWN", "SUMMARY"), rows) if rows else "no advisories"
    emit({"items": items}, as_json=as_json, human=human)
