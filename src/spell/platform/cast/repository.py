"""Queries and conditional updates on casts and their events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update

from spell.errors import CastNotFound
from spell.kit.time import utcnow
from spell.models import Cast, CastEvent
from spell.storage.session import UnitOfWork

__all__ = ["CastRepository"]


class CastRepository:
    """All SQL the cast domain runs."""

    def get_for_tenant(self, uow: UnitOfWork, tenant_id: str, cast_id: str) -> Cast:
        """The cast if it belongs to the tenant; another tenant's cast is not found."""
        cast = uow.session.get(Cast, cast_id, populate_existing=True)
        if cast is None or cast.tenant_id != tenant_id:
            raise CastNotFound(f"no cast {cast_id!r}", details={"cast_id": cast_id})
        return cast

    def by_idempotency_key(self, uow: UnitOfWork, tenant_id: str, key: str) -> Cast | None:
        """The cast an idempotency key made in this tenant, if any."""
        return uow.session.scalar(
            select(Cast).where(Cast.tenant_id == tenant_id, Cast.idempotency_key == key)
        )

    def page(
        self,
        uow: UnitOfWork,
        tenant_id: str,
        *,
        status: str | None,
        spell_id: str | None,
        limit: int,
        before_id: str | None,
    ) -> list[Cast]:
        """Newest first; ``before_id`` is the keyset cursor (ids sort by creation time)."""
        query = select(Cast).where(Cast.tenant_id == tenant_id)
        if status:
            query = query.where(Cast.status == status)
        if spell_id:
            query = query.where(Cast.spell_id == spell_id)
        if before_id:
            query = query.where(Cast.id < before_id)
        return list(uow.session.scalars(query.order_by(Cast.id.desc()).limit(limit)))

    def transition(self, uow: UnitOfWork, cast_id: str, *, from_status: str, **values: Any) -> bool:
        """Move a cast out of ``from_status`` exactly once; False when someone else already did."""
        result = uow.session.execute(
            update(Cast).where(Cast.id == cast_id, Cast.status == from_status).values(**values)
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    def claim(self, uow: UnitOfWork, cast_id: str, *, started_at: datetime) -> Cast | None:
        """Move a cast ``queued → running`` and return it in the same statement; None if not queued."""
        statement = (
            update(Cast)
            .where(Cast.id == cast_id, Cast.status == "queued")
            .values(status="running", started_at=started_at)
            .returning(Cast)
        )
        return uow.session.scalars(statement, execution_options={"populate_existing": True}).one_or_none()

    def add_event(
        self, uow: UnitOfWork, cast_id: str, type_: str, data: dict[str, Any], at: datetime | None = None
    ) -> int:
        """Append the next event (``seq`` counts from 1) in one statement; return its ``seq``."""
        next_seq = (
            select(func.coalesce(func.max(CastEvent.seq), 0) + 1)
            .where(CastEvent.cast_id == cast_id)
            .scalar_subquery()
        )
        statement = (
            insert(CastEvent)
            .values(cast_id=cast_id, seq=next_seq, type=type_, data=data, created_at=at or utcnow())
            .returning(CastEvent.seq)
        )
        return int(uow.session.execute(statement).scalar_one())

    def events_after(self, uow: UnitOfWork, cast_id: str, after: int) -> list[CastEvent]:
        """Events with ``seq > after``, in order."""
        query = select(CastEvent).where(CastEvent.cast_id == cast_id, CastEvent.seq > after)
        return list(uow.session.scalars(query.order_by(CastEvent.seq)))
