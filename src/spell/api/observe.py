"""What the app adds for operators: one access-log line per request, and the tracing middleware.

The access line goes to the ``spell.access`` logger at ``info`` with the method, path, status,
duration, request id and the cast the request made or named (from its ``Location`` header or its
``cast_id`` path parameter), so a cast's lines and its request's line can be joined.
"""

from __future__ import annotations

import logging
import time

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from spell.platform import tracing

__all__ = ["AccessLogMiddleware", "add_tracing"]

_log = logging.getLogger("spell.access")
_CAST_PATH = b"/v1/casts/"


class AccessLogMiddleware:
    """Log each HTTP request once it has been answered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status, location = 500, b""

        async def send_seen(message: Message) -> None:
            nonlocal status, location
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", ()):
                    if name == b"location":
                        location = value
            await send(message)

        try:
            await self.app(scope, receive, send_seen)
        finally:
            path = scope["path"]
            _log.info(
                "%s %s %d",
                scope["method"],
                path,
                status,
                extra={
                    "method": scope["method"],
                    "path": path,
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                    "cast_id": _cast_of(scope, location),
                },
            )


def _cast_of(scope: Scope, location: bytes) -> str | None:
    if location.startswith(_CAST_PATH):
        return location[len(_CAST_PATH) :].split(b"/", 1)[0].decode("latin-1")
    named = scope.get("path_params", {}).get("cast_id")
    return named if isinstance(named, str) else None


def add_tracing(app: FastAPI) -> None:
    """Open a server span per request, continuing a W3C ``traceparent`` the client sent (only while
    tracing is on: otherwise the middleware is not there at all)."""
    provider = tracing.installed()
    if provider is None:
        return
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    app.add_middleware(OpenTelemetryMiddleware, tracer_provider=provider)
