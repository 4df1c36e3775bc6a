"""``spell db current``: the revision the database is at, and the newest one."""

from __future__ import annotations

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="current")
@json_option
def command(as_json: bool) -> None:
    """Show the revision of the database named by SPELL_DATABASE_URL and whether it is the newest.

    A database no migration has touched shows "none"; one migrated by a newer Spell shows a
    revision this Spell does not know.

    \b
    Example:
      spell db current --json
    """
    from spell.cli.commands.db._database import revisions
    from spell.config.server import ServerSettings

    state = revisions(ServerSettings.from_env().database_url)
    current = state["current"] or "none"
    if state["is_current"]:
        note = "up to date"
    elif not state["is_known"]:
        note = "unknown to this Spell (migrated by a newer one?)"
    else:
        note = f"behind: run `spell db upgrade` to reach {state['head']}"
    emit(state, as_json=as_json, human=f"database {state['database']} is at {current} ({note})")
