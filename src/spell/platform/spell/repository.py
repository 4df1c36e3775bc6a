"""Queries on spells, their versions, publishers, publisher keys and Sigstore identities."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, or_, select, text
from sqlalchemy.sql.elements import TextClause

from spell.models import Publisher, PublisherKey, PublisherSigstoreIdentity, Spell, SpellVersion
from spell.platform.spell.listing import SORTS, After, words
from spell.storage.session import UnitOfWork

__all__ = ["SORTS", "SpellRepository"]

_KEYS: dict[str, tuple[Any, bool]] = {  # the order's column, and whether it runs high to low
    "recent": (Spell.updated_at, True),
    "popular": (Spell.cast_count, True),
    "price": (Spell.price_amount, False),
}


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

    def listed(
        self,
        uow: UnitOfWork,
        tenant_id: str,
        *,
        q: str | None,
        tag: str | None,
        sort: str,
        after: After | None,
        limit: int,
    ) -> list[Spell]:
        """Up to ``limit`` listed spells after ``after`` in ``sort`` order (ties by id): public ones and
        the tenant's own unlisted, private and team ones, holding every word of ``q`` (as a word or the
        start of one) and tagged ``tag``; a spell whose latest version was delisted is not listed."""
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
        dialect = uow.session.get_bind().dialect.name
        if q is not None and q.strip():
            query = query.where(_matching(dialect, words(q)))
        if tag is not None:
            query = query.where(_tagged(dialect, tag))
        column, descending = _KEYS[sort]
        if after is not None:
            beyond = column < after.key if descending else column > after.key
            query = query.where(
                column <= after.key if descending else column >= after.key,
                or_(beyond, (column == after.key) & (Spell.id > after.spell_id)),
            )
        order = (column.desc() if descending else column.asc(), Spell.id.asc())
        return list(uow.session.scalars(query.order_by(*order).limit(limit)))

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


def _matching(dialect: str, terms: list[str]) -> ColumnElement[bool] | TextClause:
    """Spells holding every term as a word or a word's start, through the full-text index."""
    if not terms:
        return false()  # a query of punctuation alone names no word, so no spell
    if dialect == "sqlite":
        # each term a quoted prefix phrase: no FTS5 operator can come from the caller
        match = " ".join(f'"{term}"*' for term in terms)
        ids = text("SELECT spell_id FROM spells_fts WHERE spells_fts MATCH :match").bindparams(match=match)
        return Spell.id.in_(ids.columns(spell_id=Spell.id.type))
    query = " & ".join(f"{term}:*" for term in terms)
    return text("spells.search_vector @@ to_tsquery('simple', :tsquery)").bindparams(tsquery=query)


def _tagged(dialect: str, tag: str) -> ColumnElement[bool] | TextClause:
    """Spells whose tags hold ``tag``."""
    if dialect == "sqlite":
        return text("EXISTS (SELECT 1 FROM json_each(spells.tags) WHERE json_each.value = :tag)").bindparams(
            tag=tag
        )
    return text("CAST(spells.tags AS jsonb) @> jsonb_build_array(CAST(:tag AS text))").bindparams(tag=tag)
