"""Queries and conditional updates on casts and their events."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, UniqueConstraint, bindparam, func, insert, select, union_all, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import configure_mappers

from spell.errors import CastNotFound
from spell.kit.clock import Clock, SystemClock
from spell.models import Cast, CastEvent, CastStatus, SpellVersion
from spell.platform.spell import counts
from spell.storage import deferred
from spell.storage.prepared import Prepared
from spell.storage.session import UnitOfWork

__all__ = ["CastRepository", "key_taken"]

_EVENTS = cast(Table, CastEvent.__table__)  # declarative tables are Table objects
_CASTS = cast(Table, Cast.__table__)
_COUNTS = "cast_count"
# Every cast of a spell adds to its count: at the commit, so concurrent casts wait on the row it adds to
# only that long (``spell.counts``: on PostgreSQL, one of several rows per spell).
deferred.register(_COUNTS, counts.add, order=100)
# Built once (three events per cast): no statement construction or cache-key work per call.
_ADD_EVENT = Prepared(
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
_INSERT_EVENT = Prepared(insert(_EVENTS))
_INSERT_CAST = Prepared(insert(_CASTS))
# PostgreSQL, by cast columns, event count and whether a taken key is an error
_CREATES: dict[tuple[tuple[str, ...], int, bool], Prepared] = {}
# The unique constraint on a tenant's idempotency keys, by the name PostgreSQL reports it with.
_KEY_CONSTRAINT = next(
    str(constraint.name)
    for constraint in _CASTS.constraints
    if isinstance(constraint, UniqueConstraint)
    and [column.name for column in constraint.columns] == ["tenant_id", "idempotency_key"]
)


def key_taken(error: BaseException) -> bool:
    """Whether ``error`` is PostgreSQL refusing a cast whose tenant's idempotency key is taken (the
    ``key_at_commit`` create): the request is then a replay of the cast that holds it."""
    if not isinstance(error, IntegrityError):
        return False
    diag = getattr(error.orig, "diag", None)
    return getattr(diag, "constraint_name", None) == _KEY_CONSTRAINT


def _create_statement(columns: tuple[str, ...], events: int, strict: bool) -> Prepared:
    """PostgreSQL: a new cast and its first ``events`` events in one statement (one round trip). When
    the tenant's idempotency key is taken (a concurrent holder of the key is waited for): no row back,
    or with ``strict`` the statement fails (``key_taken``)."""
    insert_cast = postgresql.insert(_CASTS).values(
        {name: bindparam(name, type_=_CASTS.c[name].type) for name in columns}
    )
    if not strict:
        insert_cast = insert_cast.on_conflict_do_nothing(
            index_elements=[_CASTS.c.tenant_id, _CASTS.c.idempotency_key]
        )
    made = insert_cast.returning(_CASTS.c.id).cte("made")
    rows = [
        select(
            made.c.id,
            bindparam(f"seq{seq}", type_=_EVENTS.c.seq.type),
            bindparam(f"type{seq}", type_=_EVENTS.c.type.type),
            bindparam(f"data{seq}", type_=_EVENTS.c.data.type),
            bindparam("at", type_=_EVENTS.c.created_at.type),
        )
        for seq in range(1, events + 1)
    ]
    fields = ["cast_id", "seq", "type", "data", "created_at"]
    statement = insert(_EVENTS).from_select(fields, union_all(*rows) if events > 1 else rows[0])
    return Prepared(statement.returning(_EVENTS.c.seq))


_BY_KEY = Prepared(
    select(_CASTS.c.id).where(
        _CASTS.c.tenant_id == bindparam("tid"), _CASTS.c.idempotency_key == bindparam("key")
    )
)
END_FIELDS = ("status", "finished_at", "output", "usage", "error_code", "error_message")
_END_KEYS = frozenset(END_FIELDS)
_END = Prepared(
    update(_CASTS)
    .where(_CASTS.c.id == bindparam("cid"), _CASTS.c.status == CastStatus.RUNNING)
    .values({name: bindparam(name, type_=_CASTS.c[name].type) for name in END_FIELDS})
)
# PostgreSQL, for a cast made in the same transaction (nobody else can lock its row or add its events,
# so the event's ``max(seq)`` cannot miss one): the end and its event in one statement.
_ENDED = (
    update(_CASTS)
    .where(_CASTS.c.id == bindparam("cid"), _CASTS.c.status == CastStatus.RUNNING)
    .values({name: bindparam(name, type_=_CASTS.c[name].type) for name in END_FIELDS})
    .returning(_CASTS.c.id)
    .cte("ended")
)


def _next_event_of(moved: Any) -> Any:
    """The event (``etype``, ``edata``, ``eat``) appended to the cast the CTE ``moved`` returned, with
    the next ``seq``: only for a cast whose row this transaction holds, so ``max(seq)`` misses none."""
    return insert(_EVENTS).from_select(
        ["cast_id", "seq", "type", "data", "created_at"],
        select(
            moved.c.id,
            select(func.coalesce(func.max(_EVENTS.c.seq), 0) + 1)
            .where(_EVENTS.c.cast_id == bindparam("cid"))
            .scalar_subquery(),
            bindparam("etype", type_=_EVENTS.c.type.type),
            bindparam("edata", type_=_EVENTS.c.data.type),
            bindparam("eat", type_=_EVENTS.c.created_at.type),
        ),
    )


_END_WITH_EVENT = Prepared(_next_event_of(_ENDED).returning(_EVENTS.c.seq))
# Built once: a claim's statements are the same for every cast (only their parameters differ).
_CLAIM = (
    update(_CASTS)
    .where(_CASTS.c.id == bindparam("cid"), _CASTS.c.status == CastStatus.QUEUED)
    .values(status=CastStatus.RUNNING, started_at=bindparam("started", type_=_CASTS.c.started_at.type))
    .returning(*_CASTS.c)
)
# PostgreSQL: the claim and its ``running`` event in one statement (see ``CastRepository.claim``).
_CLAIMED = _CLAIM.cte("claimed")
_CLAIM_WITH_EVENT = select(_CLAIMED).add_cte(_next_event_of(_CLAIMED).cte("running_event"))
# A cast by id as plain columns: a read that needs no ORM instance (``read_for_tenant``).
_READ = select(*_CASTS.c).where(_CASTS.c.id == bindparam("cid"))
_VERSION = select(SpellVersion).where(
    SpellVersion.spell_id == bindparam("sid"), SpellVersion.version == bindparam("ver")
)


_MAPPERS_READY: list[bool] = []
_CAST_MANAGER = Cast.__mapper__.class_manager
_UNSET = dict.fromkeys(column.key for column in _CASTS.columns)  # a new cast's columns not given: NULL


def detached_cast(values: dict[str, Any]) -> Cast:
    """A ``Cast`` holding ``values``, outside any session, for reading only.

    Made without the ORM's constructor, which spends about 25 µs on attribute events for a cast's 25
    columns; nothing here is ever added to a session (writes go through the statements above).
    """
    if not _MAPPERS_READY:
        configure_mappers()
        _MAPPERS_READY.append(True)
    cast: Cast = _CAST_MANAGER.new_instance()
    cast.__dict__.update(values)
    return cast


class CastRepository:
    """All SQL the cast domain runs; ``clock`` stamps events written without a time of their own."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or SystemClock()

    def get_for_tenant(self, uow: UnitOfWork, tenant_id: str, cast_id: str) -> Cast:
        """The cast if it belongs to the tenant; another tenant's cast is not found."""
        cast = uow.session.get(Cast, cast_id, populate_existing=True)
        if cast is None or cast.tenant_id != tenant_id:
            raise CastNotFound(f"no cast {cast_id!r}", details={"cast_id": cast_id})
        return cast

    def read_for_tenant(self, uow: UnitOfWork, tenant_id: str, cast_id: str) -> Cast:
        """``get_for_tenant`` for reading only: the cast detached (``detached_cast``), loaded without
        the ORM's identity map and instance bookkeeping, which cost a long poll more than its SELECT."""
        row = uow.session.execute(_READ, {"cid": cast_id}).first()
        if row is None or row.tenant_id != tenant_id:
            raise CastNotFound(f"no cast {cast_id!r}", details={"cast_id": cast_id})
        return detached_cast(row._asdict())

    def by_idempotency_key(self, uow: UnitOfWork, tenant_id: str, key: str) -> Cast | None:
        """The cast an idempotency key made in this tenant, if any."""
        # Nearly always a miss: look up the id alone, and load the whole cast only on a hit.
        row = _BY_KEY.run(uow.session, {"tid": tenant_id, "key": key}).fetchone()
        return None if row is None else uow.session.get(Cast, row[0], populate_existing=True)

    def one_statement_create(self, uow: UnitOfWork) -> bool:
        """Whether ``create`` checks the idempotency key itself (PostgreSQL): callers then look the key
        up only when the cast was not made."""
        return bool(uow.session.get_bind().dialect.name == "postgresql")

    def create(
        self,
        uow: UnitOfWork,
        values: dict[str, Any],
        statuses: tuple[str, ...],
        *,
        at: datetime,
        key_at_commit: bool = False,
    ) -> Cast | None:
        """Insert a new cast and its first events (``seq`` 1, 2, … of ``statuses``); return it, detached.

        None (nothing written) on PostgreSQL when the tenant's idempotency key is taken; elsewhere the
        caller looked the key up first, in a transaction that holds the write lock. With
        ``key_at_commit`` (PostgreSQL, a ``one_trip`` unit of work) the statement's answer is not
        waited for: a taken key fails the transaction, at the latest at its commit (``key_taken``)."""
        if not self.one_statement_create(uow):
            _INSERT_CAST.run(uow.session, values)
            self.add_first_events(uow, values["id"], statuses, at=at)
            return detached_cast({**_UNSET, **values})
        shape = (tuple(values), len(statuses), key_at_commit)
        statement = _CREATES.get(shape)
        if statement is None:
            statement = _CREATES[shape] = _create_statement(*shape)  # races only redo this
        params = {**values, "at": at}
        for seq, status in enumerate(statuses, start=1):
            params |= {f"seq{seq}": seq, f"type{seq}": status, f"data{seq}": {"status": status}}
        made = statement.run(uow.session, params)
        if not key_at_commit and made.fetchone() is None:
            return None
        return detached_cast({**_UNSET, **values})

    def page(
        self,
        uow: UnitOfWork,
        tenant_id: str,
        *,
        status: str | None,
        spell_id: str | None,
        limit: int,
        before_id: str | None,
        created_from: datetime | None = None,
        created_before: datetime | None = None,
    ) -> list[Cast]:
        """Newest first; ``before_id`` is the keyset cursor (ids sort by creation time); the creation
        time, when bounded, is at or after ``created_from`` and before ``created_before``."""
        query = select(Cast).where(Cast.tenant_id == tenant_id)
        if status:
            query = query.where(Cast.status == status)
        if spell_id:
            query = query.where(Cast.spell_id == spell_id)
        if created_from is not None:
            query = query.where(Cast.created_at >= created_from)
        if created_before is not None:
            query = query.where(Cast.created_at < created_before)
        if before_id:
            query = query.where(Cast.id < before_id)
        return list(uow.session.scalars(query.order_by(Cast.id.desc()).limit(limit)))

    def count_queued(self, uow: UnitOfWork) -> int:
        """Casts in ``queued`` (the status column is indexed: no table scan)."""
        query = select(func.count()).select_from(Cast).where(Cast.status == CastStatus.QUEUED)
        return int(uow.session.scalar(query) or 0)

    def count_cast(self, uow: UnitOfWork, spell_id: str) -> None:
        """One more cast of the spell, counted when the transaction commits (``spell.counts``)."""
        deferred.defer(uow.session, _COUNTS, spell_id)

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

    def hold_running(self, uow: UnitOfWork, cast_id: str) -> str | None:
        """Lock a ``running`` cast's row until the end of the transaction (a no-op update); its tenant,
        or None when it is not running any more."""
        statement = (
            update(_CASTS)
            .where(_CASTS.c.id == cast_id, _CASTS.c.status == CastStatus.RUNNING)
            .values(status=CastStatus.RUNNING)
            .returning(_CASTS.c.tenant_id)
        )
        tenant_id = uow.session.execute(statement).scalar()
        return None if tenant_id is None else str(tenant_id)

    def end(self, uow: UnitOfWork, cast_id: str, values: dict[str, Any], *, from_status: str) -> bool:
        """Move a cast out of ``from_status`` into the terminal state ``values`` describe, exactly once;
        False when it was not in ``from_status`` any more (someone else ended or moved it)."""
        if from_status == CastStatus.RUNNING and values.keys() == _END_KEYS:
            # The end of every run: one statement built once.
            return bool(_END.run(uow.session, {"cid": cast_id, **values}).rowcount == 1)
        return self.move(uow, cast_id, from_status=from_status, **values)

    def end_with_event(
        self, uow: UnitOfWork, cast_id: str, values: dict[str, Any], data: dict[str, Any], *, at: datetime
    ) -> bool:
        """``end`` from ``running`` and ``add_event`` of its terminal event (type: the status) in one
        statement, for a cast created or claimed in this transaction only; False (nothing written)
        where that cannot be one statement: do the two steps."""
        if values.keys() != _END_KEYS or uow.session.get_bind().dialect.name != "postgresql":
            return False
        params = {"cid": cast_id, **values, "etype": values["status"], "edata": data, "eat": at}
        # The transaction made or claimed the cast ``running`` and holds its row: nobody else can have
        # moved it, so the answer is not waited for (a ``one_trip`` unit of work reads it at the commit).
        _END_WITH_EVENT.run(uow.session, params)
        return True

    def version_of(self, uow: UnitOfWork, spell_id: str, version: str) -> SpellVersion | None:
        """The published version a cast names (None only for a cast whose spell row is gone)."""
        found: SpellVersion | None = uow.session.scalar(_VERSION, {"sid": spell_id, "ver": version})
        return found

    def running_ids(self, uow: UnitOfWork, *, started_before: datetime | None = None) -> list[str]:
        """Ids of ``running`` casts (only those started before ``started_before`` when given)."""
        query = select(Cast.id).where(Cast.status == CastStatus.RUNNING)
        if started_before is not None:
            query = query.where(Cast.started_at < started_before)
        return list(uow.session.scalars(query))

    def queued_jobs(
        self, uow: UnitOfWork, *, created_before: datetime | None = None
    ) -> list[tuple[str, str]]:
        """``(cast id, tenant id)`` of ``queued`` casts (only those created before ``created_before``)."""
        query = select(Cast.id, Cast.tenant_id).where(Cast.status == CastStatus.QUEUED)
        if created_before is not None:
            query = query.where(Cast.created_at < created_before)
        return [(str(cast_id), str(tenant_id)) for cast_id, tenant_id in uow.session.execute(query)]

    def fresh(self, uow: UnitOfWork, cast_id: str) -> Cast | None:
        """The cast as the database holds it now (any tenant's: for the platform's own bookkeeping)."""
        return uow.session.get(Cast, cast_id, populate_existing=True)

    def claim(self, uow: UnitOfWork, cast_id: str, *, started_at: datetime) -> Cast | None:
        """Move a cast ``queued → running``, append its ``running`` event (at ``started_at``) and return
        the cast; None (nothing written) if it was not queued.

        The returned ``Cast`` is not attached to the session (a plain UPDATE … RETURNING, no ORM
        bookkeeping): read its fields, do not expect changes to it to be saved. On PostgreSQL the move
        and the event are one statement: every writer of a cast's events holds its row (as this
        UPDATE does) and moves it out of ``queued`` first, so the event's ``max(seq)`` misses none.
        """
        data = {"status": CastStatus.RUNNING}
        if uow.session.get_bind().dialect.name == "postgresql":
            params = {"cid": cast_id, "started": started_at, "etype": CastStatus.RUNNING.value}
            row = uow.session.execute(_CLAIM_WITH_EVENT, {**params, "edata": data, "eat": started_at}).first()
            return None if row is None else detached_cast(row._asdict())
        row = uow.session.execute(_CLAIM, {"cid": cast_id, "started": started_at}).first()
        if row is None:
            return None
        self.add_event(uow, cast_id, CastStatus.RUNNING, data, at=started_at)
        return detached_cast(row._asdict())

    def add_event(
        self, uow: UnitOfWork, cast_id: str, type_: str, data: dict[str, Any], at: datetime | None = None
    ) -> int:
        """Append the next event (``seq`` counts from 1) in one statement; return its ``seq``."""
        params = {"cid": cast_id, "etype": type_, "edata": data, "eat": at or self.clock.now()}
        return int(_ADD_EVENT.run(uow.session, params).fetchone()[0])

    def add_first_events(
        self, uow: UnitOfWork, cast_id: str, statuses: tuple[str, ...], at: datetime
    ) -> None:
        """The first events of a cast created just now (``seq`` 1, 2, …), in one statement."""
        rows = [
            {"cast_id": cast_id, "seq": seq, "type": status, "data": {"status": status}, "created_at": at}
            for seq, status in enumerate(statuses, start=1)
        ]
        _INSERT_EVENT.run_many(uow.session, rows)

    def events_after(self, uow: UnitOfWork, cast_id: str, after: int) -> list[CastEvent]:
        """Events with ``seq > after``, in order."""
        query = select(CastEvent).where(CastEvent.cast_id == cast_id, CastEvent.seq > after)
        return list(uow.session.scalars(query.order_by(CastEvent.seq)))
