"""SQL of the audit log: the lanes' ``audit_head`` rows, record inserts and keyset reads.

The head and insert statements are built once: an append costs no statement construction or cache-key
work, and plain statements (not the unit of work) are safe inside a ``before_flush`` hook.

A transaction's records go to one lane, its connection's (``lane_of``): on PostgreSQL each pooled
connection takes the next lane of its engine when it first appends, so concurrent transactions, which
hold different connections, lock different head rows; SQLite's writers are serial, and use lane 0.
"""

from __future__ import annotations

import itertools
import threading
import weakref
from collections.abc import Iterator
from typing import Any, cast

from sqlalchemy import LargeBinary, Table, bindparam, func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from spell.models.audit import AuditHead, AuditRecord
from spell.models.audit_checkpoint import AuditCheckpoint
from spell.platform.audit.chain import GENESIS
from spell.storage.prepared import Prepared

__all__ = ["LANES", "AuditRepository"]

# Lanes a PostgreSQL deployment spreads its appends over: more than an engine's pool holds connections
# (20, and 20 more at peaks: ``storage.engine``), so concurrent appends of one process rarely share one.
# Each lane is verified and folded on its own; changing this later is safe (the lanes in the tables are
# what ``verify`` walks).
LANES = 64

_HEAD = cast(Table, AuditHead.__table__)  # declarative tables are Table objects
_RECORDS = cast(Table, AuditRecord.__table__)
_LANE = bindparam("in_lane", type_=_HEAD.c.lane.type)  # not "lane": a column's own bind name
# ``hash`` is not changed here: RETURNING hands back the hash the new records follow.
_BUMP_HEAD = Prepared(
    update(_HEAD)
    .where(_HEAD.c.lane == _LANE)
    .values(seq=_HEAD.c.seq + bindparam("n", type_=_HEAD.c.seq.type))
    .returning(_HEAD.c.seq, _HEAD.c.hash)
)
_SET_HEAD_HASH = Prepared(update(_HEAD).where(_HEAD.c.lane == _LANE).values(hash=bindparam("head_hash")))
_INSERT_RECORD = Prepared(insert(_RECORDS))
# Prepared (not the ORM's path): this runs in PostgreSQL's pipeline at the commit (``deferred``).
_CREATE_HEAD = {
    name: Prepared(
        module.insert(_HEAD)
        .values(lane=_LANE, seq=0, hash=GENESIS)
        .on_conflict_do_nothing(index_elements=["lane"])
    )
    for name, module in (("postgresql", postgresql), ("sqlite", sqlite))
}
_ONE_STATEMENT_MAX = 4  # a transaction's records written with the head in one statement, up to this many
# PostgreSQL numbers the records itself (``seq`` from the column's sequence): the rest it is given.
_PG_WRITTEN = [column for column in _RECORDS.columns if column.name != "seq"]


def _insert_and_set_head(count: int) -> Prepared:
    """PostgreSQL: ``count`` records and the head's new hash in one statement (one round trip)."""
    rows = [
        {column.name: bindparam(f"r{row}_{column.name}", type_=column.type) for column in _PG_WRITTEN}
        for row in range(count)
    ]
    return Prepared(
        update(_HEAD)
        .where(_HEAD.c.lane == _LANE)
        .values(hash=bindparam("head_hash"))
        .add_cte(insert(_RECORDS).values(rows).cte("record"))
    )


_INSERT_AND_SET_HEAD = {count: _insert_and_set_head(count) for count in range(1, _ONE_STATEMENT_MAX + 1)}

# PostgreSQL chains the records itself (``append_chained``): nothing is read back before the commit.
_PG_BUMP_HEAD = Prepared(
    update(_HEAD)
    .where(_HEAD.c.lane == _LANE)
    .values(seq=_HEAD.c.seq + bindparam("n", type_=_HEAD.c.seq.type))
)
# The head's hash becomes the last record's: NOT NULL, so a record missing would fail the commit.
_PG_SET_HEAD_HASH = Prepared(
    text(
        "UPDATE audit_head SET hash = (SELECT r.hash FROM audit_records AS r "
        "WHERE r.lane = audit_head.lane AND r.lane_seq = audit_head.seq) "
        "WHERE audit_head.lane = :in_lane"
    ).bindparams(_LANE)
)
_CHAINED_COLUMNS = ("id", "at", "action", "actor_id", "tenant_id", "subject", "data", "personal")
_CHAIN_MAX = 8  # records chained by the database in one statement, up to this many per transaction


# ``ORDER BY`` so the records of one transaction take their ``seq`` (the sequence) in chain order.
_CHAIN_SQL = (
    "INSERT INTO audit_records (lane, lane_seq, $columns, prev_hash, hash) "
    "WITH RECURSIVE rec (i, $columns, pre, mid, post) AS (VALUES $rows), "
    "chain (i, seq, prev_hash, hash) AS ("
    "SELECT 0, head.seq - :n, CAST(NULL AS TEXT), CAST(head.hash AS TEXT) "
    "FROM audit_head AS head WHERE head.lane = :in_lane "
    "UNION ALL "
    "SELECT chain.i + 1, chain.seq + 1, chain.hash, 'sha256:' || encode(sha256(rec.pre "
    "|| convert_to(chain.hash, 'UTF8') || rec.mid || convert_to(CAST(chain.seq + 1 AS TEXT), 'UTF8') "
    "|| rec.post), 'hex') FROM chain JOIN rec ON rec.i = chain.i + 1) "
    "SELECT CAST(:in_lane AS INTEGER), chain.seq, $picked, chain.prev_hash, chain.hash "
    "FROM chain JOIN rec ON rec.i = chain.i ORDER BY chain.i"
)


def _insert_chained(count: int) -> Prepared:
    """PostgreSQL: ``count`` records after the lane's head (bumped by ``count`` already in this
    transaction), each hashed by the server from the canonical bytes around its ``prev_hash`` and
    ``seq`` (``chain.hash_parts``): ``sha256(pre || prev_hash || mid || lane_seq || post)``."""
    pg = postgresql.dialect()  # type: ignore[no-untyped-call]
    ddl = {name: _RECORDS.c[name].type.compile(dialect=pg) for name in _CHAINED_COLUMNS}
    binds = []
    rows = []
    for row in range(count):
        cells = [str(row + 1)]
        for name in (*_CHAINED_COLUMNS, "pre", "mid", "post"):
            kind = _RECORDS.c[name].type if name in ddl else LargeBinary()
            binds.append(bindparam(f"r{row}_{name}", type_=kind))
            cells.append(f"CAST(:r{row}_{name} AS {ddl.get(name, 'BYTEA')})")
        rows.append("(" + ", ".join(cells) + ")")
    columns = ", ".join(_CHAINED_COLUMNS)
    picked = ", ".join("rec." + name for name in _CHAINED_COLUMNS)
    # Built from this module's column and bind names only: no value goes into the text.
    sql = _CHAIN_SQL.replace("$columns", columns).replace("$rows", ", ".join(rows)).replace("$picked", picked)
    return Prepared(text(sql).bindparams(*binds, bindparam("n", type_=_HEAD.c.seq.type), _LANE))


_INSERT_CHAINED: dict[int, Prepared] = {}

# The lane a PostgreSQL connection appends to, in the pool entry's ``info`` (it lives as long as the
# DB-API connection): the engine's next one when the connection first appends.
_LANE_KEY = "spell.audit_lane"
_NEXT_LANE: weakref.WeakKeyDictionary[Any, Iterator[int]] = weakref.WeakKeyDictionary()
_NEXT_LANE_LOCK = threading.Lock()

# Each lane's records and checkpoints are read through the index on (lane, lane_seq): one probe per
# lane, however many records there are (PostgreSQL has no skip scan of its own).
_LANES_IN_RECORDS = text(
    "WITH RECURSIVE lanes (lane) AS ("
    "SELECT MIN(lane) FROM audit_records "
    "UNION ALL SELECT (SELECT MIN(r.lane) FROM audit_records AS r WHERE r.lane > lanes.lane) "
    "FROM lanes WHERE lanes.lane IS NOT NULL) "
    "SELECT lane FROM lanes WHERE lane IS NOT NULL"
)


class AuditRepository:
    """Audit rows; every method works in the session it is given."""

    def lane_of(self, session: Session) -> int:
        """The lane this session's transaction appends to: its connection's (see the module)."""
        connection = session.connection()
        if connection.dialect.name != "postgresql":
            return 0
        info = connection.connection.info
        lane = info.get(_LANE_KEY)
        if lane is None:
            with _NEXT_LANE_LOCK:
                counter = _NEXT_LANE.setdefault(connection.engine.pool, itertools.count())
                lane = info[_LANE_KEY] = next(counter) % LANES
        return int(lane)

    def advance_head(self, session: Session, lane: int, count: int) -> tuple[int, str]:
        """Reserve ``count`` numbers of ``lane``: the last one and the hash the first record follows.
        The head row is created on first use, and stays locked until the transaction ends."""
        row = _BUMP_HEAD.run(session, {"n": count, "in_lane": lane}).fetchone()
        if row is None:
            _CREATE_HEAD[session.get_bind().dialect.name].run(session, {"in_lane": lane})
            row = _BUMP_HEAD.run(session, {"n": count, "in_lane": lane}).fetchone()
        return int(row[0]), str(row[1])

    def append(self, session: Session, lane: int, records: list[dict[str, Any]], head_hash: str) -> None:
        """Write chained records (their numbers reserved by ``advance_head``) and point the lane's head
        at the last. On SQLite (lane 0 only) each record's ``seq`` is its ``lane_seq``; PostgreSQL's
        sequence numbers them."""
        postgres = session.get_bind().dialect.name == "postgresql"
        together = _INSERT_AND_SET_HEAD.get(len(records))
        if together is not None and postgres:
            params = {
                f"r{row}_{name}": value
                for row, record in enumerate(records)
                for name, value in record.items()
            }
            together.run(session, {**params, "head_hash": head_hash, "in_lane": lane})
            return
        if not postgres:
            records = [{**record, "seq": record["lane_seq"]} for record in records]
        _INSERT_RECORD.run_many(session, records)
        _SET_HEAD_HASH.run(session, {"head_hash": head_hash, "in_lane": lane})

    def chains_in_database(self, session: Session, count: int) -> bool:
        """Whether ``append_chained`` takes ``count`` records here (PostgreSQL, not too many)."""
        return count <= _CHAIN_MAX and session.get_bind().dialect.name == "postgresql"

    def append_chained(self, session: Session, lane: int, records: list[dict[str, Any]]) -> None:
        """PostgreSQL (``chains_in_database``): append ``records`` (each with ``pre``, ``mid`` and
        ``post`` from ``chain.hash_parts``) to ``lane`` and chain them in the database, reading nothing
        back: inside a pipeline this costs no round trip of its own. The lane's head row is locked from
        its bump to the commit."""
        count = len(records)
        statement = _INSERT_CHAINED.get(count)
        if statement is None:
            statement = _INSERT_CHAINED[count] = _insert_chained(count)  # races only redo this
        params: dict[str, Any] = {"n": count, "in_lane": lane}
        for row, record in enumerate(records):
            for name in (*_CHAINED_COLUMNS, "pre", "mid", "post"):
                params[f"r{row}_{name}"] = record[name]
        _CREATE_HEAD["postgresql"].run(session, {"in_lane": lane})
        _PG_BUMP_HEAD.run(session, {"n": count, "in_lane": lane})
        statement.run(session, params)
        _PG_SET_HEAD_HASH.run(session, {"in_lane": lane})

    def heads(self, session: Session) -> dict[int, tuple[int, str]]:
        """Every lane's head: its last ``lane_seq`` and hash."""
        rows = session.execute(select(_HEAD.c.lane, _HEAD.c.seq, _HEAD.c.hash))
        return {int(lane): (int(seq), str(hash_)) for lane, seq, hash_ in rows}

    def record_lanes(self, session: Session) -> list[int]:
        """The lanes that hold records."""
        return [int(lane) for lane in session.scalars(_LANES_IN_RECORDS)]

    def lanes(self, session: Session) -> list[int]:
        """Every lane that has a head, records or a checkpoint."""
        checkpointed = session.scalars(select(AuditCheckpoint.lane).distinct())
        return sorted({*self.heads(session), *self.record_lanes(session), *checkpointed})

    def latest_checkpoint(self, session: Session, lane: int = 0) -> AuditCheckpoint | None:
        """``lane``'s newest retention checkpoint, which covers every record of it up to ``last_seq``."""
        query = (
            select(AuditCheckpoint)
            .where(AuditCheckpoint.lane == lane)
            .order_by(AuditCheckpoint.number.desc())
            .limit(1)
        )
        return session.scalars(query).first()

    def latest_checkpoints(self, session: Session) -> dict[int, AuditCheckpoint]:
        """Each lane's newest retention checkpoint."""
        newest = (
            select(AuditCheckpoint.lane, func.max(AuditCheckpoint.number).label("number"))
            .group_by(AuditCheckpoint.lane)
            .subquery()
        )
        query = select(AuditCheckpoint).join(
            newest, (AuditCheckpoint.lane == newest.c.lane) & (AuditCheckpoint.number == newest.c.number)
        )
        return {checkpoint.lane: checkpoint for checkpoint in session.scalars(query)}

    def lane_records(
        self, session: Session, lane: int, *, after: int, limit: int, up_to: int | None = None
    ) -> list[AuditRecord]:
        """``lane``'s records in chain order after its number ``after`` (keyset pagination)."""
        query = (
            select(AuditRecord)
            .where(AuditRecord.lane == lane, AuditRecord.lane_seq > after)
            .order_by(AuditRecord.lane_seq)
            .limit(limit)
        )
        if up_to is not None:
            query = query.where(AuditRecord.lane_seq <= up_to)
        return list(session.scalars(query))

    def records(
        self,
        session: Session,
        *,
        after_seq: int,
        limit: int,
        action: str | None = None,
        actor_id: str | None = None,
        tenant_id: str | None = None,
    ) -> list[AuditRecord]:
        """Records of every lane in the order they were appended (``seq``) after ``after_seq``, filtered
        (keyset pagination)."""
        query = select(AuditRecord).where(AuditRecord.seq > after_seq).order_by(AuditRecord.seq).limit(limit)
        if action is not None:
            query = query.where(AuditRecord.action == action)
        if actor_id is not None:
            query = query.where(AuditRecord.actor_id == actor_id)
        if tenant_id is not None:
            query = query.where(AuditRecord.tenant_id == tenant_id)
        return list(session.scalars(query))
