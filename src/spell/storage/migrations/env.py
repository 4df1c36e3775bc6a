"""Alembic environment: one tree for SQLite (batch mode) and PostgreSQL."""

from __future__ import annotations

from alembic import context

from spell.models import Base
from spell.storage.engine import make_engine

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Run migrations on a live connection."""
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None  # noqa: S101 - set by spell.storage.migrate
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
