"""Who calls an ``/api`` route: our own credentials, sent as spell-runtime clients send theirs.

spell-runtime takes ``Authorization: Bearer <token>`` or ``x-api-key: <token>``; here the token is one
of our API keys (or a JWT), so the tenant and the roles come from the key, never from the body — as
with spell-runtime's role-bound ``SPELL_API_AUTH_KEYS``. docs/compat.md maps its roles onto ours.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials

from spell.api.compat.errors import ApiError
from spell.api.deps import get_cast_principal, get_principal
from spell.platform.auth.schemas import Principal

__all__ = ["CallerPrincipal", "CastingCaller", "actor_role"]


def _credentials(request: Request) -> HTTPAuthorizationCredentials:
    authorization = request.headers.get("authorization", "").strip()
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        token = request.headers.get("x-api-key", "")
    if not token.strip():
        raise ApiError(401, "AUTH_REQUIRED", "authorization token is required")
    return HTTPAuthorizationCredentials(scheme="Bearer", credentials=token.strip())


async def caller(request: Request) -> Principal:
    """The authenticated caller (401 ``AUTH_REQUIRED`` without a token, ``AUTH_INVALID`` with a bad one)."""
    return await get_principal(request, _credentials(request))


async def casting_caller(request: Request) -> Principal:
    """The caller, counted against the cast rate limits (429 ``RATE_LIMITED``)."""
    return await get_cast_principal(request, _credentials(request))


CallerPrincipal = Annotated[Principal, Depends(caller)]
CastingCaller = Annotated[Principal, Depends(casting_caller)]


def actor_role(principal: Principal, allowed: list[str] | tuple[str, ...]) -> str:
    """The role spell-runtime reports as ``actor_role``: the first of the caller's roles the button
    allows (any role when it lists none), else the caller's first role."""
    for role in principal.roles:
        if not allowed or role in allowed:
            return role
    return principal.roles[0] if principal.roles else "anonymous"
