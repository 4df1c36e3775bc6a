"""Queries on users, tenants and API keys. Every method takes the caller's unit of work and only flushes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from spell.models import ApiKey, Tenant, User
from spell.storage.session import UnitOfWork

__all__ = ["AuthRepository"]


class AuthRepository:
    """All SQL the auth domain runs."""

    def add(self, uow: UnitOfWork, *rows: User | Tenant | ApiKey) -> None:
        """Insert new rows (flushed, so their constraints are checked now)."""
        uow.session.add_all(rows)
        uow.session.flush()

    # users -----------------------------------------------------------------------------------------
    def user(self, uow: UnitOfWork, user_id: str) -> User | None:
        """A user by id."""
        return uow.session.get(User, user_id)

    def user_by_ref(self, uow: UnitOfWork, ref: str) -> User | None:
        """A user by id or email."""
        return uow.session.scalar(select(User).where((User.id == ref) | (User.email == ref)))

    def user_by_subject(self, uow: UnitOfWork, subject: str) -> User | None:
        """The user a token subject (``<iss>|<sub>``) was provisioned as."""
        return uow.session.scalar(select(User).where(User.subject == subject))

    def email_taken(self, uow: UnitOfWork, email: str) -> bool:
        """True when a user has this email."""
        return uow.session.scalar(select(User.id).where(User.email == email)) is not None

    def members(self, uow: UnitOfWork, tenant_id: str) -> list[User]:
        """The users whose home tenant this is, oldest first."""
        query = select(User).where(User.tenant_id == tenant_id).order_by(User.created_at, User.id)
        return list(uow.session.scalars(query))

    # tenants ---------------------------------------------------------------------------------------
    def tenant(self, uow: UnitOfWork, tenant_id: str) -> Tenant | None:
        """A tenant by id."""
        return uow.session.get(Tenant, tenant_id)

    def tenant_named(self, uow: UnitOfWork, name: str) -> Tenant | None:
        """A tenant by name."""
        return uow.session.scalar(select(Tenant).where(Tenant.name == name))

    def tenant_bound_to(self, uow: UnitOfWork, issuer: str, org: str) -> Tenant | None:
        """The tenant tokens of ``issuer`` naming ``org`` land in."""
        return uow.session.scalar(select(Tenant).where(Tenant.issuer == issuer, Tenant.org == org))

    # keys ------------------------------------------------------------------------------------------
    def key(self, uow: UnitOfWork, key_id: str) -> ApiKey | None:
        """A key by id."""
        return uow.session.get(ApiKey, key_id)

    def keys_of(self, uow: UnitOfWork, user_id: str) -> list[ApiKey]:
        """A user's keys, newest first."""
        query = select(ApiKey).where(ApiKey.user_id == user_id).order_by(ApiKey.id.desc())
        return list(uow.session.scalars(query))

    def key_and_owner(self, uow: UnitOfWork, secret_hash: str) -> tuple[ApiKey, User | None] | None:
        """The key with this secret hash and its user, in one statement (run by every uncached request)."""
        row = uow.session.execute(
            select(ApiKey, User)
            .outerjoin(User, User.id == ApiKey.user_id)
            .where(ApiKey.secret_hash == secret_hash)
        ).first()
        return None if row is None else (row[0], row[1])

    def touch_key(self, uow: UnitOfWork, key_id: str, at: datetime) -> None:
        """Set the key's last-used time with a plain UPDATE (no row loaded)."""
        uow.session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=at))
