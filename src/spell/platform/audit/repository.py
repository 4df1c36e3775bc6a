"""SQL of the audit log: the one ``audit_head`` row, record inserts and keyset reads.

The head and insert statements are built once: an append costs no statement construction or cache-key
work, and plain statements (not the unit of work) are safe inside a ``before_flush`` hook.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from spell.models.audit import AuditHead, AuditRecord
from spell.models.audit_checkpoint import AuditCheckpoint
from spell.platform.audit.chain import GENESIS
from spell.platform.ledger.repository import insert_ignore
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
# PostgreSQL writes a record and moves the head's hash in one statement (one round trip).
_INSERT_AND_SET_HEAD = Prepared(
    update(_HEAD)
    .where(_HEAD.c.id == 1)
    .values(hash=bindparam("head_hash"))
    .add_cte(
        insert(_RECORDS)
        .values(
            {column.name: bindparam(f"r_{column.name}", type_=column.type) for column in _RECORDS.columns}
        )
        .cte("record")
    )
)


class AuditRepository:
    """Audit rows; every method works in the session it is given."""

    def advance_head(self, session: Session, count: int) -> tuple[int, str]:
        """Reserve ``count`` seqs: the last one and the hash the first record follows. The head row is
        created on first use, and stays locked until the transaction ends."""
        row = _BUMP_HEAD.run(session, {"n": count}).fetchone()
        if row is None:
            insert_ignore(session, _HEAD, {"id": 1, "seq": 0, "hash": GENESIS}, ["id"])
            row = _BUMP_HEAD.run(session, {"n": count}).fetchone()
        return int(row[0]), str(row[1])

    def append(self, session: Session, records: list[dict[str, Any]], head_hash: str) -> None:
        """Write chained records (their seqs reserved by ``advance_head``) and point the head at the last."""
        if len(records) == 1 and session.get_bind().dialect.name == "postgresql":
            params = {f"r_{name}": value for name, value in records[0].items()}
            _INSERT_AND_SET_HEAD.run(session, {**params, "head_hash": head_hash})
            return
        _INSERT_RECORD.run_many(session, records)
        _SET_HEAD_HASH.run(session, {"head_hash": head_hash})

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
