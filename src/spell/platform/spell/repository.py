"""Queries on spells, their versions, publishers, publisher keys and Sigstore identities."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Integer, func, literal, literal_column, or_, select, text
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import TextClause

from spell.models import Publisher, PublisherKey, PublisherSigstoreIdentity, Spell, SpellVersion
from spell.platform.spell import listing
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
        listed: list[ColumnElement[bool] | TextClause] = [
            _visible(tenant_id),
            ~delisted_latest,
            *_beyond(after, sort),
        ]
        column, descending = _KEYS[sort]
        order = (column.desc() if descending else column.asc(), Spell.id.asc())
        dialect = uow.session.get_bind().dialect.name
        wanted = [_tagged(dialect, tag)] if tag is not None else []
        terms = words(q) if q is not None and q.strip() else None
        if terms is not None and not terms:
            return []  # a query of punctuation alone names no word, so no spell
        if terms is None:
            return list(
                uow.session.scalars(select(Spell).where(*listed, *wanted).order_by(*order).limit(limit))
            )
        if dialect == "sqlite":
            return self._fts5_search(uow, terms, [*listed, *wanted], order, limit)
        return self._tsvector_search(uow, terms, tag, tenant_id, after, sort, limit)

    def _fts5_search(
        self,
        uow: UnitOfWork,
        terms: list[str],
        where: list[ColumnElement[bool] | TextClause],
        order: tuple[Any, ...],
        limit: int,
    ) -> list[Spell]:
        """SQLite: FTS5 hands back every match, so a rare word's matches are read by id and sorted, and
        a common word's become a set the walk down the order's index tests each spell against."""
        match = " ".join(f'"{term}"*' for term in terms)  # quoted prefix phrases: no FTS5 operator
        matches = uow.session.scalar(
            text("SELECT count(*) FROM (SELECT 1 FROM spells_fts WHERE spells_fts MATCH :match LIMIT :cap)"),
            {"match": match, "cap": listing.COMMON_MATCHES + 1},
        )
        # unary + keeps SQLite from driving the query by the id index, so it walks the order's index
        spell_id = "+spells.id" if (matches or 0) > listing.COMMON_MATCHES else "spells.id"
        member = text(
            f"{spell_id} IN (SELECT spell_id FROM spells_fts WHERE spells_fts MATCH :match)"  # noqa: S608
        ).bindparams(match=match)
        return list(uow.session.scalars(select(Spell).where(*where, member).order_by(*order).limit(limit)))

    def _tsvector_search(
        self,
        uow: UnitOfWork,
        terms: list[str],
        tag: str | None,
        tenant_id: str,
        after: After | None,
        sort: str,
        limit: int,
    ) -> list[Spell]:
        """PostgreSQL: walk a bounded stretch of the order's index testing each listed spell's
        ``tsvector``; when that does not fill the page, sort the matches read from the GIN index.

        The planner cannot choose between the two itself: its estimate for a prefix ``tsquery`` is the
        same whatever the word, so it walks for a rare word too, through half the catalog."""
        tsquery = " & ".join(f"{term}:*" for term in terms)
        column, descending = _KEYS[sort]
        order = (column.desc() if descending else column.asc(), Spell.id.asc())
        tagged = [_tagged("postgresql", tag, "walk")] if tag is not None else []
        walk = (
            select(Spell, literal_column("spells.search_vector"))
            .where(_visible(tenant_id), *_beyond(after, sort))
            .order_by(*order)
            .limit(_inline(limit * listing.WALK_ROWS_PER_ITEM))
            .subquery("walk")
        )
        # the subquery's own columns, not the aliased entity's: adapting each attribute of an alias
        # cost more than the statement itself (about 4 ms a search)
        key = walk.c[column.key]
        hits = (
            # the words first: the delisted test then runs for the matches only
            select(aliased(Spell, walk))
            .where(_words_in("walk", tsquery), *tagged, ~_delisted(walk.c))
            .order_by(key.desc() if descending else key.asc(), walk.c.id.asc())
            .limit(_inline(limit))
        )
        rows = list(uow.session.scalars(hits))
        if len(rows) == limit:
            return rows
        # MATERIALIZED keeps the planner from folding the GIN index's matches back into a walk of the
        # whole order index.
        found = select(Spell).where(
            _visible(tenant_id),
            *_beyond(after, sort),
            _words_in("spells", tsquery),
            *([_tagged("postgresql", tag, "spells")] if tag is not None else []),
            ~_delisted(Spell),
        )
        matches = found.cte("matches").prefix_with("MATERIALIZED")
        key = matches.c[column.key]  # the same order, on the matches
        ordered = select(aliased(Spell, matches)).order_by(
            key.desc() if descending else key.asc(), matches.c.id.asc()
        )
        return list(uow.session.scalars(ordered.limit(limit)))

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


def _tagged(dialect: str, tag: str, table: str = "spells") -> TextClause:
    """Rows of ``table`` (spells, or a selection of their columns) whose tags hold ``tag``."""
    if dialect == "sqlite":
        return text(
            f"EXISTS (SELECT 1 FROM json_each({table}.tags) WHERE json_each.value = :tag)"  # noqa: S608
        ).bindparams(tag=tag)
    return text(f"CAST({table}.tags AS jsonb) @> jsonb_build_array(CAST(:tag AS text))").bindparams(tag=tag)


def _words_in(table: str, tsquery: str) -> TextClause:
    """Rows of ``table`` whose ``search_vector`` holds every word of ``tsquery``."""
    return text(f"{table}.search_vector @@ to_tsquery('simple', :tsquery)").bindparams(tsquery=tsquery)


def _inline(count: int) -> ColumnElement[int]:
    """A LIMIT written into the statement: psycopg prepares a statement run often, and PostgreSQL's
    generic plan for it, not knowing the limit, sorts the whole catalog instead of walking the
    order's index (22 ms against 3 ms for a page of a common word at 100 000 spells)."""
    return literal_column(str(int(count)), Integer)


def _delisted(spell: Any) -> ColumnElement[bool]:
    """Whether the latest version of ``spell`` (the spells table or a selection of its rows) was
    delisted: a subquery run per spell, which the planner cannot turn into an anti-join hashing every
    delisted version in the catalog."""
    latest_delisted = (
        select(literal(True))
        .where(
            SpellVersion.spell_id == spell.id,
            SpellVersion.version == spell.latest_version,
            SpellVersion.delisted_at.is_not(None),
        )
        .limit(1)
        .scalar_subquery()
    )
    return func.coalesce(latest_delisted, False)


def _visible(tenant_id: str) -> ColumnElement[bool]:
    """Public spells and the tenant's own unlisted, private and team ones."""
    return or_(
        Spell.visibility == "public",
        (Spell.tenant_id == tenant_id) & Spell.visibility.in_(("private", "team", "unlisted")),
    )


def _beyond(after: After | None, sort: str) -> list[ColumnElement[bool]]:
    """Spells after ``after`` in ``sort`` order (ties by id): none when the page is the first."""
    if after is None:
        return []
    column, descending = _KEYS[sort]
    beyond = column < after.key if descending else column > after.key
    return [
        column <= after.key if descending else column >= after.key,
        or_(beyond, (column == after.key) & (Spell.id > after.spell_id)),
    ]
