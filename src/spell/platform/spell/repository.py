"""Queries on spells, their versions, publishers, publisher keys and Sigstore identities."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select

from spell.models import Publisher, PublisherKey, PublisherSigstoreIdentity, Spell, SpellVersion
from spell.storage.session import UnitOfWork

__all__ = ["SpellRepository"]

_ORDER: dict[str, tuple[Any, ...]] = {
    "recent": (Spell.updated_at.desc(), Spell.id),
    "popular": (Spell.cast_count.desc(), Spell.id),
    "price": (Spell.price_amount.asc(), Spell.id),
}
SORTS = tuple(_ORDER)


class SpellRepository:
    """All SQL the grimoire runs."""

    def add(
        self,
        uow: UnitOfWork,
        *rows: Spell | SpellVersion | Publisher | PublisherKey | PublisherSigstoreIdentity,
    ) -> None:
        """Insert new rows (flushed, so their constraints are checked now)."""
        uow.session.add_all(rows)
        uow.session.flush()

    # spells and versions ---------------------------------------------------------------------------
    def spell(self, uow: UnitOfWork, spell_id: str) -> Spell | None:
        """A spell by id."""
        return uow.session.get(Spell, spell_id)

    def version(self, uow: UnitOfWork, spell_id: str, version: str) -> SpellVersion | None:
        """One version of a spell."""
        return uow.session.scalar(
            select(SpellVersion).where(SpellVersion.spell_id == spell_id, SpellVersion.version == version)
        )

    def versions(self, uow: UnitOfWork, spell_id: str) -> list[SpellVersion]:
        """Every version of a spell, in no order."""
        return list(uow.session.scalars(select(SpellVersion).where(SpellVersion.spell_id == spell_id)))

    def listed(self, uow: UnitOfWork, tenant_id: str, *, q: str | None, sort: str) -> list[Spell]:
        """Public spells and the tenant's own unlisted, private and team ones, matching ``q``, sorted;
        a spell whose latest version was delisted (supply chain) is not listed."""
        delisted_latest = (
            select(SpellVersion.id)
            .where(
                SpellVersion.spell_id == Spell.id,
                SpellVersion.version == Spell.latest_version,
                SpellVersion.delisted_at.is_not(None),
            )
            .exists()
        )
        query = select(Spell).where(
            or_(
                Spell.visibility == "public",
                (Spell.tenant_id == tenant_id) & Spell.visibility.in_(("private", "team", "unlisted")),
            ),
            ~delisted_latest,
        )
        if q:
            like = f"%{q.lower()}%"
            query = query.where(
                or_(
                    func.lower(Spell.id).like(like),
                    func.lower(Spell.name).like(like),
                    func.lower(Spell.summary).like(like),
                )
            )
        return list(uow.session.scalars(query.order_by(*_ORDER[sort])))

    def of_tenant(self, uow: UnitOfWork, tenant_id: str) -> list[Spell]:
        """Every spell the tenant publishes, whatever its visibility, by id."""
        return list(uow.session.scalars(select(Spell).where(Spell.tenant_id == tenant_id).order_by(Spell.id)))

    # publishers ------------------------------------------------------------------------------------
    def publisher(self, uow: UnitOfWork, name: str) -> Publisher | None:
        """A publisher by name."""
        return uow.session.get(Publisher, name)

    def publisher_key(self, uow: UnitOfWork, publisher: str, key_id: str) -> PublisherKey | None:
        """One of a publisher's keys, revoked or not."""
        return uow.session.scalar(
            select(PublisherKey).where(PublisherKey.publisher == publisher, PublisherKey.key_id == key_id)
        )

    def active_keys(self, uow: UnitOfWork, publisher: str) -> list[PublisherKey]:
        """A publisher's unrevoked keys, by key id."""
        return list(
            uow.session.scalars(
                select(PublisherKey)
                .where(PublisherKey.publisher == publisher, PublisherKey.revoked_at.is_(None))
                .order_by(PublisherKey.key_id)
            )
        )

    # Sigstore identities ---------------------------------------------------------------------------
    def sigstore_identities(
        self, uow: UnitOfWork, publisher: str, *, active: bool = False
    ) -> list[PublisherSigstoreIdentity]:
        """A publisher's Sigstore identities (``active``: unrevoked only), oldest first."""
        query = select(PublisherSigstoreIdentity).where(PublisherSigstoreIdentity.publisher == publisher)
        if active:
            query = query.where(PublisherSigstoreIdentity.revoked_at.is_(None))
        order = (PublisherSigstoreIdentity.created_at, PublisherSigstoreIdentity.id)
        return list(uow.session.scalars(query.order_by(*order)))

    def sigstore_identity(
        self, uow: UnitOfWork, publisher: str, *, identity: str, issuer: str
    ) -> PublisherSigstoreIdentity | None:
        """The publisher's row for ``identity`` and ``issuer``, revoked or not."""
        return uow.session.scalar(
            select(PublisherSigstoreIdentity).where(
                PublisherSigstoreIdentity.publisher == publisher,
                PublisherSigstoreIdentity.identity == identity,
                PublisherSigstoreIdentity.issuer == issuer,
            )
        )
