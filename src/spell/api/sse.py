"""The server-sent event stream of one cast, shared by the REST route and the console."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

from starlette.requests import Request

from spell.api.deps import blocking
from spell.models import TERMINAL_STATUSES
from spell.platform.auth.schemas import Principal
from spell.platform.cast.hub import wait_event
from spell.platform.cast.schemas import CastEventOut
from spell.platform.server import Platform

__all__ = ["cast_event_stream"]


async def cast_event_stream(
    request: Request, platform: Platform, principal: Principal, cast_id: str, after: int
) -> AsyncIterator[bytes]:
    """The events of a tenant's cast after ``after``: ``id`` per event, heartbeats while it runs, and
    the end after the terminal event (or when the client went away)."""
    seen = after
    heartbeat = platform.settings.sse_heartbeat_seconds
    # Wake-ups come only from casts of this process: with siblings, re-read every second as well.
    shared = platform.settings.processes > 1 or platform.settings.queue_url is not None
    reread = min(heartbeat, 1.0) if shared else heartbeat
    beat = time.monotonic()
    while True:
        with platform.casts.hub.watch(cast_id) as woke:
            cast, rows = await blocking(platform.casts.events_after, principal, cast_id, seen)
            events = [CastEventOut.from_row(row) for row in rows]
            for event in events:
                seen = event.id
                payload = json.dumps({**event.data, "at": event.at})
                yield f"id: {event.id}\nevent: {event.type}\ndata: {payload}\n\n".encode()
            if cast.status in TERMINAL_STATUSES:
                if not events:
                    return
                continue
            if await request.is_disconnected():
                return
            if not await wait_event(woke, reread) and time.monotonic() - beat >= heartbeat - 0.001:
                beat = time.monotonic()
                yield b": heartbeat\n\n"
