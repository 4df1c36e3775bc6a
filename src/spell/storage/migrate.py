"""Run the one Alembic tree programmatically (``spell db upgrade``, start-up of ``spell serve``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

__all__ = ["alembic_config", "current_revision", "require_current", "upgrade"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at our migrations folder and ``url``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["configure_logger"] = False
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` up to ``revision``."""
    command.upgrade(alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    """The revision the database at ``url`` is at; None before the first migration."""
    from alembic.runtime.migration import MigrationContext

    from spell.storage.engine import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def require_current(url: str) -> None:
    """Raise ``VALIDATION_ERROR`` unless the database at ``url`` is at the newest revision."""
    from alembic.script import ScriptDirectory

    from spell.errors import InvalidInput

    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    current = current_revision(url)
    if current != head:
        raise InvalidInput(
            f"the database is at revision {current or 'none'}, the server needs {head}",
            details={"current": current, "head": head},
            hint="run `spell db upgrade` with the same SPELL_DATABASE_URL",
        )
