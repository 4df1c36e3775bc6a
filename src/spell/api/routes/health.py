"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import text

from spell.api.deps import CurrentPlatform
from spell.api.routing import GuardedRoute

router = APIRouter(route_class=GuardedRoute, tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, Any]:
    """The process is up."""
    return {"ok": True}


@router.get("/readyz")
def readyz(platform: CurrentPlatform) -> dict[str, Any]:
    """The database answers; 500 otherwise."""
    with platform.db.unit_of_work(write=False) as uow:
        uow.session.execute(text("SELECT 1"))
    return {"ok": True, "database": platform.db.engine.dialect.name}
