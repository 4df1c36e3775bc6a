"""Signing in through the configured OpenID provider (``platform.auth.oidc``): out to the provider,
and back with a code. What the round trip needs (state, nonce, PKCE verifier, where to go after) waits
in a signed cookie that lives ten minutes."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from itsdangerous import BadData, URLSafeTimedSerializer

from spell.api.deps import blocking
from spell.errors import AuthError, NotFound
from spell.platform.auth.errors import CsrfRefused, UserBanned
from spell.platform.auth.oidc import OidcClient, OidcStart
from spell.platform.auth.web_sessions import WebSessions
from spell.platform.server import Platform
from spell.web.pages.auth import safe_next, sign_in_page
from spell.web.routing import PageRoute
from spell.web.session import set_session_cookie

router = APIRouter(route_class=PageRoute, include_in_schema=False)

COOKIE = "spell_oidc"
MAX_AGE_S = 600


def _client(request: Request) -> OidcClient:
    client: OidcClient | None = getattr(request.app.state, "oidc", None)
    if client is None:
        raise NotFound("this server signs in with API keys only")
    return client


def _serializer(request: Request) -> URLSafeTimedSerializer:
    platform: Platform = request.app.state.platform
    return URLSafeTimedSerializer(platform.secret, salt="spell.console.oidc")


def _callback_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/sign-in/oidc/callback"


@router.get("/sign-in/oidc")
async def oidc_start(request: Request, next: str | None = None) -> Response:
    """Send the browser to the provider, keeping the round trip's secrets in a signed cookie."""
    started = _client(request).start(_callback_url(request))
    kept = {
        "state": started.state,
        "nonce": started.nonce,
        "verifier": started.verifier,
        "next": safe_next(next),
    }
    response = RedirectResponse(started.url, status_code=303)
    response.set_cookie(
        COOKIE,
        _serializer(request).dumps(json.dumps(kept)),
        max_age=MAX_AGE_S,
        path="/sign-in/oidc",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="lax",  # the provider's redirect back is a top-level navigation: Lax cookies go along
    )
    return response


def _finish(
    platform: Platform,
    sessions: WebSessions,
    client: OidcClient,
    kept: OidcStart,
    state: str,
    code: str,
    back: str,
) -> tuple[str, int]:
    principal = client.finish(
        platform.db, platform.auth, kept=kept, state=state, code=code, redirect_uri=back
    )
    with platform.db.unit_of_work() as uow:
        sessions.end_expired(uow)
        started = sessions.start(uow, principal)
    return started.secret, int(sessions.ttl.total_seconds())


@router.get("/sign-in/oidc/callback")
async def oidc_callback(
    request: Request, state: str = "", code: str = "", error: str | None = None
) -> Response:
    """Where the provider sends the browser back: check the state, exchange the code, start a session."""
    client = _client(request)
    try:
        kept = json.loads(_serializer(request).loads(request.cookies.get(COOKIE, ""), max_age=MAX_AGE_S))
    except (BadData, ValueError):
        raise CsrfRefused(
            "this sign-in was not started here, or took too long", hint="sign in again"
        ) from None
    next_path = safe_next(kept.get("next"))
    if error or not code:
        return sign_in_page(
            request, next_path, f"The identity provider did not sign you in ({error or 'no code'}).", 401
        )
    start = OidcStart("", str(kept["state"]), str(kept["nonce"]), str(kept["verifier"]))
    platform: Platform = request.app.state.platform
    sessions: WebSessions = request.app.state.web_sessions
    try:
        secret, max_age = await blocking(
            _finish, platform, sessions, client, start, state, code, _callback_url(request)
        )
    except UserBanned:
        return sign_in_page(request, next_path, "This user is banned.", 403)
    except AuthError as exc:
        return sign_in_page(request, next_path, f"The sign-in was refused: {exc.message}.", 401)
    response = RedirectResponse(next_path, status_code=303)
    response.delete_cookie(COOKIE, path="/sign-in/oidc")
    set_session_cookie(request, response, secret, max_age)
    return response
