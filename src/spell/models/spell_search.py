"""The catalog's full-text index, which lives beside the ORM rather than in it.

SQLite keeps an FTS5 table (``spells_fts``) fed by triggers on ``spells``; PostgreSQL keeps a generated
``tsvector`` column with a GIN index. Both index the same words: id, name and summary lower-cased and
split on anything that is not a letter or a digit, so a query matches the same rows on either database.
``create_all`` builds them through the DDL hooks below and migration 0012 runs the same statements.
"""

from __future__ import annotations

from sqlalchemy import DDL, event

from spell.models.spell import Spell

__all__ = [
    "POSTGRES_DDL",
    "POSTGRES_DROP",
    "POSTGRES_GIN_DIRECT",
    "SQLITE_DDL",
    "SQLITE_DROP",
    "is_search_object",
]

_TABLE = "spells_fts"
_COLUMN = "search_vector"
_INDEX = "ix_spells_search_vector"

SQLITE_DDL = (
    "CREATE VIRTUAL TABLE spells_fts USING fts5(spell_id UNINDEXED, body, tokenize = 'unicode61')",
    "INSERT INTO spells_fts (spell_id, body) SELECT id, id || ' ' || name || ' ' || summary FROM spells",
    "CREATE TRIGGER spells_fts_insert AFTER INSERT ON spells BEGIN "
    "INSERT INTO spells_fts (spell_id, body) "
    "VALUES (new.id, new.id || ' ' || new.name || ' ' || new.summary); END",
    "CREATE TRIGGER spells_fts_update AFTER UPDATE OF id, name, summary ON spells BEGIN "
    "DELETE FROM spells_fts WHERE spell_id = old.id; "
    "INSERT INTO spells_fts (spell_id, body) "
    "VALUES (new.id, new.id || ' ' || new.name || ' ' || new.summary); END",
    "CREATE TRIGGER spells_fts_delete AFTER DELETE ON spells BEGIN "
    "DELETE FROM spells_fts WHERE spell_id = old.id; END",
)
SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS spells_fts_insert",
    "DROP TRIGGER IF EXISTS spells_fts_update",
    "DROP TRIGGER IF EXISTS spells_fts_delete",
    "DROP TABLE IF EXISTS spells_fts",
)

# to_tsvector(regconfig, text), lower() and regexp_replace() are immutable, as a generated column needs.
POSTGRES_DDL = (
    f"ALTER TABLE spells ADD COLUMN {_COLUMN} tsvector GENERATED ALWAYS AS (to_tsvector('simple', "
    "regexp_replace(lower(id || ' ' || name || ' ' || summary), '(\\W|_)+', ' ', 'g'))) STORED",
    f"CREATE INDEX {_INDEX} ON spells USING gin ({_COLUMN})",
)
POSTGRES_DROP = (f"DROP INDEX IF EXISTS {_INDEX}", f"ALTER TABLE spells DROP COLUMN IF EXISTS {_COLUMN}")
# With GIN's fast update, new entries wait in a pending list that every search reads in full until a
# vacuum merges it: after publishing 100 000 spells a rare word's lookup took 3 ms instead of 0.02 ms.
# Spells are written seldom and searched often, so each write updates the index itself. Run by
# migration 0013 (which also merges the list an existing index holds) and by ``create_all``.
POSTGRES_GIN_DIRECT = (f"ALTER INDEX {_INDEX} SET (fastupdate = off)",)


def is_search_object(name: str | None, type_: str) -> bool:
    """Whether a reflected table, column or index is part of the full-text index (not an ORM object)."""
    if name is None:
        return False
    if type_ == "table":
        return name == _TABLE or name.startswith(f"{_TABLE}_")
    return (type_ == "column" and name == _COLUMN) or (type_ == "index" and name == _INDEX)


def _hook(when: str, dialect: str, statements: tuple[str, ...]) -> None:
    for statement in statements:
        ddl = DDL(statement)  # type: ignore[no-untyped-call]
        event.listen(Spell.__table__, when, ddl.execute_if(dialect=dialect))


_hook("after_create", "sqlite", SQLITE_DDL)
_hook("after_create", "postgresql", POSTGRES_DDL + POSTGRES_GIN_DIRECT)
_hook("before_drop", "sqlite", SQLITE_DROP)
_hook("before_drop", "postgresql", POSTGRES_DROP)
