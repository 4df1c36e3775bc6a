"""``/metrics``: the Prometheus exposition, for a scraper holding ``SPELL_SERVER_METRICS_TOKEN``.

Metrics tell volumes, revenue and error rates: business facts, so the endpoint is off until the
operator sets a token, and then answers only a bearer of it (Prometheus' ``authorization`` scrape
option). One port keeps ``spell serve --processes N`` simple: any process answers for all of them.
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request, Response
from starlette.exceptions import HTTPException

from spell.api.deps import CurrentPlatform, blocking
from spell.api.routing import GuardedRoute
from spell.errors import AuthError
from spell.platform import metrics

router = APIRouter(route_class=GuardedRoute, include_in_schema=False)


@router.get("/metrics")
async def scrape(request: Request, platform: CurrentPlatform) -> Response:
    """Every metric of the platform in the Prometheus text format."""
    token: str | None = request.app.state.metrics_token
    if token is None:
        raise HTTPException(404, "Not Found")
    given = request.headers.get("authorization", "")
    if not secrets.compare_digest(given.encode(), f"Bearer {token}".encode()):
        raise AuthError(
            "/metrics needs the metrics token", hint="send 'Authorization: Bearer <metrics token>'"
        )
    body = await blocking(metrics.exposition, platform.casts.queued_count)
    return Response(body, media_type=metrics.CONTENT_TYPE)
