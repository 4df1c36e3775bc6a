"""A spell's cast counter without a hot row.

Every cast adds one to its spell's ``cast_count``. As an ``UPDATE`` of the spell's row, concurrent casts
of one spell queue on that row's lock from their update to their commit (on PostgreSQL, 70 % of the
busy time at 8 concurrent casts waited on such locks). On PostgreSQL a cast instead adds to one of
``SHARDS`` rows of ``spell_cast_counts``, chosen by its server process (``pg_backend_pid()``): two casts
meet on a row only when their connections' process ids fall on the same shard, and a pool's
connections, opened together, mostly have consecutive ids. The sweep (``fold``) moves those rows into
``spells.cast_count`` in one transaction: it deletes them and adds their sums, so a count is either
still pending or folded, never both and never neither, whatever crashes when.

SQLite keeps the direct ``UPDATE``: its writers run one at a time anyway, so a shard would only add
rows to read back.

Readers that must be exact (a spell's detail) read ``cast_count`` plus its pending rows in one
statement (one snapshot); the catalog's ``popular`` order and the counts it lists lag by up to one
sweep (``SPELL_SERVER_SWEEP_SECONDS``).
"""

from __future__ import annotations

from collections import Counter
from typing import cast

from sqlalchemy import Table, bindparam, func, select, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from spell.models import Spell, SpellCastCount
from spell.storage.prepared import Prepared

__all__ = ["FOLD_BATCH", "SHARDS", "add", "exact", "fold"]

# More shards than a node's connections, so that a pool's (consecutive) process ids rarely share one; a
# read of the pending count scans at most this many rows of one spell.
SHARDS = 64
# Rows folded per statement: the fold's transaction, and the locks it holds, stay short.
FOLD_BATCH = 5000

_SPELLS = cast(Table, Spell.__table__)  # declarative tables are Table objects
_PENDING = cast(Table, SpellCastCount.__table__)

# A plain table UPDATE: an ORM one would also bump ``cast_count`` on a cached, shared Spell row.
_BUMP = Prepared(
    update(_SPELLS)
    .where(_SPELLS.c.id == bindparam("sid"))
    .values(cast_count=_SPELLS.c.cast_count + bindparam("add", type_=_SPELLS.c.cast_count.type))
)
_upsert = postgresql.insert(_PENDING).values(
    spell_id=bindparam("sid", type_=_PENDING.c.spell_id.type),
    shard=func.pg_backend_pid() % SHARDS,
    n=bindparam("add", type_=_PENDING.c.n.type),
)
_ADD_PENDING = Prepared(
    _upsert.on_conflict_do_update(
        index_elements=[_PENDING.c.spell_id, _PENDING.c.shard],
        set_={"n": _PENDING.c.n + _upsert.excluded.n},
    )
)
_pending = (
    select(func.coalesce(func.sum(_PENDING.c.n), 0))
    .where(_PENDING.c.spell_id == _SPELLS.c.id)
    .scalar_subquery()
)
_EXACT = Prepared(select(_SPELLS.c.cast_count + _pending).where(_SPELLS.c.id == bindparam("sid")))

# One folder at a time (per database): two could otherwise lock the same spells' rows in different
# orders. Taken before any row lock, so the wait for it cannot be part of a deadlock.
_FOLD_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('spell_cast_counts'))")
# SKIP LOCKED: a row a cast is adding to (until its commit) stays for the next fold, which therefore
# never waits for a cast; a cast that finds its row deleted by a fold waits for the fold's commit and
# inserts a new one.
_FOLD = text(
    """
    WITH taken AS (
        DELETE FROM spell_cast_counts
        WHERE (spell_id, shard) IN (
            SELECT spell_id, shard FROM spell_cast_counts LIMIT :batch FOR UPDATE SKIP LOCKED
        )
        RETURNING spell_id, n
    ), sums AS (
        SELECT spell_id, SUM(n) AS n FROM taken GROUP BY spell_id
    ), added AS (
        UPDATE spells SET cast_count = spells.cast_count + sums.n
        FROM sums WHERE spells.id = sums.spell_id
        RETURNING 1
    )
    SELECT (SELECT COUNT(*) FROM taken), (SELECT COUNT(*) FROM added)
    """
)


def add(session: Session, spell_ids: list[str]) -> None:
    """One more cast of each spell named (once per time named), in ``session``'s transaction.

    Run at the commit (``storage.deferred``): a shard's row is then locked only for the commit.
    """
    statement = _ADD_PENDING if session.get_bind().dialect.name == "postgresql" else _BUMP
    for spell_id, count in sorted(Counter(spell_ids).items()):  # sorted: one lock order
        statement.run(session, {"sid": spell_id, "add": count})


def exact(session: Session, spell_id: str) -> int:
    """The spell's casts, those not yet folded included (0 for an unknown spell)."""
    row = _EXACT.run(session, {"sid": spell_id}).fetchone()
    return int(row[0]) if row is not None else 0


def fold(session: Session) -> int:
    """Move pending counts into ``spells.cast_count``, in ``session``'s transaction, which the caller
    commits; the number of pending rows moved. Nothing to do on SQLite."""
    if session.get_bind().dialect.name != "postgresql":
        return 0
    session.execute(_FOLD_LOCK)
    row = session.execute(_FOLD, {"batch": FOLD_BATCH}).one()
    return int(row[0])
