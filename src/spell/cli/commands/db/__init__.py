"""``spell db``: database migrations (one verb per module)."""

from __future__ import annotations

from spell.cli.lazy import verb_group

__all__ = ["group"]

group = verb_group(
    "db",
    __name__,
    {
        "upgrade": "Apply migrations up to the newest revision.",
        "current": "Show the database's revision and the newest.",
        "history": "List the migrations, newest first.",
    },
    help_text="""Manage the platform database (SQLite by default, SPELL_DATABASE_URL for PostgreSQL).

\b
Examples:
  spell db upgrade
  spell db current
  SPELL_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/spell spell db upgrade
""",
)
