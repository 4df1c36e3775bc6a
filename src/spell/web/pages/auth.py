"""Signing in (with an API key) and out."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from spell.api.deps import blocking
from spell.errors import AuthError
from spell.platform.auth.bearer import authenticate_bearer, is_api_key
from spell.platform.auth.errors import UserBanned
from spell.platform.auth.web_sessions import WebSessions
from spell.platform.server import Platform
from spell.web.routing import PageRoute
from spell.web.session import (
    OptionalSession,
    PostedForm,
    check_sign_in_token,
    clear_session_cookie,
    new_sign_in_token,
    session_secret,
    set_session_cookie,
    set_sign_in_cookie,
)
from spell.web.templating import Pages

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def safe_next(raw: str | None) -> str:
    """A local path to go to after signing in; anything else (another host, ``//evil``) is ``/spells``."""
    if not raw or not raw.startswith("/") or raw.startswith("//") or "\\" in raw:
        return "/spells"
    parts = urlsplit(raw)
    return "/spells" if parts.scheme or parts.netloc else raw


def sign_in_page(
    request: Request, next_path: str, error: str | None = None, status: int = 200
) -> HTMLResponse:
    pages: Pages = request.app.state.pages
    token = new_sign_in_token()
    oidc = getattr(request.app.state, "oidc", None)
    context = {
        "next": next_path,
        "error": error,
        "sign_in_token": token,
        "oidc": request.app.state.oidc_name if oidc is not None else None,
    }
    response = pages.render(request, "sign_in.html", context, status_code=status)
    set_sign_in_cookie(request, response, token)
    return response


@router.get("/", response_class=HTMLResponse)
async def home(session: OptionalSession) -> Response:
    """The console's front door: the catalog when signed in, else the sign-in form."""
    return RedirectResponse("/spells" if session else "/sign-in", status_code=303)


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_form(request: Request, session: OptionalSession, next: str | None = None) -> Response:
    """The sign-in form (someone already signed in goes on to where they were headed)."""
    if session is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return sign_in_page(request, safe_next(next))


def _start(platform: Platform, sessions: WebSessions, token: str) -> tuple[str, int]:
    principal = authenticate_bearer(platform.db, platform.auth, None, token)
    with platform.db.unit_of_work() as uow:
        sessions.end_expired(uow)  # sign-ins sweep the sessions nobody ended
        started = sessions.start(uow, principal)
    return started.secret, int(sessions.ttl.total_seconds())


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in(request: Request) -> Response:
    """Check the API key, start a session and set its cookie; the form again, with the reason, when
    the key is refused."""
    form = await request.form()
    given = form.get("csrf_token")
    check_sign_in_token(request, given if isinstance(given, str) else None)
    next_path = safe_next(str(form.get("next") or ""))
    key = str(form.get("api_key") or "").strip()
    if not is_api_key(key):
        return sign_in_page(
            request, next_path, "That is not an API key (they start with sk_live_ or sk_test_).", 401
        )
    platform: Platform = request.app.state.platform
    sessions: WebSessions = request.app.state.web_sessions
    try:
        secret, max_age = await blocking(_start, platform, sessions, key)
    except UserBanned:
        return sign_in_page(request, next_path, "This user is banned.", 403)
    except AuthError as exc:
        return sign_in_page(request, next_path, f"The key was refused: {exc.message}.", 401)
    response = RedirectResponse(next_path, status_code=303)
    set_session_cookie(request, response, secret, max_age)
    return response


def _end(platform: Platform, sessions: WebSessions, request: Request) -> None:
    secret = session_secret(request)
    if secret is not None:
        with platform.db.unit_of_work() as uow:
            sessions.end(uow, secret)


@router.post("/sign-out")
async def sign_out(request: Request, form: PostedForm) -> Response:
    """End the session (server side) and drop its cookie."""
    del form  # checked for its CSRF token: signing someone out is a change too
    platform: Platform = request.app.state.platform
    await blocking(_end, platform, request.app.state.web_sessions, request)
    response = RedirectResponse("/sign-in", status_code=303)
    clear_session_cookie(request, response)
    return response
