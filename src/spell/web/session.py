"""Who is signed in to the console, and the checks every request that changes something passes.

The cookie holds the session's random secret, signed with the server secret (``itsdangerous``) so a
forged or truncated cookie is refused before any lookup. It is HttpOnly, SameSite=Lax, and Secure
when the request came over https (there it is also ``__Host-`` prefixed, so no subdomain can set it).

Every unsafe request (POST and the like) must come from this server's own origin (the ``Origin``
header, else ``Referer``; neither is refused) and carry the session's CSRF token: the ``csrf_token``
form field, or the ``X-CSRF-Token`` header that htmx sends (``hx-headers`` on ``<body>``). The sign-in
form, which has no session yet, carries a token bound to a short-lived signed cookie instead.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request, Response
from itsdangerous import BadSignature, Signer
from starlette.datastructures import FormData

from spell.api.deps import blocking
from spell.errors import AuthError
from spell.platform.auth.errors import CsrfRefused, UserBanned
from spell.platform.auth.schemas import Principal
from spell.platform.auth.web_sessions import ResumedSession, WebSessions
from spell.platform.server import Platform

__all__ = [
    "ConsoleSession",
    "CurrentSession",
    "OptionalSession",
    "PostedForm",
    "check_origin",
    "clear_session_cookie",
    "cookie_name",
    "current_session",
    "new_sign_in_token",
    "session_secret",
    "set_session_cookie",
    "set_sign_in_cookie",
]

_SALT = "spell.console.session"
_SIGNIN_SALT = "spell.console.sign-in"
SIGNIN_COOKIE = "spell_sign_in"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class ConsoleSession:
    """The signed-in principal and the CSRF token of its session."""

    principal: Principal
    csrf_token: str
    session_id: str


def _is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def cookie_name(request: Request) -> str:
    """``__Host-spell_session`` over https, ``spell_session`` on plain http (where ``__Host-`` needs
    the Secure flag a browser would drop)."""
    return "__Host-spell_session" if _is_https(request) else "spell_session"


def _signer(request: Request, salt: str) -> Signer:
    platform: Platform = request.app.state.platform
    return Signer(platform.secret, salt=salt)


def set_session_cookie(request: Request, response: Response, secret: str, max_age: int) -> None:
    """Hand the browser the signed session secret."""
    value = _signer(request, _SALT).sign(secret).decode()
    response.set_cookie(
        cookie_name(request),
        value,
        max_age=max_age,
        path="/",
        secure=_is_https(request),
        httponly=True,
        samesite="lax",
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    """Tell the browser to forget the session cookie."""
    response.delete_cookie(cookie_name(request), path="/", secure=_is_https(request), httponly=True)


def session_secret(request: Request) -> str | None:
    """The session secret of the request's cookie, if it carries one this server signed."""
    raw = request.cookies.get(cookie_name(request))
    if not raw:
        return None
    try:
        return _signer(request, _SALT).unsign(raw).decode()
    except (BadSignature, UnicodeDecodeError):
        return None


def _resume(platform: Platform, sessions: WebSessions, secret: str) -> ResumedSession:
    try:
        with platform.db.unit_of_work(write=False) as uow:
            return sessions.resume(uow, secret)
    except (AuthError, UserBanned):
        with platform.db.unit_of_work() as uow:
            sessions.end(uow, secret)
        raise


async def _load(request: Request) -> ConsoleSession | None:
    """The signed-in session, or None without a (validly signed) cookie; a session that has to end
    (revoked key, ban, expiry) ends here, with the error that says why."""
    cached: ConsoleSession | None = getattr(request.state, "console_session", None)
    if cached is not None:
        return cached
    secret = session_secret(request)
    if secret is None:
        return None
    platform: Platform = request.app.state.platform
    sessions: WebSessions = request.app.state.web_sessions
    resumed = await blocking(_resume, platform, sessions, secret)
    session = ConsoleSession(resumed.principal, resumed.csrf_token, resumed.session_id)
    request.state.console_session = session
    request.state.principal = session.principal
    return session


async def optional_session(request: Request) -> ConsoleSession | None:
    """The signed-in session, or None (pages anyone may see, such as the sign-in form)."""
    try:
        return await _load(request)
    except (AuthError, UserBanned):
        return None


async def current_session(request: Request) -> ConsoleSession:
    """The signed-in session; ``UNAUTHORIZED`` (the console redirects to the sign-in page) without one."""
    session = await _load(request)
    if session is None:
        raise AuthError("not signed in", hint="sign in with an API key")
    return session


def _origin_of(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def check_origin(request: Request) -> None:
    """``CSRF_REFUSED`` unless the request says it comes from a page of this server."""
    platform: Platform = request.app.state.platform
    claimed = request.headers.get("origin") or request.headers.get("referer")
    given = _origin_of(claimed) if claimed else None
    own = {_origin_of(str(request.base_url)), _origin_of(platform.settings.public_url)}
    if given is None or given not in own:
        raise CsrfRefused(
            "this request did not come from a page of this server",
            details={"origin": claimed or None},
            hint="use the console's own forms",
        )


async def _posted_form(
    request: Request, session: Annotated[ConsoleSession, Depends(current_session)]
) -> FormData:
    check_origin(request)
    form = await request.form()
    given = request.headers.get("x-csrf-token")
    field = form.get("csrf_token")
    if given is None and isinstance(field, str):
        given = field
    if not WebSessions.csrf_matches(session.csrf_token, given):
        raise CsrfRefused("the form's CSRF token is missing or stale", hint="reload the page and try again")
    return form


def new_sign_in_token() -> str:
    """A fresh CSRF token for the sign-in form (bound to the browser by ``set_sign_in_cookie``)."""
    return secrets.token_urlsafe(24)


def set_sign_in_cookie(request: Request, response: Response, token: str) -> None:
    """Bind the sign-in form's token to this browser with a short-lived signed cookie."""
    response.set_cookie(
        SIGNIN_COOKIE,
        _signer(request, _SIGNIN_SALT).sign(token).decode(),
        max_age=3600,
        path="/",
        secure=_is_https(request),
        httponly=True,
        samesite="strict",
    )


def check_sign_in_token(request: Request, given: str | None) -> None:
    """``CSRF_REFUSED`` unless the sign-in form's token matches its cookie (and the origin is ours)."""
    check_origin(request)
    raw = request.cookies.get(SIGNIN_COOKIE, "")
    try:
        expected = _signer(request, _SIGNIN_SALT).unsign(raw).decode()
    except (BadSignature, UnicodeDecodeError):
        expected = ""
    if not expected or not WebSessions.csrf_matches(expected, given):
        raise CsrfRefused(
            "the sign-in form's token is missing or stale", hint="reload the page and try again"
        )


CurrentSession = Annotated[ConsoleSession, Depends(current_session)]
OptionalSession = Annotated[ConsoleSession | None, Depends(optional_session)]
PostedForm = Annotated[FormData, Depends(_posted_form)]
