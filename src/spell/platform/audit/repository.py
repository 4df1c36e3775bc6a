"""SQL of the audit log: the one ``audit_head`` row, record inserts and keyset reads.

The head and insert statements are built once: an append costs no statement construction or cache-key
work, and plain statements (not the unit of work) are safe inside a ``before_flush`` hook.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from spell.models.audit import AuditHead, AuditRecord
from spell.platform.audit.chain import GENESIS
from spell.platform.ledger.repository import insert_ignore
from spell.storage.prepared import Prepared

__all__ = ["AuditRepository"]

_HEAD = cast(Table, AuditHead.__table__)  # declarative tables are Table objects
_RECORDS = cast(Table, AuditRecord.__table__)
_BUMP_HEAD = Prepared(
    update(_HEAD).where(_HEAD.c.id == 1).values(seq=_HEAD.c.seq + 1).returning(_HEAD.c.seq, _HEAD.c.hash)
)
_SET_HEAD = Prepared(
    update(_HEAD).where(_HEAD.c.id == 1).values(seq=bindparam("seq"), hash=bindparam("hash"))
)
_INSERT_RECORD = Prepared(insert(_RECORDS))


class AuditRepository:
    """Audit rows; every method works in the session it is given."""

    def advance_head(self, session: Session) -> tuple[int, str]:
        """Take the next ``seq`` and the previous hash; the head row is created on first use."""
        row = _BUMP_HEAD.run(session).fetchone()
        if row is None:
            insert_ignore(session, _HEAD, {"id": 1, "seq": 0, "hash": GENESIS}, ["id"])
            row = _BUMP_HEAD.run(session).fetchone()
        return int(row[0]), str(row[1])

    def set_head(self, session: Session, seq: int, hash_: str) -> None:
        """Point the head at the last record of the chain."""
        _SET_HEAD.run(session, {"seq": seq, "hash": hash_})

    def head(self, session: Session) -> tuple[int, str]:
        """The head's ``seq`` and hash (``0`` and the genesis hash before the first record)."""
        head = session.get(AuditHead, 1)
        return (head.seq, head.hash) if head else (0, GENESIS)

    def insert(self, session: Session, fields: Mapping[str, Any]) -> None:
        """Write one record."""
        _INSERT_RECORD.run(session, dict(fields))

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
        """Records in chain order after ``after_seq``, filtered (keyset pagination)."""
        query = select(AuditRecord).where(AuditRecord.seq > after_seq).order_by(AuditRecord.seq).limit(limit)
        if action is not None:
            query = query.where(AuditRecord.action == action)
        if actor_id is not None:
            query = query.where(AuditRecord.actor_id == actor_id)
        if tenant_id is not None:
            query = query.where(AuditRecord.tenant_id == tenant_id)
        return list(session.scalars(query))
