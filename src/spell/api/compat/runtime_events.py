"""``GET /api/spell-executions/{id}/events``: spell-runtime's server-sent events of an execution.

spell-runtime sends ``snapshot`` first, ``execution`` whenever the execution changed, then
``terminal`` and closes; each ``data`` is ``{"execution": …, "receipt": …}``, heartbeats are
``: ping`` comments. Here the stream wakes on the cast hub (as ``/v1/casts/{id}/events`` does) and
re-reads at least every second, so a cast ended by another process is seen too.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from spell.api.compat.access import CallerPrincipal
from spell.api.compat.errors import CompatRoute
from spell.api.compat.runtime_executions import buttons_by_id, check_execution_id
from spell.api.compat.shapes import TERMINAL, execution_summary, receipt, runtime_status
from spell.api.deps import CurrentPlatform, blocking
from spell.models import Button, Cast
from spell.platform.cast.hub import wait_event

__all__ = ["router"]

router = APIRouter(route_class=CompatRoute, include_in_schema=False)


def _event(name: str, payload: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(payload)}\n\n".encode()


def _snapshot(cast: Cast, button: Button | None) -> dict[str, Any]:
    return {"execution": execution_summary(cast, button), "receipt": receipt(cast)}


@router.get("/api/spell-executions/{execution_id}/events")
async def execution_events(
    execution_id: str, request: Request, principal: CallerPrincipal, platform: CurrentPlatform
) -> StreamingResponse:
    """Server-sent events: ``snapshot``, ``execution`` on each change, ``terminal``, then the end."""
    check_execution_id(execution_id)
    cast = await blocking(platform.casts.get, principal, execution_id)  # 404 before the stream starts
    button = (await blocking(buttons_by_id, platform, principal)).get(cast.button_id or "")
    heartbeat = platform.settings.sse_heartbeat_seconds

    async def stream() -> AsyncIterator[bytes]:
        current = cast
        last = _snapshot(current, button)
        yield _event("snapshot", last)
        beat = time.monotonic()
        while runtime_status(current) not in TERMINAL:
            with platform.casts.hub.watch(execution_id) as woke:
                current = await blocking(platform.casts.get, principal, execution_id)
                seen = _snapshot(current, button)
                if seen != last:
                    last = seen
                    yield _event("execution", seen)
                if runtime_status(current) in TERMINAL or await request.is_disconnected():
                    break
                if not await wait_event(woke, min(heartbeat, 1.0)) and time.monotonic() - beat >= heartbeat:
                    beat = time.monotonic()
                    yield b": ping\n\n"
        if runtime_status(current) in TERMINAL:
            yield _event("terminal", _snapshot(current, button))

    headers = {"Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)
