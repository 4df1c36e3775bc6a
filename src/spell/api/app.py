"""``create_app(settings)``: the FastAPI application of the platform."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI
from fastapi.routing import APIRoute

from spell.api import compat
from spell.api.errors import install_error_handlers
from spell.api.jwt_setup import jwt_verifier
from spell.api.mcp import McpEndpoint
from spell.api.middleware import BodyLimitMiddleware, RequestIdMiddleware
from spell.api.observe import AccessLogMiddleware, add_tracing
from spell.api.routes import (
    abuse,
    admin,
    artifacts,
    billing,
    buttons,
    casts,
    health,
    me,
    metrics,
    money,
    privacy,
    retention,
    sigstore,
    spells,
    supply,
    webhooks,
)
from spell.api.schemas import error_docs
from spell.api.security import CorsMiddleware, SecurityHeadersMiddleware
from spell.config.server import ServerSettings
from spell.platform import tracing
from spell.platform.auth.jwt import JwtVerifier
from spell.platform.ratelimit.limiter import RateLimiter
from spell.platform.server import Platform
from spell.web import install_console

__all__ = ["create_app"]


def create_app(
    settings: ServerSettings,
    *,
    platform: Platform | None = None,
    manage: bool = True,
    jwt: JwtVerifier | None = None,
) -> FastAPI:
    """Build the app; with ``manage`` the lifespan starts and stops the platform's worker pool.

    ``jwt`` overrides the verifier built from the JWKS settings (None there: API keys only).
    """
    chosen = platform or Platform.build(settings)
    if not tracing.is_on():
        provider = tracing.provider_for(settings.trace_exporter)
        if provider is not None:
            tracing.install(provider)

    mcp = McpEndpoint(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if manage:
            # one of several processes: the others' casts are alive (the parent recovered dead ones)
            chosen.start(recover=settings.processes == 1)
        await anyio.to_thread.run_sync(chosen.orchestrator.open_loop_connections)
        try:
            async with mcp.running():
                yield
        finally:
            chosen.orchestrator.close()  # the request side's cast threads end with the app
            if manage:
                chosen.stop()

    app = FastAPI(
        title="Spell",
        version="1",
        summary="Signed, sandboxed, pay-per-use programs.",
        description='Every non-2xx response is {"ok": false, "error": {code, message, details, request_id}}.',
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
    )
    app.state.platform = chosen
    app.state.jwt = jwt or jwt_verifier(settings)
    app.state.limiter = _limiter(settings)
    app.state.metrics_token = settings.metrics_token
    install_error_handlers(app)
    # Casts first: the router tries routes in order, and the cast route is by far the busiest.
    for module in (
        casts,
        health,
        me,
        privacy,
        spells,
        sigstore,
        buttons,
        artifacts,
        admin,
        abuse,
        money,
        billing,
        webhooks,
        supply,
        retention,
    ):
        app.include_router(module.router, responses=_ERROR_RESPONSES)
    app.include_router(metrics.router)
    app.include_router(compat.router)  # spell-runtime's shapes, its own error body: no /v1 docs
    mcp.mount(app)
    install_console(app, chosen)  # the console's pages at /, after every API route
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(CorsMiddleware, allow_origins=settings.cors_allow_origins)
    app.add_middleware(SecurityHeadersMiddleware)
    if settings.access_log:
        app.add_middleware(AccessLogMiddleware)
    app.add_middleware(RequestIdMiddleware)
    add_tracing(app)  # outermost: the request's span covers everything the app does for it
    return app


def _operation_id(route: APIRoute) -> str:
    """The handler's name (``cast_spell``, ``list_casts``): what generated clients call their methods."""
    return route.name


def _limiter(settings: ServerSettings) -> RateLimiter:
    per_credential, per_tenant = settings.rate_limit_per_minute, settings.tenant_rate_limit_per_minute
    if settings.rate_limit_url:
        return RateLimiter(settings.rate_limit_url, per_credential=per_credential, per_tenant=per_tenant)
    # Each server process keeps its own counters: each gets its share, so the sum stays the limit.
    return RateLimiter.in_memory(
        per_credential=_share(per_credential, settings.processes),
        per_tenant=_share(per_tenant, settings.processes),
    )


def _share(limit: int, processes: int) -> int:
    return max(1, limit // processes) if limit > 0 else 0


_ERROR_RESPONSES = error_docs(
    {
        400: "BAD_REQUEST: a request the server cannot read",
        401: "UNAUTHORIZED",
        403: "FORBIDDEN, TENANT_FORBIDDEN, USER_BANNED, POLICY_DENIED",
        404: "*_NOT_FOUND",
        409: "IDEMPOTENCY_CONFLICT, ALREADY_TERMINAL, NOT_RETRYABLE",
        410: "ARTIFACT_EXPIRED",
        413: "PAYLOAD_TOO_LARGE",
        429: "RATE_LIMITED (with Retry-After)",
        422: "VALIDATION_ERROR",
        500: "INTERNAL",
    }
)
