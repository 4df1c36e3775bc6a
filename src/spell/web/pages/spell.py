"""A spell's page (summary, price, risk, effects, versions, SBOM summary) and its cast form,
generated from the input schema and checked by the same validation the API runs."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from spell.api.deps import blocking
from spell.bundle.input_schema import InputSchema, check_input_json
from spell.errors import AuthError, InvalidInput, SpellError
from spell.kit.json_schema import SchemaProblem
from spell.platform.auth.schemas import Principal
from spell.platform.cast.service import CastRequestBody
from spell.platform.ratelimit.limiter import RateLimiter
from spell.platform.server import Platform
from spell.platform.spell.errors import SbomNotFound
from spell.platform.spell.schemas import SpellDetail, VersionOut, VersionSbomOut
from spell.web.forms import build_fields, read_value
from spell.web.routing import PageRoute
from spell.web.session import ConsoleSession, CurrentSession, PostedForm
from spell.web.templating import Pages

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@dataclass(frozen=True)
class SpellView:
    """What the spell page shows."""

    spell: SpellDetail
    version: VersionOut
    versions: list[VersionOut]
    sbom: VersionSbomOut | None


def _load(platform: Platform, principal: Principal, spell_id: str, version: str | None) -> SpellView:
    with platform.db.unit_of_work(write=False) as uow:
        spell, latest, cast_count = platform.spells.detail(uow, principal, spell_id)
        rows = platform.spells.list_versions(uow, principal, spell_id)
        chosen = next((row for row in rows if row.version == version), latest) if version else latest
        try:
            sbom = platform.spells.sbom(uow, principal, spell_id, chosen.version)
        except SbomNotFound:
            sbom = None
        return SpellView(
            SpellDetail.from_rows(spell, latest, cast_count),
            VersionOut.from_row(chosen),
            [VersionOut.from_row(row) for row in rows],
            sbom,
        )


def _render(
    request: Request,
    view: SpellView,
    *,
    value: Any = None,
    problems: list[SchemaProblem] | None = None,
    idempotency_key: str | None = None,
    cast_error: SpellError | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    root, unplaced = build_fields(view.version.input_schema, value, problems)
    pages: Pages = request.app.state.pages
    manifest = view.version.manifest
    context = {
        "spell": view.spell,
        "version": view.version,
        "versions": view.versions,
        "sbom": view.sbom,
        "manifest": manifest,
        "pricing": manifest.get("pricing") or {},
        "root": root,
        "unplaced": unplaced,
        "idempotency_key": idempotency_key or "console-" + secrets.token_urlsafe(16),
        "cast_error": cast_error,
    }
    code = cast_error.code if cast_error is not None else "VALIDATION_ERROR" if problems else None
    headers = {"X-Spell-Error": code} if code else None  # as error pages name theirs
    return pages.render(request, "spell.html", context, status_code=status_code, headers=headers)


@router.post("/spells/{spell_id:path}/cast", response_class=HTMLResponse)
async def cast_from_form(
    spell_id: str, request: Request, session: CurrentSession, form: PostedForm
) -> Response:
    """Cast with the posted form's input: the form again with the problems next to their fields, or
    on to the new cast's page (the hidden idempotency key makes a double submit the same cast)."""
    platform: Platform = request.app.state.platform
    version = str(form.get("version") or "") or None
    key = str(form.get("idempotency_key") or "") or None
    view = await blocking(_load, platform, session.principal, spell_id, version)
    root, _ = build_fields(view.version.input_schema)
    value, problems = read_value(root, form)
    if not problems:
        problems = _problems(view.version.input_schema, value)
    if problems:
        return _render(request, view, value=value, problems=problems, idempotency_key=key, status_code=422)
    body = CastRequestBody(spell_id=view.spell.id, input=value, version=view.version.version)
    try:
        await _count_cast(request, session)
        cast, _ = await platform.orchestrator.cast(session.principal, body, key, wait_s=0)
    except AuthError:
        raise
    except InvalidInput as exc:
        errors = (exc.details or {}).get("errors") or []
        return _render(
            request,
            view,
            value=value,
            problems=errors,
            idempotency_key=key,
            cast_error=exc,
            status_code=exc.status_code,
        )
    except SpellError as exc:
        return _render(
            request, view, value=value, idempotency_key=key, cast_error=exc, status_code=exc.status_code
        )
    return RedirectResponse(f"/casts/{cast.id}", status_code=303)


def _problems(schema: Any, value: Any) -> list[SchemaProblem]:
    """The problems the cast service would refuse ``value`` with (the same checks, the same words)."""
    try:
        check_input_json(value)
        InputSchema.compile(schema).check(value)
    except InvalidInput as exc:
        found: list[SchemaProblem] = (exc.details or {}).get("errors") or []
        return found
    return []


async def _count_cast(request: Request, session: ConsoleSession) -> None:
    """Count the cast against the credential's and the tenant's rate limits, as the REST route does."""
    limiter: RateLimiter = request.app.state.limiter
    if limiter.is_on:
        principal = session.principal
        credential = f"key:{principal.key_id}" if principal.key_id else f"user:{principal.user_id}"
        await limiter.hit_on_loop(credential=credential, tenant_id=principal.tenant_id)


@router.get("/spells/{spell_id:path}", response_class=HTMLResponse)
async def spell_page(
    spell_id: str, request: Request, session: CurrentSession, version: str | None = None
) -> HTMLResponse:
    """A spell: what it does, costs and touches, its versions, its SBOM, and the form to cast it."""
    platform: Platform = request.app.state.platform
    view = await blocking(_load, platform, session.principal, spell_id, version)
    return _render(request, view)
