"""Publisher names and their registered signing keys.

The keys a publisher registered are this server's trust: ``RegisteredKeys`` hands them to the
library verifier (``spell.signing.verifier``), the same one ``spell verify`` and ``spell cast`` use.
"""

from __future__ import annotations

from dataclasses import dataclass

from spell.errors import AlreadyExists, InvalidInput, KeyNotFound, VerificationError
from spell.kit.ids import new_id
from spell.kit.time import utcnow
from spell.models import Publisher, PublisherKey
from spell.platform.audit.hooks import act_as
from spell.platform.auth.schemas import Principal
from spell.platform.spell.errors import TenantForbidden
from spell.platform.spell.repository import SpellRepository
from spell.signing.keys import public_key_from_b64url
from spell.signing.trust import PublisherTrust, TrustedKey
from spell.signing.verifier import SignatureHints
from spell.storage.session import UnitOfWork

__all__ = ["SIGNATURE_HINTS", "RegisteredKeys", "owned_publisher", "register_key", "revoke_key"]

# What a signature refusal on this server tells the maker to do.
SIGNATURE_HINTS = SignatureHints(
    unsigned="sign it with `spell sign bundle` and publish it again",
    untrusted="register the signing key: POST /v1/publishers/{publisher}/keys",
)

_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")
_REPO = SpellRepository()


def owned_publisher(uow: UnitOfWork, principal: Principal, name: str, *, claim: bool) -> Publisher:
    """The publisher if the caller's tenant owns it; with ``claim``, the first caller takes a free name."""
    publisher = _REPO.publisher(uow, name)
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
        _REPO.add(uow, publisher)
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
    try:
        public_key_from_b64url(public_key)
    # A key that can never verify anything is a signature error: the family publish reports too.
    except InvalidInput as exc:
        raise VerificationError(exc.message, details={"key_id": key_id}) from None
    owned_publisher(uow, principal, publisher, claim=True)
    if _REPO.publisher_key(uow, publisher, key_id) is not None:
        raise AlreadyExists(f"key {key_id!r} exists for {publisher!r}", details={"key_id": key_id})
    row = PublisherKey(
        id=new_id("pkey"), publisher=publisher, key_id=key_id, public_key=public_key, created_at=utcnow()
    )
    _REPO.add(uow, row)
    return row


def revoke_key(uow: UnitOfWork, principal: Principal, publisher: str, key_id: str) -> PublisherKey:
    """Revoke a key: bundles signed with it no longer publish."""
    principal.require("spell:publish")
    act_as(uow.session, principal.user_id)
    owned_publisher(uow, principal, publisher, claim=False)
    row = _REPO.publisher_key(uow, publisher, key_id)
    if row is None:
        raise KeyNotFound(f"no key {key_id!r} for {publisher!r}", details={"key_id": key_id})
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        uow.session.flush()
    return row


@dataclass(frozen=True)
class RegisteredKeys:
    """The publishers' unrevoked registered keys as a ``TrustSource`` for the library verifier.

    A revoked key is left out, so a bundle signed with it is as untrusted as one signed with a key
    never registered.
    """

    uow: UnitOfWork

    def load(self, publisher: str) -> PublisherTrust | None:
        """The publisher's active keys, or ``None`` when it has none."""
        rows = _REPO.active_keys(self.uow, publisher)
        keys = tuple(TrustedKey(key_id=row.key_id, public_key=row.public_key) for row in rows)
        return PublisherTrust(publisher, keys) if keys else None
