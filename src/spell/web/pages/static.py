"""The console's static files (``spell.web.assets``)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from spell.errors import NotFound
from spell.web.assets import Assets
from spell.web.routing import PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/static/{name}")
async def static_file(name: str, request: Request, v: str | None = None) -> Response:
    """A file of ``static/`` by exact name; cached for a year under its versioned URL."""
    assets: Assets = request.app.state.assets
    asset = assets.find(name)
    if asset is None:
        raise NotFound(f"no static file {name!r}", details={"name": name})
    headers = {"Cache-Control": Assets.cache_control(asset, v), "ETag": f'"{asset.version}"'}
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)
