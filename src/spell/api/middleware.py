"""ASGI middleware: a request id on every request and response (with the rate-limit headers a route
left in the request state), and the body size limit (413)."""

from __future__ import annotations

import json
import secrets
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from spell.api.errors import SpellErrorResponse
from spell.errors import PayloadTooLarge
from spell.platform import logs, metrics

__all__ = ["BodyLimitMiddleware", "RequestIdMiddleware", "header"]


def header(scope: Scope, name: bytes) -> bytes | None:
    """The value of one request header (lower-case ``name``; the last one when sent twice), read
    without building a dict of them all, which every request would pay for in each middleware."""
    found = None
    for key, value in scope["headers"]:
        if key == name:
            found = value
    return found


class RequestIdMiddleware:
    """Take a sane ``X-Request-Id`` from the client or make one; echo it on the response, beside the
    ``RateLimit-*`` headers of a rate-limited route (also on its errors, rendered past the route)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = (header(scope, b"x-request-id") or b"").decode("latin-1")
        request_id = given if 0 < len(given) <= 100 and given.isprintable() else "req_" + secrets.token_hex(8)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                limits = state.get("rate_limit_headers")
                if limits:
                    headers.extend(limits)
            await send(message)

        token = logs.REQUEST_ID.set(request_id)  # log lines of this request, its threads included
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            logs.REQUEST_ID.reset(token)


class BodyLimitMiddleware:
    """Refuse bodies larger than ``max_bytes`` with 413 before the route reads them."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = header(scope, b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await _too_large(scope, send, self.max_bytes)
            return
        seen = 0

        async def limited() -> Message:
            # Bodies without a Content-Length (chunked) are counted as they arrive; the route's read
            # then fails with PAYLOAD_TOO_LARGE, rendered like any other error.
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise SpellErrorResponse(
                        PayloadTooLarge(
                            f"the body exceeds {self.max_bytes} bytes", details={"max_bytes": self.max_bytes}
                        )
                    )
            return message

        await self.app(scope, limited, send)


async def _too_large(scope: Scope, send: Send, max_bytes: int) -> None:
    state: dict[str, Any] = scope.get("state", {})
    message = f"the body exceeds {max_bytes} bytes"
    body: dict[str, Any]
    if str(scope.get("path", "")).startswith("/api/"):
        # The compatibility routes answer in spell-runtime's shape (spell.api.compat.errors).
        metrics.error("INPUT_TOO_LARGE")
        body = {"ok": False, "error_code": "INPUT_TOO_LARGE", "message": message}
        body["request_id"] = state.get("request_id")
    else:
        metrics.error("PAYLOAD_TOO_LARGE")
        body = {
            "ok": False,
            "error": {
                "code": "PAYLOAD_TOO_LARGE",
                "message": message,
                "details": {"max_bytes": max_bytes},
                "request_id": state.get("request_id"),
            },
        }
    raw = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": raw})
