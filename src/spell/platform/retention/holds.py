"""Legal holds: a user or tenant whose data no retention rule (nor an erasure) may touch.

A hold on a tenant covers the tenant's casts and artifacts and every user whose home it is. Setting and
releasing one is audited; releasing lets the next retention run catch up on what it held back.
"""

from __future__ import annotations

from sqlalchemy import Select, or_, select

from spell.models import Tenant, User
from spell.platform.audit.service import AuditService
from spell.platform.auth.schemas import Principal
from spell.platform.retention.errors import LegalHoldTargetNotFound
from spell.platform.retention.schemas import HoldKind, LegalHoldList, LegalHoldOut
from spell.storage.session import UnitOfWork

__all__ = ["LegalHoldService", "held_tenants", "held_users"]


def held_tenants() -> Select[str]:
    """The ids of the tenants under a hold (a subquery)."""
    return select(Tenant.id).where(Tenant.legal_hold.is_(True))


def held_users() -> Select[str]:
    """The ids of the users under a hold, their own or their home tenant's (a subquery)."""
    return select(User.id).where(or_(User.legal_hold.is_(True), User.tenant_id.in_(held_tenants())))


class LegalHoldService:
    """Sets, releases and answers legal holds; every method works in the unit of work it is given."""

    def __init__(self, audit: AuditService) -> None:
        self.audit = audit

    def is_held(self, uow: UnitOfWork, user_id: str) -> bool:
        """Whether the user's data is held (by a hold on the user or on its home tenant)."""
        user = uow.session.get(User, user_id)
        if user is None:
            return False
        if user.legal_hold:
            return True
        tenant = uow.session.get(Tenant, user.tenant_id)
        return bool(tenant and tenant.legal_hold)

    def list_for(self, uow: UnitOfWork, principal: Principal) -> LegalHoldList:
        """Operator: ``list`` (the REST route)."""
        principal.require_operator()
        return self.list(uow)

    def list(self, uow: UnitOfWork) -> LegalHoldList:
        """Every tenant and user under a hold."""
        users = uow.session.scalars(select(User).where(User.legal_hold.is_(True)).order_by(User.id))
        tenants = uow.session.scalars(select(Tenant).where(Tenant.legal_hold.is_(True)).order_by(Tenant.id))
        return LegalHoldList(items=[*map(_out, tenants), *map(_out, users)])

    def hold_for(
        self, uow: UnitOfWork, principal: Principal, kind: HoldKind, target_id: str, reason: str
    ) -> LegalHoldOut:
        """Operator: ``hold`` (the REST route)."""
        principal.require_operator()
        return self.hold(uow, kind, target_id, reason, actor_id=principal.user_id)

    def release_for(
        self, uow: UnitOfWork, principal: Principal, kind: HoldKind, target_id: str
    ) -> LegalHoldOut:
        """Operator: ``release`` (the REST route)."""
        principal.require_operator()
        return self.release(uow, kind, target_id, actor_id=principal.user_id)

    def hold(
        self, uow: UnitOfWork, kind: HoldKind, target_id: str, reason: str, *, actor_id: str | None
    ) -> LegalHoldOut:
        """Hold the user's or tenant's data, for ``reason``; ``actor_id`` is who asked (audited)."""
        row = self._target(uow, kind, target_id)
        if not row.legal_hold or row.legal_hold_reason != reason:
            row.legal_hold, row.legal_hold_reason = True, reason
            self._audit(uow, actor_id, "legal_hold.set", row, reason)
        uow.session.flush()
        return _out(row)

    def release(
        self, uow: UnitOfWork, kind: HoldKind, target_id: str, *, actor_id: str | None
    ) -> LegalHoldOut:
        """End the hold; the next retention run applies the usual periods again."""
        row = self._target(uow, kind, target_id)
        if row.legal_hold:
            reason = row.legal_hold_reason
            row.legal_hold, row.legal_hold_reason = False, None
            self._audit(uow, actor_id, "legal_hold.released", row, reason)
        uow.session.flush()
        return _out(row)

    def _target(self, uow: UnitOfWork, kind: HoldKind, target_id: str) -> User | Tenant:
        row: User | Tenant | None = (
            uow.session.get(User, target_id) if kind == "user" else uow.session.get(Tenant, target_id)
        )
        if row is None:
            raise LegalHoldTargetNotFound(f"no {kind} {target_id!r}", details={"kind": kind, "id": target_id})
        return row

    def _audit(
        self, uow: UnitOfWork, actor_id: str | None, action: str, row: User | Tenant, reason: str | None
    ) -> None:
        is_user = isinstance(row, User)
        self.audit.append(
            uow,
            action,
            actor_id=actor_id,
            tenant_id=row.tenant_id if isinstance(row, User) else row.id,
            subject=f"{'user' if is_user else 'tenant'}:{row.id}",
            data={"reason": reason},
        )


def _out(row: User | Tenant) -> LegalHoldOut:
    return LegalHoldOut(
        kind="user" if isinstance(row, User) else "tenant",
        id=row.id,
        legal_hold=row.legal_hold,
        reason=row.legal_hold_reason,
    )
