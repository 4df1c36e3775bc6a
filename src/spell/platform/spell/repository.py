"""Queries on spells, their versions, publishers, publisher keys and Sigstore identities."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Integer, func, literal, literal_column, or_, select, text
from sqlalchemy.sql.elements import TextClause

from spell.models import Publisher, PublisherKey, PublisherSigstoreIdentity, Spell, SpellVersion
from spell.models.spell_search import PREFIX_CHARS
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
            return self._fts5_search(uow, terms, [*listed, *wanted], sort, limit)
        # the delisted test per matching row, not as NOT EXISTS: for a rare word's few matches the
        # planner hashed every delisted version in the catalog (1.7 ms at 100 000 spells)
        searched: list[ColumnElement[bool] | TextClause] = [
            _visible(tenant_id),
            ~_delisted(Spell),
            *_beyond(after, sort),
            *wanted,
            _lexemes(terms),
        ]
        return list(
            uow.session.scalars(select(Spell).where(*searched).order_by(*order).limit(_inline(limit)))
        )

    def _fts5_search(
        self,
        uow: UnitOfWork,
        terms: list[str],
        where: list[ColumnElement[bool] | TextClause],
        sort: str,
        limit: int,
    ) -> list[Spell]:
        """SQLite: a rare word's matches are read from FTS5 by id and sorted; for a common word the walk
        down the order's index tests each spell's stored words, which stops after about a page of
        matches instead of building the set of every match first."""
        prefix = " ".join(f'"{term}"*' for term in terms)  # quoted prefix phrases: no FTS5 operator
        matches = uow.session.scalar(
            _COUNT_MATCHES,
            {
                "exact": " ".join(f'"{term}"' for term in terms),
                "prefix": prefix,
                "cap": listing.COMMON_MATCHES + 1,
            },
        )
        column, descending = _KEYS[sort]
        found = select(Spell).order_by(column.desc() if descending else column.asc(), Spell.id.asc())
        if (matches or 0) > listing.COMMON_MATCHES:
            # A word starts one of the stored words exactly when it follows one of their spaces. The
            # walk goes down the order's index that holds the stored words and tests them first, so
            # SQLite reads a spell's row only for a match (the walk passes ten spells per match for a
            # word on one spell in ten, each in its own page of the table); the index is named since
            # the planner costs it the same as the order's narrower one.
            holds = [
                text(f"instr(spells.search_words, :word_{i}) > 0").bindparams(**{f"word_{i}": f" {term}"})
                for i, term in enumerate(terms)
            ]
            found = found.with_hint(Spell, f"INDEXED BY ix_spells_words_{column.key}", "sqlite")
        else:
            holds = [
                text(
                    "spells.id IN (SELECT spell_id FROM spells_fts WHERE spells_fts MATCH :match)"
                ).bindparams(match=prefix)
            ]
        # the words first: SQLite tests the conditions in this order, and the delisted version's lookup
        # then runs for the matches only
        return list(uow.session.scalars(found.where(*holds, *where).limit(limit)))

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


def _tagged(dialect: str, tag: str) -> TextClause:
    """Spells whose tags hold ``tag``."""
    if dialect == "sqlite":
        return text("EXISTS (SELECT 1 FROM json_each(spells.tags) WHERE json_each.value = :tag)").bindparams(
            tag=tag
        )
    return text("CAST(spells.tags AS jsonb) @> jsonb_build_array(CAST(:tag AS text))").bindparams(tag=tag)


# Up to COMMON_MATCHES + 1 FTS5 matches of the words. Whole words first: reading a word's matches
# stops at the cap, but a prefix query merges the match lists of every word it starts before the first
# match comes out (0.23 ms for ``pdf`` at 100 000 spells against 0.02 ms), so a query whose whole
# words are already common is known to be common without it.
_COUNT_MATCHES = text(
    "SELECT CASE WHEN (SELECT count(*) FROM (SELECT 1 FROM spells_fts WHERE spells_fts MATCH :exact "
    "LIMIT :cap)) = :cap THEN :cap ELSE (SELECT count(*) FROM (SELECT 1 FROM spells_fts "
    "WHERE spells_fts MATCH :prefix LIMIT :cap)) END"
)


def _lexemes(terms: list[str]) -> TextClause:
    """PostgreSQL: spells holding every word of ``terms``, as a word or the start of one.

    Each word up to PREFIX_CHARS characters is one exact lexeme of the indexed starts, which the
    planner estimates from its statistics; a longer one is matched as a prefix and also names its
    first PREFIX_CHARS characters, so that the estimate still comes from an exact lexeme. The query is
    written into the statement, not bound: the generic plan of a prepared statement would know
    neither the word nor, so, whether to walk or to read the GIN index."""
    lexemes = []
    for term in terms:
        if len(term) <= PREFIX_CHARS:
            lexemes.append(term)
        else:
            lexemes += [term[:PREFIX_CHARS], f"{term}:*"]
    tsquery = " & ".join(lexemes).replace("'", "''")  # words hold letters and digits only
    return text(f"spells.search_vector @@ to_tsquery('simple', '{tsquery}')")


def _inline(count: int) -> ColumnElement[int]:
    """A LIMIT written into the statement: psycopg prepares a statement run often, and PostgreSQL's
    generic plan for it, not knowing the limit, sorts the whole catalog instead of walking the
    order's index (22 ms against 3 ms for a page of a common word at 100 000 spells)."""
    return literal_column(str(int(count)), Integer)


def _delisted(spell: Any) -> ColumnElement[bool]:
    """Whether the latest version of ``spell`` was delisted: a subquery run per spell, which the
    planner cannot turn into an anti-join hashing every delisted version in the catalog."""
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
