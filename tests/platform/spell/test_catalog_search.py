"""Catalog search: full-text matching, keyset cursors per order, and the visibility rules kept."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, text

from spell.errors import InvalidInput
from spell.kit.encoding import b64url_encode
from spell.kit.time import utcnow
from spell.models import Publisher, Spell, SpellVersion, Tenant
from spell.platform.auth.schemas import Principal
from spell.platform.server import Platform
from spell.platform.spell import listing
from spell.storage.engine import make_engine
from spell.storage.migrate import upgrade

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
    {"q": "nothing"},
]


@pytest.mark.parametrize("sort", ["recent", "popular", "price"])
def test_a_word_lists_the_same_spells_whichever_way_the_matches_are_read(
    catalog: Platform, monkeypatch: pytest.MonkeyPatch, sort: str
) -> None:
    """Common words walk the order's index; rare ones sort their matches. Forcing each way over the same
    catalog lists the same spells in the same order, page by page."""
    _more_pdf_spells(catalog)
    statements: list[str] = []
    event.listen(catalog.db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    usual = {
        (tenant, limit, i): _walk(catalog, tenant, sort, limit, **query)
        for tenant in ("ten_a", "ten_b")
        for limit in (1, 2, 5)
        for i, query in enumerate(_QUERIES)
    }
    assert len(usual["ten_a", 2, 0]) == 10  # 8 of the 12 new spells and the two pdf spells of the catalog
    assert usual["ten_b", 5, 5] == []
    # every word is common (SQLite walks with the FTS5 matches as a set) and no walk fills a page
    # (PostgreSQL sorts the matches read from the GIN index)
    monkeypatch.setattr(listing, "COMMON_MATCHES", 0)
    monkeypatch.setattr(listing, "WALK_ROWS_PER_ITEM", 0)
    statements.clear()
    for (tenant, limit, i), expected in usual.items():
        assert _walk(catalog, tenant, sort, limit, **_QUERIES[i]) == expected, (tenant, limit, _QUERIES[i])
    forced = "+spells.id IN" if catalog.db.engine.dialect.name == "sqlite" else "matches AS MATERIALIZED"
    assert any(forced in s for s in statements)


def test_a_common_word_is_sorted_from_its_matches_when_the_walk_runs_out(
    catalog: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A walk bounded to fewer spells than the page needs falls back to the matches, so a page is never
    short while later spells match."""
    _more_pdf_spells(catalog)
    expected = _walk(catalog, "ten_a", "popular", 5, q="pdf")
    monkeypatch.setattr(listing, "WALK_ROWS_PER_ITEM", 1)
    monkeypatch.setattr(listing, "COMMON_MATCHES", 2)
    assert _walk(catalog, "ten_a", "popular", 5, q="pdf") == expected
    assert len(expected) == 10  # 8 of the 12 new spells and the two pdf spells of the catalog


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
