"""Publisher names and their registered signing keys."""

from __future__ import annotations

from sqlalchemy import select

from spell.errors import AlreadyExists, InvalidInput, KeyNotFound
from spell.kit.ids import new_id
from spell.kit.time import utcnow
from spell.models import Publisher, PublisherKey
from spell.platform.audit.hooks import act_as
from spell.platform.auth.schemas import Principal
from spell.platform.spell.errors import TenantForbidden
from spell.platform.spell.signature import check_public_key
from spell.storage.session import UnitOfWork

__all__ = ["active_keys", "owned_publisher", "register_key", "revoke_key"]

_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")


def owned_publisher(uow: UnitOfWork, principal: Principal, name: str, *, claim: bool) -> Publisher:
    """The publisher if the caller's tenant owns it; with ``claim``, the first caller takes a free name."""
    publisher = uow.session.get(Publisher, name)
    if publisher is None:
        if not claim:
            raise TenantForbidden(
                f"publisher {name!r} is not registered to your tenant",
                details={"publisher": name},
                hint=f"register a key first: POST /v1/publishers/{name}/keys",
            )
        if not name or not set(name) <= _NAME_CHARS or name[0] in "._-":
            raise InvalidInput(f"{name!r} is not a publisher name", details={"publisher": name})
        publisher = Publisher(name=name, tenant_id=principal.tenant_id, created_at=utcnow())
        uow.session.add(publisher)
        uow.session.flush()
    if publisher.tenant_id != principal.tenant_id:
        raise TenantForbidden(f"publisher {name!r} belongs to another tenant", details={"publisher": name})
    return publisher


def register_key(
    uow: UnitOfWork, principal: Principal, publisher: str, *, key_id: str, public_key: str
) -> PublisherKey:
    """Add an active key (``key_id`` unique per publisher, revoked ids are never reused); makers only."""
    principal.require_role("maker")
    principal.require("spell:publish")
    act_as(uow.session, principal.user_id)
    check_public_key(public_key)
    owned_publisher(uow, principal, publisher, claim=True)
    existing = uow.session.scalar(
        select(PublisherKey).where(PublisherKey.publisher == publisher, PublisherKey.key_id == key_id)
    )
    if existing is not None:
        raise AlreadyExists(f"key {key_id!r} exists for {publisher!r}", details={"key_id": key_id})
    row = PublisherKey(
        id=new_id("pkey"), publisher=publisher, key_id=key_id, public_key=public_key, created_at=utcnow()
    )
    uow.session.add(row)
    uow.session.flush()
    return row


def revoke_key(uow: UnitOfWork, principal: Principal, publisher: str, key_id: str) -> PublisherKey:
    """Revoke a key: bundles signed with it no longer publish."""
    principal.require("spell:publish")
    act_as(uow.session, principal.user_id)
    owned_publisher(uow, principal, publisher, claim=False)
    row = uow.session.scalar(
        select(PublisherKey).where(PublisherKey.publisher == publisher, PublisherKey.key_id == key_id)
    )
    if row is None:
        raise KeyNotFound(f"no key {key_id!r} for {publisher!r}", details={"key_id": key_id})
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        uow.session.flush()
    return row


def active_keys(uow: UnitOfWork, publisher: str) -> dict[str, str]:
    """``key_id → public key`` of the publisher's unrevoked keys."""
    rows = uow.session.scalars(
        select(PublisherKey).where(PublisherKey.publisher == publisher, PublisherKey.revoked_at.is_(None))
    )
    return {row.key_id: row.public_key for row in rows}
