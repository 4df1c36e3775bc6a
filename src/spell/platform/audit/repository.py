"""SQL of the audit log: the one ``audit_head`` row, record inserts and keyset reads.

The head and insert statements are built once: an append costs no statement construction or cache-key
work, and plain statements (not the unit of work) are safe inside a ``before_flush`` hook.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import LargeBinary, Table, bindparam, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from spell.models.audit import AuditHead, AuditRecord
from spell.models.audit_checkpoint import AuditCheckpoint
from spell.platform.audit.chain import GENESIS
from spell.storage.prepared import Prepared

__all__ = ["AuditRepository"]

_HEAD = cast(Table, AuditHead.__table__)  # declarative tables are Table objects
_RECORDS = cast(Table, AuditRecord.__table__)
# ``hash`` is not changed here: RETURNING hands back the hash the new records follow.
_BUMP_HEAD = Prepared(
    update(_HEAD)
    .where(_HEAD.c.id == 1)
    .values(seq=_HEAD.c.seq + bindparam("n", type_=_HEAD.c.seq.type))
    .returning(_HEAD.c.seq, _HEAD.c.hash)
)
_SET_HEAD_HASH = Prepared(update(_HEAD).where(_HEAD.c.id == 1).values(hash=bindparam("head_hash")))
_INSERT_RECORD = Prepared(insert(_RECORDS))
# Prepared (not the ORM's path): this runs in PostgreSQL's pipeline at the commit (``deferred``).
_CREATE_HEAD = {
    name: Prepared(
        module.insert(_HEAD).values(id=1, seq=0, hash=GENESIS).on_conflict_do_nothing(index_elements=["id"])
    )
    for name, module in (("postgresql", postgresql), ("sqlite", sqlite))
}
_ONE_STATEMENT_MAX = 4  # a transaction's records written with the head in one statement, up to this many


def _insert_and_set_head(count: int) -> Prepared:
    """PostgreSQL: ``count`` records and the head's new hash in one statement (one round trip)."""
    rows = [
        {column.name: bindparam(f"r{row}_{column.name}", type_=column.type) for column in _RECORDS.columns}
        for row in range(count)
    ]
    return Prepared(
        update(_HEAD)
        .where(_HEAD.c.id == 1)
        .values(hash=bindparam("head_hash"))
        .add_cte(insert(_RECORDS).values(rows).cte("record"))
    )


_INSERT_AND_SET_HEAD = {count: _insert_and_set_head(count) for count in range(1, _ONE_STATEMENT_MAX + 1)}

# PostgreSQL chains the records itself (``append_chained``): nothing is read back before the commit.
_PG_BUMP_HEAD = Prepared(
    update(_HEAD).where(_HEAD.c.id == 1).values(seq=_HEAD.c.seq + bindparam("n", type_=_HEAD.c.seq.type))
)
# The head's hash becomes the last record's: NOT NULL, so a record missing would fail the commit.
_PG_SET_HEAD_HASH = Prepared(
    text(
        "UPDATE audit_head SET hash = (SELECT r.hash FROM audit_records AS r WHERE r.seq = audit_head.seq) "
        "WHERE audit_head.id = 1"
    )
)
_CHAINED_COLUMNS = ("id", "at", "action", "actor_id", "tenant_id", "subject", "data", "personal")
_CHAIN_MAX = 8  # records chained by the database in one statement, up to this many per transaction


_CHAIN_SQL = (
    "INSERT INTO audit_records (seq, $columns, prev_hash, hash) "
    "WITH RECURSIVE rec (i, $columns, pre, mid, post) AS (VALUES $rows), "
    "chain (i, seq, prev_hash, hash) AS ("
    "SELECT 0, head.seq - :n, CAST(NULL AS TEXT), CAST(head.hash AS TEXT) "
    "FROM audit_head AS head WHERE head.id = 1 "
    "UNION ALL "
    "SELECT chain.i + 1, chain.seq + 1, chain.hash, 'sha256:' || encode(sha256(rec.pre "
    "|| convert_to(chain.hash, 'UTF8') || rec.mid || convert_to(CAST(chain.seq + 1 AS TEXT), 'UTF8') "
    "|| rec.post), 'hex') FROM chain JOIN rec ON rec.i = chain.i + 1) "
    "SELECT chain.seq, $picked, chain.prev_hash, chain.hash FROM chain JOIN rec ON rec.i = chain.i"
)


def _insert_chained(count: int) -> Prepared:
    """PostgreSQL: ``count`` records after the head (bumped by ``count`` already in this transaction),
    each hashed by the server from the canonical bytes around its ``prev_hash`` and ``seq``
    (``chain.hash_parts``): ``sha256(pre || prev_hash || mid || seq || post)``."""
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
    return Prepared(text(sql).bindparams(*binds, bindparam("n", type_=_HEAD.c.seq.type)))


_INSERT_CHAINED: dict[int, Prepared] = {}


class AuditRepository:
    """Audit rows; every method works in the session it is given."""

    def advance_head(self, session: Session, count: int) -> tuple[int, str]:
        """Reserve ``count`` seqs: the last one and the hash the first record follows. The head row is
        created on first use, and stays locked until the transaction ends."""
        row = _BUMP_HEAD.run(session, {"n": count}).fetchone()
        if row is None:
            _CREATE_HEAD[session.get_bind().dialect.name].run(session, {})
            row = _BUMP_HEAD.run(session, {"n": count}).fetchone()
        return int(row[0]), str(row[1])

    def append(self, session: Session, records: list[dict[str, Any]], head_hash: str) -> None:
        """Write chained records (their seqs reserved by ``advance_head``) and point the head at the last."""
        together = _INSERT_AND_SET_HEAD.get(len(records))
        if together is not None and session.get_bind().dialect.name == "postgresql":
            params = {
                f"r{row}_{name}": value
                for row, record in enumerate(records)
                for name, value in record.items()
            }
            together.run(session, {**params, "head_hash": head_hash})
            return
        _INSERT_RECORD.run_many(session, records)
        _SET_HEAD_HASH.run(session, {"head_hash": head_hash})

    def chains_in_database(self, session: Session, count: int) -> bool:
        """Whether ``append_chained`` takes ``count`` records here (PostgreSQL, not too many)."""
        return count <= _CHAIN_MAX and session.get_bind().dialect.name == "postgresql"

    def append_chained(self, session: Session, records: list[dict[str, Any]]) -> None:
        """PostgreSQL (``chains_in_database``): append ``records`` (each with ``pre``, ``mid`` and
        ``post`` from ``chain.hash_parts``) and chain them in the database, reading nothing back:
        inside a pipeline this costs no round trip of its own. The head row is locked from its bump to
        the commit."""
        count = len(records)
        statement = _INSERT_CHAINED.get(count)
        if statement is None:
            statement = _INSERT_CHAINED[count] = _insert_chained(count)  # races only redo this
        params: dict[str, Any] = {"n": count}
        for row, record in enumerate(records):
            for name in (*_CHAINED_COLUMNS, "pre", "mid", "post"):
                params[f"r{row}_{name}"] = record[name]
        _CREATE_HEAD["postgresql"].run(session, {})
        _PG_BUMP_HEAD.run(session, {"n": count})
        statement.run(session, params)
        _PG_SET_HEAD_HASH.run(session, {})

    def head(self, session: Session) -> tuple[int, str]:
        """The head's ``seq`` and hash (``0`` and the genesis hash before the first record)."""
        head = session.get(AuditHead, 1)
        return (head.seq, head.hash) if head else (0, GENESIS)

    def latest_checkpoint(self, session: Session) -> AuditCheckpoint | None:
        """The newest retention checkpoint, which covers every record up to its ``last_seq``."""
        query = select(AuditCheckpoint).order_by(AuditCheckpoint.number.desc()).limit(1)
        return session.scalars(query).first()

    def records(
        self,
        session: Session,
        *,
        after_seq: int,
        limit: int,
        up_to_seq: int | None = None,
        action: str | None = None,
        actor_id: str | None = None,
        tenant_id: str | None = None,
    ) -> list[AuditRecord]:
        """Records in chain order after ``after_seq``, filtered (keyset pagination)."""
        query = select(AuditRecord).where(AuditRecord.seq > after_seq).order_by(AuditRecord.seq).limit(limit)
        if up_to_seq is not None:
            query = query.where(AuditRecord.seq <= up_to_seq)
        if action is not None:
            query = query.where(AuditRecord.action == action)
        if actor_id is not None:
            query = query.where(AuditRecord.actor_id == actor_id)
        if tenant_id is not None:
            query = query.where(AuditRecord.tenant_id == tenant_id)
        return list(session.scalars(query))
