"""``spell db``: database migrations (one verb per module)."""

from __future__ import annotations

import click

from spell.cli.lazy import LazyGroup

__all__ = ["group"]

VERBS: dict[str, tuple[str, str]] = {
    "upgrade": ("spell.cli.commands.db.upgrade:command", "Apply migrations up to the newest revision."),
    "current": ("spell.cli.commands.db.current:command", "Show the database's revision and the newest."),
    "history": ("spell.cli.commands.db.history:command", "List the migrations, newest first."),
}


@click.group(name="db", cls=LazyGroup, lazy=VERBS)
def group() -> None:
    """Manage the platform database (SQLite by default, SPELL_DATABASE_URL for PostgreSQL).

    \b
    Examples:
      spell db upgrade
      spell db current
      SPELL_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/spell spell db upgrade
    """
