"""``spell db upgrade``: apply the Alembic migrations."""

from __future__ import annotations

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@json_option
def command(revision: str, as_json: bool) -> None:
    """Bring the database named by SPELL_DATABASE_URL (default: $SPELL_HOME/platform.db) up to date.

    \b
    Example:
      spell db upgrade --json
    """
    from spell.cli.commands.db._database import connect_check, database_errors, shown_url
    from spell.config.server import ServerSettings
    from spell.storage.migrate import upgrade

    settings = ServerSettings.from_env()
    connect_check(settings.database_url)
    with database_errors(settings.database_url):
        upgrade(settings.database_url, revision)
    safe_url = shown_url(settings.database_url)
    emit(
        {"ok": True, "database": safe_url, "revision": revision},
        as_json=as_json,
        human=f"database {safe_url} is at {revision}",
    )
