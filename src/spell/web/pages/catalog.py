"""The catalog: listed spells with search, a tag filter and a sort order."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from spell.api.deps import blocking
from spell.platform.auth.schemas import Principal
from spell.platform.server import Platform
from spell.platform.spell.repository import SORTS
from spell.platform.spell.schemas import SpellList, SpellOut
from spell.web.routing import PageRoute
from spell.web.session import CurrentSession
from spell.web.templating import Pages

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PAGE_SIZE = 24


def _search(
    platform: Platform, principal: Principal, q: str | None, tag: str | None, sort: str, cursor: str | None
) -> SpellList:
    with platform.db.unit_of_work(write=False) as uow:
        page = platform.spells.search(uow, principal, q=q, tag=tag, sort=sort, limit=PAGE_SIZE, cursor=cursor)
        return SpellList(items=[SpellOut.from_row(s) for s in page.items], next_cursor=page.next_cursor)


@router.get("/spells", response_class=HTMLResponse)
async def catalog(
    request: Request,
    session: CurrentSession,
    q: str | None = None,
    tag: str | None = None,
    sort: str = "recent",
    cursor: str | None = None,
) -> HTMLResponse:
    """Search the grimoire as ``GET /v1/spells`` does (public spells and the tenant's own)."""
    platform: Platform = request.app.state.platform
    found = await blocking(_search, platform, session.principal, q or None, tag or None, sort, cursor or None)
    tags = sorted({t for spell in found.items for t in spell.tags} | ({tag} if tag else set()))
    pages: Pages = request.app.state.pages
    context = {
        "spells": found.items,
        "next_cursor": found.next_cursor,
        "q": q or "",
        "tag": tag or "",
        "sort": sort,
        "sorts": SORTS,
        "tags": tags,
    }
    return pages.render(request, "catalog.html", context)
