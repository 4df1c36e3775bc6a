"""Reads and writes of policy violations, and the row locks that make a suspension happen once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, or_, select, update

from spell.models import PolicyViolation, Spell, User
from spell.platform.abuse.schemas import ViolationFilter
from spell.storage.session import UnitOfWork

__all__ = ["ViolationRepository"]


class ViolationRepository:
    """Stateless: every method works in the unit of work it is given."""

    def add(self, uow: UnitOfWork, row: PolicyViolation) -> None:
        """Insert one violation."""
        uow.session.add(row)
        uow.session.flush()

    def open_count(self, uow: UnitOfWork, subject_type: str, subject_id: str, since: datetime) -> int:
        """The subject's violations at or after ``since`` that no reinstatement cleared."""
        query = select(func.count()).where(
            PolicyViolation.subject_type == subject_type,
            PolicyViolation.subject_id == subject_id,
            PolicyViolation.created_at >= since,
            PolicyViolation.cleared_at.is_(None),
        )
        return int(uow.session.scalar(query) or 0)

    def clear(self, uow: UnitOfWork, subject_type: str, subject_id: str, now: datetime) -> int:
        """Stop counting every open violation of the subject; how many were open."""
        result = uow.session.execute(
            update(PolicyViolation)
            .where(
                PolicyViolation.subject_type == subject_type,
                PolicyViolation.subject_id == subject_id,
                PolicyViolation.cleared_at.is_(None),
            )
            .values(cleared_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def locked_spell(self, uow: UnitOfWork, spell_id: str) -> Spell | None:
        """The spell, locked until the transaction ends (PostgreSQL; SQLite's writer holds its lock)."""
        query = select(Spell).where(Spell.id == spell_id).with_for_update()
        return uow.session.scalars(query.execution_options(populate_existing=True)).first()

    def locked_user(self, uow: UnitOfWork, user_id: str) -> User | None:
        """The user, locked until the transaction ends."""
        query = select(User).where(User.id == user_id).with_for_update()
        return uow.session.scalars(query.execution_options(populate_existing=True)).first()

    def page(
        self, uow: UnitOfWork, where: ViolationFilter, after: tuple[datetime, str] | None
    ) -> list[PolicyViolation]:
        """Violations matching ``where``, newest first, after the ``(created_at, id)`` of a cursor."""
        query = select(PolicyViolation)
        if where.subject_type is not None:
            query = query.where(PolicyViolation.subject_type == where.subject_type)
        if where.subject_id is not None:
            query = query.where(PolicyViolation.subject_id == where.subject_id)
        if where.kind is not None:
            query = query.where(PolicyViolation.kind == where.kind)
        if where.since is not None:
            query = query.where(PolicyViolation.created_at >= where.since)
        if after is not None:
            at, last_id = after
            query = query.where(
                or_(
                    PolicyViolation.created_at < at,
                    and_(PolicyViolation.created_at == at, PolicyViolation.id < last_id),
                )
            )
        query = query.order_by(PolicyViolation.created_at.desc(), PolicyViolation.id.desc())
        return list(uow.session.scalars(query.limit(where.limit)))
