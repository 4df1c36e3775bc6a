"""Catalog search: full-text matching, keyset cursors per order, and the visibility rules kept."""

from __future__ import annotations

from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import delete, event, select, text

from spell.errors import InvalidInput
from spell.kit.encoding import b64url_encode
from spell.kit.search_words import indexed, words
from spell.kit.time import utcnow
from spell.models import Publisher, Spell, SpellVersion, Tenant
from spell.models.spell_search import PREFIX_CHARS
from spell.platform.auth.schemas import Principal
from spell.platform.server import Platform
from spell.platform.spell import listing
from spell.platform.spell.repository import SpellRepository
from spell.storage.engine import make_engine
from spell.storage.migrate import alembic_config, upgrade
from spell.storage.session import Database

T0 = utcnow()


def _reader(tenant: str) -> Principal:
    return Principal("usr_" + tenant, tenant, ("caster",), ("spell:read",))


def _spell(
    spell_id: str,
    tenant: str,
    *,
    summary: str = "",
    visibility: str = "public",
    minutes: int = 0,
    **kw: object,
) -> Spell:
    return Spell(
        id=spell_id,
        publisher=spell_id.split("/")[0],
        tenant_id=tenant,
        name=spell_id.split("/")[1],
        summary=summary,
        tags=kw.pop("tags", []),
        visibility=visibility,
        latest_version="1.0.0",
        created_at=T0,
        updated_at=T0 + timedelta(minutes=minutes),
        **kw,
    )


@pytest.fixture
def catalog(platform: Platform) -> Platform:
    with platform.db.unit_of_work() as uow:
        for tenant in ("ten_a", "ten_b"):
            uow.session.add(Tenant(id=tenant, name=tenant, created_at=T0))
        uow.session.flush()
        uow.session.add_all(
            [
                Publisher(name="acme", tenant_id="ten_a", created_at=T0),
                Publisher(name="zeta", tenant_id="ten_b", created_at=T0),
            ]
        )
        uow.session.flush()
        uow.session.add_all(
            [
                _spell(
                    "acme/pdf-merge",
                    "ten_a",
                    summary="Merge PDF files",
                    minutes=1,
                    cast_count=5,
                    price_amount=30,
                    tags=["pdf"],
                ),
                _spell(
                    "acme/pdf-split",
                    "ten_a",
                    summary="Split a PDF by page",
                    minutes=2,
                    cast_count=9,
                    price_amount=10,
                ),
                _spell(
                    "acme/resize", "ten_a", summary="Resize images", minutes=3, cast_count=5, price_amount=20
                ),
                _spell("zeta/secret-pdf", "ten_b", summary="PDF redaction", visibility="private", minutes=4),
                _spell("zeta/shown-pdf", "ten_b", summary="PDF viewer", visibility="unlisted", minutes=5),
                _spell("zeta/gone-pdf", "ten_b", summary="PDF delisted", minutes=6),
            ]
        )
        uow.session.flush()
        uow.session.add(
            SpellVersion(
                id="ver_gone",
                spell_id="zeta/gone-pdf",
                version="1.0.0",
                digest="sha256:0",
                execution="wasm",
                manifest={},
                input_schema={},
                archive_size=1,
                created_at=T0,
                delisted_at=T0,
            )
        )
    return platform


def _ids(platform: Platform, tenant: str, **query: object) -> list[str]:
    with platform.db.unit_of_work(write=False) as uow:
        return [s.id for s in platform.spells.search(uow, _reader(tenant), **query).items]  # type: ignore[arg-type]


def test_words_match_ids_names_and_summaries_by_prefix_case_folded(catalog: Platform) -> None:
    assert _ids(catalog, "ten_a", q="PDF") == ["acme/pdf-split", "acme/pdf-merge"]
    assert _ids(catalog, "ten_a", q="merg") == ["acme/pdf-merge"]  # the start of a word
    assert _ids(catalog, "ten_a", q="pdf page") == ["acme/pdf-split"]  # every word must match
    assert _ids(catalog, "ten_a", q="erge") == []  # the middle of a word is not a word
    assert _ids(catalog, "ten_a", q="acme/resize") == ["acme/resize"]
    assert _ids(catalog, "ten_a", q='"*') == []  # punctuation alone names no word
    assert _ids(catalog, "ten_a", q="pdf", tag="pdf") == ["acme/pdf-merge"]


def test_private_spells_only_for_their_tenant_and_delisted_ones_for_nobody(catalog: Platform) -> None:
    assert _ids(catalog, "ten_a", q="pdf") == ["acme/pdf-split", "acme/pdf-merge"]
    assert _ids(catalog, "ten_b", q="pdf") == [
        "zeta/shown-pdf",
        "zeta/secret-pdf",
        "acme/pdf-split",
        "acme/pdf-merge",
    ]


def test_renamed_summaries_are_searched_by_their_new_words(catalog: Platform) -> None:
    with catalog.db.unit_of_work() as uow:
        spell = uow.session.get(Spell, "acme/resize")
        assert spell is not None
        spell.summary = "Thumbnail maker"
    assert _ids(catalog, "ten_a", q="thumb") == ["acme/resize"]
    assert _ids(catalog, "ten_a", q="images") == []


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("recent", ["acme/resize", "acme/pdf-split", "acme/pdf-merge"]),
        ("popular", ["acme/pdf-split", "acme/pdf-merge", "acme/resize"]),  # a tie goes by id
        ("price", ["acme/pdf-split", "acme/resize", "acme/pdf-merge"]),
    ],
)
def test_cursors_walk_each_order_one_spell_at_a_time(
    catalog: Platform, sort: str, expected: list[str]
) -> None:
    seen: list[str] = []
    cursor = None
    with catalog.db.unit_of_work(write=False) as uow:
        while True:
            page = catalog.spells.search(uow, _reader("ten_a"), sort=sort, limit=1, cursor=cursor)
            seen += [s.id for s in page.items]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
            # the cursor carries its order: a page without ``sort`` continues it
            assert (
                catalog.spells.search(uow, _reader("ten_a"), limit=1, cursor=cursor).items
                == catalog.spells.search(uow, _reader("ten_a"), sort=sort, limit=1, cursor=cursor).items
            )
    assert seen == expected


@pytest.mark.parametrize(
    "cursor",
    [
        "%%%",
        b64url_encode(b"o:20"),  # the offsets the listing used to hand out
        b64url_encode(b'["loud",1,"acme/x"]'),
        b64url_encode(b'["popular","1","acme/x"]'),
        b64url_encode(b'["recent","2026-01-01T00:00:00","acme/x"]'),  # no time zone
        b64url_encode(b'["price",1,"acme/\\u0000"]'),
        b64url_encode(b'["price",99999999999999999999,"acme/x"]'),
        b64url_encode(b'{"a":1}'),
    ],
)
def test_a_cursor_this_server_did_not_issue_is_a_validation_error(catalog: Platform, cursor: str) -> None:
    with pytest.raises(InvalidInput) as refused, catalog.db.unit_of_work(write=False) as uow:
        catalog.spells.search(uow, _reader("ten_a"), cursor=cursor)
    assert refused.value.code == "VALIDATION_ERROR"


def test_a_cursor_used_with_another_order_is_a_validation_error(catalog: Platform) -> None:
    with catalog.db.unit_of_work(write=False) as uow:
        cursor = catalog.spells.search(uow, _reader("ten_a"), sort="price", limit=1).next_cursor
        with pytest.raises(InvalidInput) as refused:
            catalog.spells.search(uow, _reader("ten_a"), sort="popular", cursor=cursor)
    assert refused.value.code == "VALIDATION_ERROR"


def _walk(platform: Platform, tenant: str, sort: str, limit: int, **query: object) -> list[str]:
    """Every spell a search lists, page after page by cursor."""
    seen: list[str] = []
    cursor = None
    with platform.db.unit_of_work(write=False) as uow:
        while True:
            page = platform.spells.search(
                uow,
                _reader(tenant),
                sort=None if cursor else sort,
                limit=limit,
                cursor=cursor,
                **query,  # type: ignore[arg-type]
            )
            seen += [s.id for s in page.items]
            if page.next_cursor is None:
                return seen
            cursor = page.next_cursor


def _more_pdf_spells(platform: Platform) -> None:
    """Enough matches that a word's page can be filled early or late in each order."""
    with platform.db.unit_of_work() as uow:
        uow.session.add_all(
            [
                _spell(
                    f"acme/doc-tool-{i}",
                    "ten_a",
                    summary="pdf tool" if i % 3 else "image tool",
                    minutes=10 + i % 4,
                    cast_count=i % 5,
                    price_amount=i % 7,
                    tags=["pdf"] if i % 2 else [],
                )
                for i in range(12)
            ]
        )


_QUERIES: list[dict[str, object]] = [
    {"q": "pdf"},
    {"q": "tool"},
    {"q": "pdf tool"},
    {"q": "pdf", "tag": "pdf"},
    {"q": "image"},
    {"q": "to"},
    {"q": "doc tool 1"},
    {"q": "nothing"},
]
_ORDER_KEYS = {"recent": "updated_at", "popular": "cast_count", "price": "price_amount"}


def _expected(platform: Platform, tenant: str, sort: str, q: str, tag: str | None = None) -> list[str]:
    """What a search lists, worked out in Python from every spell: the visibility rules, the delisted
    latest versions, every word of ``q`` starting a word of the spell, ``tag``, the order, ties by id."""
    with platform.db.unit_of_work(write=False) as uow:
        spells = list(uow.session.scalars(select(Spell)))
        delisted = {
            (v.spell_id, v.version)
            for v in uow.session.scalars(select(SpellVersion).where(SpellVersion.delisted_at.is_not(None)))
        }
    terms = words(q)
    kept = [
        s
        for s in spells
        if (s.visibility == "public" or s.tenant_id == tenant)
        and (s.id, s.latest_version) not in delisted
        and all(any(w.startswith(t) for w in words(f"{s.id} {s.name} {s.summary}")) for t in terms)
        and (tag is None or tag in s.tags)
    ]
    key = _ORDER_KEYS[sort]
    kept.sort(key=lambda s: s.id)
    kept.sort(key=lambda s: getattr(s, key), reverse=sort != "price")  # stable: ties stay by id
    return [s.id for s in kept]


@pytest.mark.parametrize("sort", ["recent", "popular", "price"])
def test_a_word_lists_the_spells_its_words_name_whichever_way_the_matches_are_read(
    catalog: Platform, monkeypatch: pytest.MonkeyPatch, sort: str
) -> None:
    """Every page of every order, tenant and page size lists what the words name. On SQLite, common
    words walk the order's index testing each spell's stored words and rare ones sort their FTS5
    matches: forcing each way over the same catalog lists the same spells."""
    _more_pdf_spells(catalog)
    cases = [
        (tenant, limit, query) for tenant in ("ten_a", "ten_b") for limit in (1, 2, 5) for query in _QUERIES
    ]
    expected = [_expected(catalog, tenant, sort, **query) for tenant, _, query in cases]  # type: ignore[arg-type]
    assert len(expected[0]) == 10  # 8 of the 12 new spells and the two pdf spells of the catalog
    assert expected[-1] == []
    statements: list[str] = []
    event.listen(catalog.db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    # the statement each way runs: as chosen, a walk testing stored words, the FTS5 matches sorted
    ways: list[tuple[int, str | None]] = [(listing.COMMON_MATCHES, None)]
    if catalog.db.engine.dialect.name == "sqlite":
        ways += [(-1, "instr(spells.search_words"), (10**9, "spells.id IN (SELECT spell_id FROM spells_fts")]
    for common, marker in ways:
        monkeypatch.setattr(listing, "COMMON_MATCHES", common)
        statements.clear()
        for (tenant, limit, query), listed in zip(cases, expected, strict=True):
            assert _walk(catalog, tenant, sort, limit, **query) == listed, (common, tenant, limit, query)
        if marker is not None:
            searches = [s for s in statements if s.startswith("SELECT spells.")]  # not the count
            assert searches
            assert all(marker in s for s in searches), marker


def test_words_longer_than_the_indexed_starts_and_letters_beyond_ascii(catalog: Platform) -> None:
    """PostgreSQL indexes the starts of words up to PREFIX_CHARS characters; a longer query word is
    still matched as the start of a word. Words are lower-cased letters of any script, on both."""
    with catalog.db.unit_of_work() as uow:
        uow.session.add_all(
            [
                _spell("acme/long", "ten_a", summary="Supercalifragilisticexpialidocious maker"),
                _spell("acme/dessert", "ten_a", summary="CRÈME brûlée"),
            ]
        )
    word = "supercalifragilisticexpialidocious"
    assert len(word) > PREFIX_CHARS
    assert _ids(catalog, "ten_a", q=word) == ["acme/long"]
    assert _ids(catalog, "ten_a", q=word[: PREFIX_CHARS + 1]) == ["acme/long"]
    assert _ids(catalog, "ten_a", q=word[:PREFIX_CHARS]) == ["acme/long"]
    assert _ids(catalog, "ten_a", q=word + "x") == []
    assert _ids(catalog, "ten_a", q="califragilistic") == []  # the middle of a word, even a long one
    assert _ids(catalog, "ten_a", q="crème BRÛ") == ["acme/dessert"]
    assert _ids(catalog, "ten_a", q="creme") == []  # accents are letters of their own, on both


def test_stored_words_follow_renames_and_leave_with_the_spell(catalog: Platform) -> None:
    """SQLite's triggers keep each spell's stored words and its FTS5 row in step with the spell."""
    if catalog.db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL generates its tsvector from the row itself")
    with catalog.db.unit_of_work() as uow:
        spell = uow.session.get(Spell, "acme/resize")
        assert spell is not None
        spell.name, spell.summary = "Shrink", "Thumbnail maker, v2"
    with catalog.db.engine.connect() as conn:
        stored = conn.execute(text("SELECT search_words FROM spells WHERE id = 'acme/resize'")).scalar_one()
        assert (
            stored
            == indexed("acme/resize", "Shrink", "Thumbnail maker, v2")
            == " acme resize shrink thumbnail maker v2"
        )
        assert conn.execute(
            text("SELECT words FROM spells_fts WHERE spell_id = 'acme/resize'")
        ).scalars().all() == [stored]
    with catalog.db.unit_of_work() as uow:
        uow.session.execute(delete(Spell).where(Spell.id == "acme/resize"))
    with catalog.db.engine.connect() as conn:
        assert (
            conn.execute(text("SELECT count(*) FROM spells_fts WHERE spell_id = 'acme/resize'")).scalar_one()
            == 0
        )


def test_migration_0014_rebuilds_the_index_from_the_spells_and_its_downgrade_restores_0012s(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Spells published before 0014 are found after it, by either way of reading the matches."""
    upgrade(empty_database_url, "0013")
    engine = make_engine(empty_database_url)
    db = Database(engine)
    try:
        with db.unit_of_work() as uow:  # the models map no column of the full-text index
            uow.session.add(Tenant(id="ten_a", name="ten_a", created_at=T0))
            uow.session.flush()
            uow.session.add(Publisher(name="acme", tenant_id="ten_a", created_at=T0))
            uow.session.flush()
            uow.session.add(_spell("acme/pdf-merge", "ten_a", summary="Merge PDF files"))
        upgrade(empty_database_url)
        ways = (0, 10**9) if engine.dialect.name == "sqlite" else (listing.COMMON_MATCHES,)
        for common in ways:
            monkeypatch.setattr(listing, "COMMON_MATCHES", common)
            with db.unit_of_work(write=False) as uow:
                found = SpellRepository().listed(
                    uow, "ten_a", q="merg pdf", tag=None, sort="recent", after=None, limit=5
                )
            assert [s.id for s in found] == ["acme/pdf-merge"]
        db.dispose()
        command.downgrade(alembic_config(empty_database_url), "0013")
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                hits = "SELECT spell_id FROM spells_fts WHERE spells_fts MATCH 'merg*'"
            else:
                hits = "SELECT id FROM spells WHERE search_vector @@ to_tsquery('simple', 'merg:*')"
            assert conn.execute(text(hits)).scalars().all() == ["acme/pdf-merge"]
    finally:
        db.dispose()


def _gin_options(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            options = conn.execute(
                text("SELECT reloptions FROM pg_class WHERE oid = to_regclass('ix_spells_search_vector')")
            ).scalar_one()
    finally:
        engine.dispose()
    return list(options or [])


def test_the_postgresql_full_text_index_keeps_no_pending_list(
    empty_database_url: str, database_url: str
) -> None:
    """A pending list is read in full by every search until a vacuum merges it, so the index is
    updated on each write instead, whether the schema came from the migrations or from the models."""
    if not empty_database_url.startswith("postgresql"):
        pytest.skip("SQLite's full-text index is an FTS5 table")
    upgrade(empty_database_url)
    assert "fastupdate=off" in _gin_options(empty_database_url)
    assert "fastupdate=off" in _gin_options(database_url)
