"""Security headers on every answer of the server, and CORS for the REST API (pure ASGI middleware).

The console's pages load scripts and styles only from this server (``/static``), so the policy
allows neither inline scripts nor other origins. HSTS is sent only on requests that arrived over
https (as uvicorn reports them, ``--proxy-headers`` included): on plain http it would be ignored,
and on a development ``localhost`` it would pin the browser to https for a year.

CORS covers ``/v1`` and the compatibility ``/api`` routes only: the console is same-origin by
design and ``/mcp`` checks origins itself. Credentials are bearer tokens, never cookies, so
``Access-Control-Allow-Credentials`` is never sent and ``*`` is safe to configure.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from spell.api.middleware import header
from spell.platform import metrics

__all__ = ["API_DOCS_POLICY", "CONTENT_SECURITY_POLICY", "CorsMiddleware", "SecurityHeadersMiddleware"]

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# FastAPI's interactive API docs are a page of the framework's: Swagger UI and ReDoc from their CDN,
# started by an inline script. They show no tenant data, so they alone keep what they need.
API_DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com "
    "https://cdn.redoc.ly; worker-src blob:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'"
)
API_DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})
_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    # Artifact URLs carry their signature in the query: never hand them to another site.
    (b"referrer-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
)
_HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")

CORS_PATHS = ("/v1/", "/api/")
_ALLOWED_METHODS = b"GET, POST, PUT, PATCH, DELETE"
_ALLOWED_HEADERS = (
    "authorization",
    "content-type",
    "idempotency-key",
    "prefer",
    "last-event-id",
    "x-request-id",
)
_EXPOSED = (
    b"Location, Retry-After, X-Request-Id, X-Spell-Digest, "
    b"RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, RateLimit-Policy"
)


class SecurityHeadersMiddleware:
    """Add the security headers to every HTTP response that does not set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = (*_HEADERS, _HSTS) if scope.get("scheme") == "https" else _HEADERS
        if scope["path"] in API_DOCS_PATHS:
            extra = ((b"content-security-policy", API_DOCS_POLICY.encode()), *extra[1:])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                present = {name.lower() for name, _ in headers}
                headers.extend((name, value) for name, value in extra if name not in present)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class CorsMiddleware:
    """Answer CORS preflights of the REST API and mark its answers readable by allowed origins.

    An allowed origin's preflight gets 204 with the methods and headers the API reads; another
    origin's gets 403 ``FORBIDDEN``, and its plain requests get no CORS headers (the browser then
    keeps the answer from the page).
    """

    def __init__(self, app: ASGIApp, allow_origins: Iterable[str]) -> None:
        self.app = app
        self.allow_origins = frozenset(origin.rstrip("/") for origin in allow_origins)
        self.allow_any = "*" in self.allow_origins

    def allows(self, origin: str) -> bool:
        """True when ``origin`` may read the API's answers."""
        return self.allow_any or origin in self.allow_origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(CORS_PATHS):
            await self.app(scope, receive, send)
            return
        origin = (header(scope, b"origin") or b"").decode("latin-1")
        if not origin:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        allowed = self.allows(origin)
        if scope["method"] == "OPTIONS" and b"access-control-request-method" in headers:
            await self._preflight(scope, send, origin, allowed, headers)
            return
        if not allowed:
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = message.setdefault("headers", [])
                out.extend(_origin_headers(origin))
                out.append((b"access-control-expose-headers", _EXPOSED))
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _preflight(
        self, scope: Scope, send: Send, origin: str, allowed: bool, headers: dict[bytes, bytes]
    ) -> None:
        if not allowed:
            await _forbidden(scope, send, origin)
            return
        asked = headers.get(b"access-control-request-headers", b"").decode("latin-1")
        granted = [h.strip() for h in asked.split(",") if h.strip().lower() in _ALLOWED_HEADERS]
        out = [
            *_origin_headers(origin),
            (b"access-control-allow-methods", _ALLOWED_METHODS),
            (b"access-control-allow-headers", ", ".join(granted or _ALLOWED_HEADERS).encode("latin-1")),
            (b"access-control-max-age", b"600"),
            (b"content-length", b"0"),
        ]
        await send({"type": "http.response.start", "status": 204, "headers": out})
        await send({"type": "http.response.body", "body": b""})


def _origin_headers(origin: str) -> list[tuple[bytes, bytes]]:
    return [(b"access-control-allow-origin", origin.encode("latin-1")), (b"vary", b"Origin")]


async def _forbidden(scope: Scope, send: Send, origin: str) -> None:
    metrics.error("FORBIDDEN")
    state: dict[str, Any] = scope.get("state", {})
    body = {
        "ok": False,
        "error": {
            "code": "FORBIDDEN",
            "message": "this origin may not call the API from a browser",
            "details": {"origin": origin},
            "hint": "the operator lists allowed origins in SPELL_SERVER_CORS_ALLOW_ORIGINS",
            "request_id": state.get("request_id"),
        },
    }
    raw = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": raw})
