"""Compatibility routes under ``/api``: spell-runtime's execution API and the Spell v1 kernel routes,
each a thin adapter over the services the ``/v1`` routes call (docs/compat.md lists the differences).

Every answer here, errors included, has spell-runtime's shape: ``{"ok": true, …}`` or
``{"ok": false, "error_code": "…", "message": "…"}``.
"""

from __future__ import annotations

from fastapi import APIRouter

from spell.api.compat import kernel, runtime_events, runtime_executions, runtime_listing
from spell.api.compat.errors import CompatRoute, unknown_route

__all__ = ["router"]

router = APIRouter(route_class=CompatRoute, include_in_schema=False)
router.include_router(runtime_listing.router)
router.include_router(runtime_executions.router)
router.include_router(runtime_events.router)
router.include_router(kernel.router)
# Last: any other path under /api answers spell-runtime's 404, not the /v1 envelope.
router.add_api_route(
    "/api/{rest:path}",
    unknown_route,
    methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
    include_in_schema=False,
)
