"""API keys: the caller's keys, creating one (its secret shown on that page only), revoking and
rotating (``keys:manage``, the caller's own keys, as ``/v1/keys``).

A new secret is rendered into the answer to the post that made it, never stored for a later page,
and that answer is ``no-store`` like every page: reloading does not show it again.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from spell.api.deps import blocking
from spell.errors import AuthError, SpellError
from spell.platform.auth.schemas import KeyCreated, KeyOut, Principal
from spell.platform.server import Platform
from spell.web.routing import PageRoute
from spell.web.session import ConsoleSession, CurrentSession, PostedForm
from spell.web.templating import NAV, NavItem, Pages

router = APIRouter(route_class=PageRoute, include_in_schema=False)
NAV.append(NavItem("API keys", "/keys", "keys:manage"))

MAX_NAME = 200  # KeyCreate.name


def _list(platform: Platform, principal: Principal) -> list[KeyOut]:
    with platform.db.unit_of_work(write=False) as uow:
        return [KeyOut.from_row(key) for key in platform.auth.list_keys(uow, principal)]


def _create(platform: Platform, principal: Principal, name: str, scopes: list[str] | None) -> KeyCreated:
    with platform.db.unit_of_work() as uow:
        created = platform.auth.issue_key(
            uow, principal, name=name, scopes=scopes, expires_at=None, test=False
        )
        return KeyCreated.from_created(created.key, created.token)


def _revoke(platform: Platform, principal: Principal, key_id: str) -> None:
    with platform.db.unit_of_work() as uow:
        platform.auth.revoke_key(uow, principal, key_id)


def _rotate(platform: Platform, principal: Principal, key_id: str) -> KeyCreated:
    with platform.db.unit_of_work() as uow:
        created = platform.auth.rotate_key(uow, principal, key_id)
        return KeyCreated.from_created(created.key, created.token)


async def _render(
    request: Request,
    session: ConsoleSession,
    *,
    created: KeyCreated | None = None,
    rotated_from: str | None = None,
    name: str = "",
    problem: str | None = None,
    error: SpellError | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    keys = await blocking(_list, request.app.state.platform, session.principal)
    pages: Pages = request.app.state.pages
    context = {
        "keys": keys,
        "created": created,
        "rotated_from": rotated_from,
        "name": name,
        "problem": problem,
        "error": error,
        "notice": notice,
        "scopes": session.principal.scopes,
        "own_key_id": session.principal.key_id,
    }
    code = error.code if error is not None else "VALIDATION_ERROR" if problem else None
    headers = {"X-Spell-Error": code} if code else None
    return pages.render(request, "keys.html", context, status_code=status_code, headers=headers)


@router.get("/keys", response_class=HTMLResponse)
async def keys_page(request: Request, session: CurrentSession, revoked: str | None = None) -> HTMLResponse:
    """Your API keys (never their secrets) and the form to create one."""
    notice = f"Key {revoked} is revoked: requests with it are refused from now on." if revoked else None
    return await _render(request, session, notice=notice)


@router.post("/keys", response_class=HTMLResponse)
async def create_key(request: Request, session: CurrentSession, form: PostedForm) -> Response:
    """Create a key with the chosen scopes (none chosen: the everyday ones); its secret is on this
    answer only."""
    name = str(form.get("name") or "").strip()
    if not name or len(name) > MAX_NAME:
        problem = "give the key a name" if not name else f"at most {MAX_NAME} characters"
        return await _render(request, session, name=name, problem=problem, status_code=422)
    scopes = [str(s) for s in form.getlist("scopes")] or None
    try:
        created = await blocking(_create, request.app.state.platform, session.principal, name, scopes)
    except AuthError:
        raise
    except SpellError as exc:
        return await _render(request, session, name=name, error=exc, status_code=exc.status_code)
    return await _render(request, session, created=created, status_code=201)


@router.post("/keys/{key_id}/revoke", response_class=HTMLResponse)
async def revoke_key(key_id: str, request: Request, session: CurrentSession, form: PostedForm) -> Response:
    """Revoke one of your keys at once (revoking this session's own key ends the session)."""
    await blocking(_revoke, request.app.state.platform, session.principal, key_id)
    return RedirectResponse(f"/keys?revoked={key_id}", status_code=303)


@router.post("/keys/{key_id}/rotate", response_class=HTMLResponse)
async def rotate_key(key_id: str, request: Request, session: CurrentSession, form: PostedForm) -> Response:
    """A new key with the same scopes; the old one works until the grace period ends."""
    created = await blocking(_rotate, request.app.state.platform, session.principal, key_id)
    return await _render(request, session, created=created, rotated_from=key_id, status_code=201)
