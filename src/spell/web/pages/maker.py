"""Maker pages: my spells, publishing a packed archive, a spell's versions with yank and restore,
and its visibility.

The same service calls as the REST routes (``POST /v1/spells``, ``PATCH /v1/spells/{id}``,
``POST …/versions/{v}/yank``): ``spell:publish`` and the publisher's tenant only, so posting a form
with another tenant's spell id is refused exactly as the API refuses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import UploadFile

from spell.api.deps import blocking
from spell.errors import AuthError, InvalidInput, SpellError
from spell.models.spell import VISIBILITIES
from spell.platform.auth.schemas import Principal
from spell.platform.server import Platform
from spell.platform.spell.schemas import PublishedVersion, SpellOut, VersionOut
from spell.web.routing import PageRoute
from spell.web.session import CurrentSession, PostedForm
from spell.web.templating import NAV, NavItem, Pages

router = APIRouter(route_class=PageRoute, include_in_schema=False)
NAV.append(NavItem("My spells", "/maker/spells", "spell:publish"))


@dataclass(frozen=True)
class MakerSpell:
    """One of my spells and its versions, newest first."""

    spell: SpellOut
    versions: list[VersionOut]


def _mine(platform: Platform, principal: Principal) -> list[SpellOut]:
    with platform.db.unit_of_work(write=False) as uow:
        return [SpellOut.from_row(row) for row in platform.spells.mine(uow, principal)]


def _owned(platform: Platform, principal: Principal, spell_id: str) -> MakerSpell:
    with platform.db.unit_of_work(write=False) as uow:
        spell = platform.spells.owned(uow, principal, spell_id)
        versions = platform.spells.versions(uow, spell)
        return MakerSpell(SpellOut.from_row(spell), [VersionOut.from_row(v) for v in versions])


def _publish(
    platform: Platform, principal: Principal, archive: bytes, visibility: str, tags: list[str]
) -> PublishedVersion:
    with platform.db.unit_of_work() as uow:
        done = platform.spells.publish_with_warnings(
            uow, principal, archive, visibility=visibility, tags=tags
        )
        return PublishedVersion(
            **VersionOut.from_row(done.version).model_dump(), warnings=list(done.warnings)
        )


def _yank(platform: Platform, principal: Principal, spell_id: str, version: str, yanked: bool) -> None:
    with platform.db.unit_of_work() as uow:
        platform.spells.set_yanked(uow, principal, spell_id, version, yanked=yanked)


def _visibility(platform: Platform, principal: Principal, spell_id: str, visibility: str) -> None:
    with platform.db.unit_of_work() as uow:
        platform.spells.set_visibility(uow, principal, spell_id, visibility)


def _page(spell_id: str) -> str:
    return "/maker/spells/" + quote(spell_id)


def _render_list(
    request: Request, spells: list[SpellOut], *, error: SpellError | None = None, status_code: int = 200
) -> HTMLResponse:
    pages: Pages = request.app.state.pages
    context = {"spells": spells, "error": error, "visibilities": VISIBILITIES}
    headers = {"X-Spell-Error": error.code} if error is not None else None
    return pages.render(request, "maker/spells.html", context, status_code=status_code, headers=headers)


@router.get("/maker/spells", response_class=HTMLResponse)
async def my_spells(request: Request, session: CurrentSession) -> HTMLResponse:
    """The spells your tenant publishes, whatever their visibility, and the form to publish one."""
    spells = await blocking(_mine, request.app.state.platform, session.principal)
    return _render_list(request, spells)


@router.post("/maker/spells", response_class=HTMLResponse)
async def publish(request: Request, session: CurrentSession, form: PostedForm) -> Response:
    """Publish the uploaded archive (what ``spell pack`` writes) as ``POST /v1/spells`` does; the
    spell's page with the gate's warnings, or this page again with the refusal."""
    platform: Platform = request.app.state.platform
    upload = form.get("archive")
    visibility = str(form.get("visibility") or "public")
    tags = [t.strip() for t in str(form.get("tags") or "").split(",") if t.strip()]
    try:
        if not isinstance(upload, UploadFile):
            raise InvalidInput("choose the archive to publish", details={"field": "archive"})
        try:
            archive = await upload.read()
        finally:
            await form.close()  # the spooled upload's file, now that its bytes are read
        if not archive:
            raise InvalidInput("the chosen file is empty", details={"field": "archive"})
        published = await blocking(_publish, platform, session.principal, archive, visibility, tags)
    except AuthError:
        raise
    except SpellError as exc:
        spells = await blocking(_mine, platform, session.principal)
        return _render_list(request, spells, error=exc, status_code=exc.status_code)
    view = await blocking(_owned, platform, session.principal, published.spell_id)
    return _render_spell(request, view, published=published, status_code=201)


def _render_spell(
    request: Request,
    view: MakerSpell,
    *,
    published: PublishedVersion | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    pages: Pages = request.app.state.pages
    context = {
        "view": view,
        "published": published,
        "notice": notice,
        "visibilities": VISIBILITIES,
        "page_url": _page(view.spell.id),
    }
    return pages.render(request, "maker/spell.html", context, status_code=status_code)


@router.post("/maker/spells/{spell_id:path}/yank", response_class=HTMLResponse)
async def yank(spell_id: str, request: Request, session: CurrentSession, form: PostedForm) -> Response:
    """Yank a version (``undo=1`` restores it) as ``POST /v1/spells/{id}/versions/{v}/yank`` does."""
    version = str(form.get("version") or "")
    undo = form.get("undo") == "1"
    if not version:
        raise InvalidInput("name the version to yank", details={"field": "version"})
    await blocking(_yank, request.app.state.platform, session.principal, spell_id, version, not undo)
    done = "restored" if undo else "yanked"
    return RedirectResponse(f"{_page(spell_id)}?{done}={quote(version)}", status_code=303)


@router.post("/maker/spells/{spell_id:path}/visibility", response_class=HTMLResponse)
async def visibility(spell_id: str, request: Request, session: CurrentSession, form: PostedForm) -> Response:
    """Change who can see the spell, as ``PATCH /v1/spells/{id}`` does."""
    chosen = str(form.get("visibility") or "")
    await blocking(_visibility, request.app.state.platform, session.principal, spell_id, chosen)
    return RedirectResponse(f"{_page(spell_id)}?visibility={quote(chosen)}", status_code=303)


@router.get("/maker/spells/{spell_id:path}", response_class=HTMLResponse)
async def my_spell(
    spell_id: str,
    request: Request,
    session: CurrentSession,
    yanked: str | None = None,
    restored: str | None = None,
    visibility: str | None = None,
) -> HTMLResponse:
    """One of your spells: its versions (yank or restore each) and its visibility."""
    view = await blocking(_owned, request.app.state.platform, session.principal, spell_id)
    notice = (
        f"Version {yanked} is yanked: it is never picked as the default any more."
        if yanked
        else f"Version {restored} is restored."
        if restored
        else f"The spell is now {visibility}."
        if visibility
        else None
    )
    return _render_spell(request, view, notice=notice)
