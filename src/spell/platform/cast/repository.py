"""Queries and conditional updates on casts and their events."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select, update

from spell.errors import CastNotFound
from spell.kit.time import utcnow
from spell.models import Cast, CastEvent
from spell.storage.session import UnitOfWork

__all__ = ["CastRepository"]

_EVENTS = cast(Table, CastEvent.__table__)  # declarative tables are Table objects
_CASTS = cast(Table, Cast.__table__)
# Built once (three events per cast): no statement construction or cache-key work per call.
_ADD_EVENT = (
    insert(_EVENTS)
    .values(
        cast_id=bindparam("cid", type_=_EVENTS.c.cast_id.type),
        seq=select(func.coalesce(func.max(_EVENTS.c.seq), 0) + 1)
        .where(_EVENTS.c.cast_id == bindparam("cid"))
        .scalar_subquery(),
        type=bindparam("etype", type_=_EVENTS.c.type.type),
        data=bindparam("edata", type_=_EVENTS.c.data.type),
        created_at=bindparam("eat", type_=_EVENTS.c.created_at.type),
    )
    .returning(_EVENTS.c.seq)
)


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

    def move(self, uow: UnitOfWork, cast_id: str, *, from_status: str, **values: Any) -> bool:
        """``transition`` for callers that hold no ``Cast`` of this session: a plain UPDATE, without the
        ORM's bookkeeping of loaded objects (the cast worker's terminal write)."""
        statement = update(_CASTS).where(_CASTS.c.id == cast_id, _CASTS.c.status == from_status)
        result = uow.session.execute(statement.values(**values))
        return bool(getattr(result, "rowcount", 0) == 1)

    def claim(self, uow: UnitOfWork, cast_id: str, *, started_at: datetime) -> Cast | None:
        """Move a cast ``queued → running`` and return it in the same statement; None if not queued.

        The returned ``Cast`` is not attached to the session (a plain UPDATE … RETURNING, no ORM
        bookkeeping): read its fields, do not expect changes to it to be saved.
        """
        statement = (
            update(_CASTS)
            .where(_CASTS.c.id == cast_id, _CASTS.c.status == "queued")
            .values(status="running", started_at=started_at)
            .returning(*_CASTS.c)
        )
        row = uow.session.execute(statement).first()
        return None if row is None else Cast(**row._asdict())

    def add_event(
        self, uow: UnitOfWork, cast_id: str, type_: str, data: dict[str, Any], at: datetime | None = None
    ) -> int:
        """Append the next event (``seq`` counts from 1) in one statement; return its ``seq``."""
        params = {"cid": cast_id, "etype": type_, "edata": data, "eat": at or utcnow()}
        return int(uow.session.execute(_ADD_EVENT, params).scalar_one())

    def events_after(self, uow: UnitOfWork, cast_id: str, after: int) -> list[CastEvent]:
        """Events with ``seq > after``, in order."""
        query = select(CastEvent).where(CastEvent.cast_id == cast_id, CastEvent.seq > after)
        return list(uow.session.scalars(query.order_by(CastEvent.seq)))
