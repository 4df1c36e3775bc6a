"""``spell db history``: the migrations this Spell has, newest first."""

from __future__ import annotations

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="history")
@json_option
def command(as_json: bool) -> None:
    """List the migrations newest first: revision, the one before it, what it does, and marks for
    the database's current revision and the head.

    \b
    Example:
      spell db history --json | jq '.[0].revision'
    """
    from spell.cli.commands.db._database import history
    from spell.cli.console import table
    from spell.config.server import ServerSettings

    rows = history(ServerSettings.from_env().database_url)
    marks = [("current " if r["is_current"] else "") + ("head" if r["is_head"] else "") for r in rows]
    cells = [
        (r["revision"], r["down_revision"], mark.strip(), r["message"])
        for r, mark in zip(rows, marks, strict=True)
    ]
    emit(rows, as_json=as_json, human=table(("revision", "down", "", "message"), cells))
