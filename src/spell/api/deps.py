"""Request dependencies: the platform, the authenticated principal, blocking calls off the loop."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from spell.errors import AuthError
from spell.platform import tracing
from spell.platform.auth.bearer import authenticate_bearer, is_api_key
from spell.platform.auth.jwt import JwtVerifier
from spell.platform.auth.schemas import Principal
from spell.platform.ratelimit.errors import CastRateLimited
from spell.platform.ratelimit.limiter import RateLimiter
from spell.platform.server import Platform

__all__ = [
    "CastCall",
    "CastingCall",
    "CurrentPlatform",
    "CurrentPrincipal",
    "bearer_credentials",
    "blocking",
    "get_platform",
    "get_principal",
]

T = TypeVar("T")


async def get_platform(request: Request) -> Platform:
    """The platform the app was built with (async: FastAPI runs plain functions in a thread)."""
    platform: Platform = request.app.state.platform
    return platform


async def blocking(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run database or sandbox work in the thread pool so the event loop keeps serving."""
    return await run_in_threadpool(fn, *args, **kwargs)


def _authenticate(platform: Platform, verifier: JwtVerifier | None, token: str) -> Principal:
    return authenticate_bearer(platform.db, platform.auth, verifier, token)


# Declared as a security scheme so the OpenAPI document (and /docs' Authorize button) knows how to
# authenticate; the scheme itself never answers, so a missing token gets our 401 envelope.
_BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    bearerFormat="API key (sk_live_…) or JWT",
    description="An API key from POST /v1/me/keys, or a JWT from the configured issuer.",
)
Bearer = Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)]


async def bearer_credentials(request: Request) -> HTTPAuthorizationCredentials | None:
    """What ``Bearer`` gives a route, for a handler that reads the request itself."""
    return await _BEARER(request)


async def get_principal(request: Request, credentials: Bearer) -> Principal:
    """Authenticate ``Authorization: Bearer …`` (API key or JWT); 401 when absent or invalid."""
    token = credentials.credentials.strip() if credentials is not None else ""
    if not token:
        raise AuthError("missing credentials", hint="send 'Authorization: Bearer sk_live_…'")
    platform: Platform = request.app.state.platform
    with tracing.span("spell.auth"):
        cached = is_api_key(token)
        principal = platform.auth.cached_principal(token) if cached else None
        if principal is None:
            verifier: JwtVerifier | None = getattr(request.app.state, "jwt", None)
            principal = await blocking(_authenticate, platform, verifier, token)
    request.state.principal = principal
    return principal


async def get_cast_principal(request: Request, credentials: Bearer) -> Principal:
    """The principal, after counting one cast against its credential's and its tenant's rate limits
    (429 ``RATE_LIMITED`` past either); the answer carries the ``RateLimit-*`` headers."""
    principal = await get_principal(request, credentials)
    limiter: RateLimiter = request.app.state.limiter
    if not limiter.is_on:
        return principal
    credential = f"key:{principal.key_id}" if principal.key_id else f"user:{principal.user_id}"
    try:
        quota = await limiter.hit_on_loop(credential=credential, tenant_id=principal.tenant_id)
    except CastRateLimited as exc:
        request.state.rate_limit_headers = exc.quota.headers(limiter.policies)
        platform: Platform = request.app.state.platform
        if platform.abuse.storms.refused(principal.user_id):
            await blocking(_record_storm, platform, principal)
        raise
    if quota is not None:
        request.state.rate_limit_headers = quota.headers(limiter.policies)
    return principal


def _record_storm(platform: Platform, principal: Principal) -> None:
    with platform.db.unit_of_work() as uow:
        platform.abuse.rate_limit_storm(uow, principal)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
CastingPrincipal = Annotated[Principal, Depends(get_cast_principal)]
CurrentPlatform = Annotated[Platform, Depends(get_platform)]


@dataclass(frozen=True)
class CastCall:
    """What a route that starts a cast reads besides its body: the counted principal, the platform, and
    the ``Idempotency-Key`` and ``Prefer`` headers."""

    principal: Principal
    platform: Platform
    idempotency_key: str | None
    prefer: str | None


async def get_cast_call(request: Request, credentials: Bearer) -> CastCall:
    """The parts of a cast-starting request, read once.

    One dependency, not one per part: FastAPI's solving of each costs every cast several µs. The
    ``Idempotency-Key`` (checked by the cast service, which says how to fix a missing one) and
    ``Prefer`` headers are documented by each route (``IDEMPOTENCY_KEY_DOC``)."""
    principal = await get_cast_principal(request, credentials)
    headers, platform = request.headers, request.app.state.platform
    return CastCall(principal, platform, headers.get("idempotency-key"), headers.get("prefer"))


CastingCall = Annotated[CastCall, Depends(get_cast_call)]
