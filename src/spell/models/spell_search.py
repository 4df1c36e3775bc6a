"""The catalog's full-text index, which lives beside the ORM rather than in it.

Both databases index the same words: id, name and summary lower-cased and split on anything that is
not a letter or a digit (``spell.kit.search_words``), and a query word matches a spell holding it as a
word or as the start of one. ``create_all`` builds the objects through the DDL hooks below; migration
0014 turns the index of migration 0012 into this one.

SQLite keeps each spell's words in ``spells.search_words`` (written by triggers through the
``spell_search_words`` function the engine registers on every connection) and an FTS5 table of the same
words. The column lets a walk down a listing order's index test each spell with ``instr`` (no FTS5
lookup per spell, which costs as much as reading the word's whole match list); the FTS5 table serves
words too rare for a walk to find soon. Its ``ascii`` tokenizer splits only where the stored form has
a space and folds only ASCII capitals, which it never holds, so both ways give the same answer.

PostgreSQL keeps a generated ``tsvector`` of every word and of every start of a word up to
``PREFIX_CHARS`` characters, with a GIN index. A query word is then one exact lexeme, for which the
planner has statistics: it walks the order's index for a common word and reads a rare one's few matches
from the GIN index. For a prefix lexeme (``pdf:*``) its estimate is a constant, so it walked for rare
words too, through half the catalog.
"""

from __future__ import annotations

from sqlalchemy import DDL, event

from spell.models.spell import Spell

__all__ = [
    "LEGACY_POSTGRES_DDL",
    "LEGACY_POSTGRES_DROP",
    "LEGACY_SQLITE_DDL",
    "LEGACY_SQLITE_DROP",
    "POSTGRES_DDL",
    "POSTGRES_DROP",
    "POSTGRES_GIN_DIRECT",
    "PREFIX_CHARS",
    "SQLITE_DDL",
    "SQLITE_DROP",
    "is_search_object",
]

_TABLE = "spells_fts"
_COLUMNS = ("search_vector", "search_words")
_INDEX = "ix_spells_search_vector"
_WORDS_INDEX = "ix_spells_words_"  # SQLite: one per listing order, holding the stored words
# PostgreSQL indexes the starts of a word up to this many characters (and the whole word): a query
# word no longer than this is one exact lexeme. Longer ones add a prefix match to their first
# PREFIX_CHARS characters. The bound keeps a spell's tsvector small whatever its words.
PREFIX_CHARS = 24

# spell_search_words is spell.kit.search_words.indexed (SQL_FUNCTION), registered by the engine
SQLITE_DDL = (
    "ALTER TABLE spells ADD COLUMN search_words TEXT NOT NULL DEFAULT ''",
    "UPDATE spells SET search_words = spell_search_words(id, name, summary)",
    "CREATE VIRTUAL TABLE spells_fts USING fts5(spell_id UNINDEXED, words, tokenize = 'ascii')",
    "INSERT INTO spells_fts (spell_id, words) SELECT id, search_words FROM spells",
    "CREATE TRIGGER spells_fts_insert AFTER INSERT ON spells BEGIN "
    "UPDATE spells SET search_words = spell_search_words(new.id, new.name, new.summary) "
    "WHERE rowid = new.rowid; "
    "INSERT INTO spells_fts (spell_id, words) SELECT id, search_words FROM spells WHERE rowid = new.rowid; "
    "END",
    "CREATE TRIGGER spells_fts_update AFTER UPDATE OF id, name, summary ON spells BEGIN "
    "UPDATE spells SET search_words = spell_search_words(new.id, new.name, new.summary) "
    "WHERE rowid = new.rowid; "
    "DELETE FROM spells_fts WHERE spell_id = old.id; "
    "INSERT INTO spells_fts (spell_id, words) SELECT id, search_words FROM spells WHERE rowid = new.rowid; "
    "END",
    "CREATE TRIGGER spells_fts_delete AFTER DELETE ON spells BEGIN "
    "DELETE FROM spells_fts WHERE spell_id = old.id; END",
    *(
        f"CREATE INDEX ix_spells_words_{column} ON spells ({key}, id, search_words)"
        for column, key in (
            ("updated_at", "updated_at DESC"),
            ("cast_count", "cast_count DESC"),
            ("price_amount", "price_amount"),
        )
    ),
)
SQLITE_DROP = (
    "DROP INDEX IF EXISTS ix_spells_words_updated_at",
    "DROP INDEX IF EXISTS ix_spells_words_cast_count",
    "DROP INDEX IF EXISTS ix_spells_words_price_amount",
    "DROP TRIGGER IF EXISTS spells_fts_insert",
    "DROP TRIGGER IF EXISTS spells_fts_update",
    "DROP TRIGGER IF EXISTS spells_fts_delete",
    "DROP TABLE IF EXISTS spells_fts",
    "ALTER TABLE spells DROP COLUMN search_words",
)

# The words as before (to_tsvector(regconfig, text), lower() and regexp_replace() are immutable, as a
# generated column needs), then each one's starts up to PREFIX_CHARS (24) characters. No '%' and no
# ':' in the text: DDL() formats with '%' and alembic's op.execute() reads ':name' as a parameter.
POSTGRES_DDL = (
    "CREATE FUNCTION spell_search_vector(body text) RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE "
    "AS $$ WITH words AS (SELECT unnest(tsvector_to_array(to_tsvector('simple', "
    "regexp_replace(lower(body), '(\\W|_)+', ' ', 'g')))) AS word) "
    "SELECT array_to_tsvector(ARRAY(SELECT word FROM words UNION "
    "SELECT left(word, n) FROM words, generate_series(1, least(length(word), 24)) AS n)) $$",
    "ALTER TABLE spells ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
    "(spell_search_vector(id || ' ' || name || ' ' || summary)) STORED",
    "CREATE INDEX ix_spells_search_vector ON spells USING gin (search_vector)",
)
POSTGRES_DROP = (
    "DROP INDEX IF EXISTS ix_spells_search_vector",
    "ALTER TABLE spells DROP COLUMN IF EXISTS search_vector",
    "DROP FUNCTION IF EXISTS spell_search_vector(text)",
)
# With GIN's fast update, new entries wait in a pending list that every search reads in full until a
# vacuum merges it: after publishing 100 000 spells a rare word's lookup took 3 ms instead of 0.02 ms.
# Spells are written seldom and searched often, so each write updates the index itself. Run by
# migrations 0013 and 0014 (0013 also merges the list an existing index holds) and by ``create_all``.
POSTGRES_GIN_DIRECT = (f"ALTER INDEX {_INDEX} SET (fastupdate = off)",)

# The index as migration 0012 built it (words only; SQLite's FTS5 table tokenized the raw text with
# unicode61): 0012 runs these, and 0014's downgrade returns to them.
LEGACY_SQLITE_DDL = (
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
LEGACY_SQLITE_DROP = SQLITE_DROP[3:7]
LEGACY_POSTGRES_DDL = (
    "ALTER TABLE spells ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (to_tsvector('simple', "
    "regexp_replace(lower(id || ' ' || name || ' ' || summary), '(\\W|_)+', ' ', 'g'))) STORED",
    "CREATE INDEX ix_spells_search_vector ON spells USING gin (search_vector)",
)
LEGACY_POSTGRES_DROP = POSTGRES_DROP[:2]


def is_search_object(name: str | None, type_: str) -> bool:
    """Whether a reflected table, column or index is part of the full-text index (not an ORM object)."""
    if name is None:
        return False
    if type_ == "table":
        return name == _TABLE or name.startswith(f"{_TABLE}_")
    if type_ == "index":
        return name == _INDEX or name.startswith(_WORDS_INDEX)
    return type_ == "column" and name in _COLUMNS


def _hook(when: str, dialect: str, statements: tuple[str, ...]) -> None:
    for statement in statements:
        ddl = DDL(statement)  # type: ignore[no-untyped-call]
        event.listen(Spell.__table__, when, ddl.execute_if(dialect=dialect))


_hook("after_create", "sqlite", SQLITE_DDL)
_hook("after_create", "postgresql", POSTGRES_DDL + POSTGRES_GIN_DIRECT)
_hook("before_drop", "sqlite", SQLITE_DROP)
_hook("before_drop", "postgresql", POSTGRES_DROP)
