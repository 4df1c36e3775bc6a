"""The grimoire: publisher keys, publishing, listing, versions, visibility, yank, suspend."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError

from spell.api.deps import CurrentPlatform, CurrentPrincipal, blocking
from spell.api.routing import GuardedRoute
from spell.api.schemas import (
    PublisherKeyOut,
    SpellDetail,
    SpellList,
    SpellOut,
    SuspensionOut,
    VersionList,
    VersionOut,
    error_docs,
)
from spell.kit.time import to_rfc3339
from spell.models import SpellVersion
from spell.platform.spell import publishers
from spell.platform.spell.schemas import spell_out, suspension_out, version_out

router = APIRouter(route_class=GuardedRoute, tags=["spells"])


class PublisherKeyCreate(BaseModel):
    """An Ed25519 public key (SPKI-DER, base64url) and its id."""

    key_id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._-]+$")
    public_key: str = Field(min_length=1, max_length=200)


class VisibilityUpdate(BaseModel):
    """Who may see the spell."""

    visibility: Literal["public", "unlisted", "private", "team"]


class SuspendBody(BaseModel):
    """Why the operator suspends a spell."""

    reason: str | None = Field(default=None, max_length=500)


@router.post("/v1/publishers/{publisher}/keys", status_code=201, response_model=PublisherKeyOut)
async def register_publisher_key(
    publisher: str, body: PublisherKeyCreate, principal: CurrentPrincipal, platform: CurrentPlatform
) -> dict[str, Any]:
    """Register a signing key; the first tenant to register a publisher name owns it (makers only)."""

    def run() -> dict[str, Any]:
        with platform.db.unit_of_work() as uow:
            row = publishers.register_key(
                uow, principal, publisher, key_id=body.key_id, public_key=body.public_key
            )
            return {
                "publisher": row.publisher,
                "key_id": row.key_id,
                "created_at": to_rfc3339(row.created_at),
            }

    return await blocking(run)


@router.delete("/v1/publishers/{publisher}/keys/{key_id}", response_model=PublisherKeyOut)
async def revoke_publisher_key(
    publisher: str, key_id: str, principal: CurrentPrincipal, platform: CurrentPlatform
) -> dict[str, Any]:
    """Revoke a signing key; bundles signed with it no longer publish."""

    def run() -> dict[str, Any]:
        with platform.db.unit_of_work() as uow:
            row = publishers.revoke_key(uow, principal, publisher, key_id)
            return {"publisher": row.publisher, "key_id": row.key_id, "revoked": True}

    return await blocking(run)


@router.post(
    "/v1/spells",
    status_code=201,
    response_model=VersionOut,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/x-tar": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def publish(
    request: Request,
    principal: CurrentPrincipal,
    platform: CurrentPlatform,
    visibility: str = "public",
    tag: Annotated[list[str] | None, Query()] = None,
) -> dict[str, Any]:
    """Publish a canonical archive (``application/x-tar`` body); makers only (403 ``ROLE_REQUIRED``).

    The server unpacks it safely, checks the manifest, recomputes the digest and verifies the signature.
    """
    archive = await request.body()

    def run() -> dict[str, Any]:
        try:
            with platform.db.unit_of_work() as uow:
                version = platform.spells.publish(
                    uow, principal, archive, visibility=visibility, tags=tag or []
                )
                return version_out(version)
        except IntegrityError:
            # The same spell or version was published concurrently (PostgreSQL): publishing again now
            # finds it, and answers as for any republish (same digest) or ALREADY_EXISTS (another).
            with platform.db.unit_of_work() as uow:
                version = platform.spells.publish(
                    uow, principal, archive, visibility=visibility, tags=tag or []
                )
                return version_out(version)

    return await blocking(run)


@router.get("/v1/spells", response_model=SpellList)
async def list_spells(
    principal: CurrentPrincipal,
    platform: CurrentPlatform,
    q: str | None = None,
    tag: str | None = None,
    sort: str = "recent",
    limit: int = 20,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Search listed spells (public ones, and your tenant's private and team ones)."""
    principal.require("spell:read")

    def run() -> dict[str, Any]:
        with platform.db.unit_of_work(write=False) as uow:
            page = platform.spells.search(uow, principal, q=q, tag=tag, sort=sort, limit=limit, cursor=cursor)
            return {"items": [spell_out(s) for s in page.items], "next_cursor": page.next_cursor}

    return await blocking(run)


@router.get("/v1/spells/{spell_id:path}/versions", response_model=VersionList)
async def list_versions(
    spell_id: str, principal: CurrentPrincipal, platform: CurrentPlatform
) -> dict[str, Any]:
    """Every version of a spell, newest first (yanked ones flagged)."""
    principal.require("spell:read")

    def run() -> dict[str, Any]:
        with platform.db.unit_of_work(write=False) as uow:
            spell = platform.spells.visible(uow, principal, spell_id)
            return {"items": [version_out(v) for v in platform.spells.versions(uow, spell)]}

    return await blocking(run)


@router.post("/v1/spells/{spell_id:path}/versions/{version}/yank", response_model=VersionOut)
async def yank(
    spell_id: str, version: str, principal: CurrentPrincipal, platform: CurrentPlatform, undo: bool = False
) -> dict[str, Any]:
    """Yank a version (``?undo=true`` restores it): it is never picked as the default any more."""

    def run() -> dict[str, Any]:
        with platform.db.unit_of_work() as uow:
            return version_out(platform.spells.set_yanked(uow, principal, spell_id, version, yanked=not undo))

    return await blocking(run)


@router.get(
    "/v1/spells/{spell_id:path}/versions/{version}/archive",
    response_class=Response,
    responses={
        200: {
            "description": "The version's canonical archive, signature included (digest: X-Spell-Digest).",
            "content": {"application/x-tar": {"schema": {"type": "string", "format": "binary"}}},
        },
        **error_docs({403: "SPELL_SUSPENDED, FORBIDDEN (no spell:read scope)"}),
    },
)
async def download_archive(
    spell_id: str, version: str, principal: CurrentPrincipal, platform: CurrentPlatform
) -> Response:
    """Download a version as published, for ``spell install server:…``, which verifies it locally.

    Visibility applies as for reading the spell: another tenant's private spell is 404.
    """

    def run() -> tuple[SpellVersion, bytes]:
        with platform.db.unit_of_work(write=False) as uow:
            return platform.spells.archive(uow, principal, spell_id, version)

    row, archive = await blocking(run)
    name = f"{row.spell_id.replace('/', '-')}-{row.version}.tar"
    return Response(
        archive,
        media_type="application/x-tar",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "X-Spell-Digest": row.digest},
    )


@router.patch("/v1/spells/{spell_id:path}", response_model=SpellOut)
async def update_spell(
    spell_id: str, body: VisibilityUpdate, principal: CurrentPrincipal, platform: CurrentPlatform
) -> dict[str, Any]:
    """Change a spell's visibility (its publisher's tenant only)."""

    def run() -> dict[str, Any]:
        with platform.db.unit_of_work() as uow:
            return spell_out(platform.spells.set_visibility(uow, principal, spell_id, body.visibility))

    return await blocking(run)


@router.post("/v1/admin/spells/{spell_id:path}/suspend", response_model=SuspensionOut)
async def suspend(
    spell_id: str,
    body: SuspendBody,
    principal: CurrentPrincipal,
    platform: CurrentPlatform,
    undo: bool = False,
) -> dict[str, Any]:
    """Operator: suspend a spell (``?undo=true`` lifts it); casts get 403 ``SPELL_SUSPENDED``.

    Needs the ``operator`` scope (operator or admin role) or an admin credential. Platform-wide, so the
    answer names only the spell and its suspension, never another tenant's private details.
    """
    principal.require_operator()

    def run() -> dict[str, Any]:
        with platform.db.unit_of_work() as uow:
            spell = platform.spells.set_suspended(
                uow, spell_id, suspended=not undo, reason=body.reason, actor_id=principal.user_id
            )
            return suspension_out(spell)

    return await blocking(run)


@router.get("/v1/spells/{spell_id:path}", response_model=SpellDetail)
async def get_spell(spell_id: str, principal: CurrentPrincipal, platform: CurrentPlatform) -> dict[str, Any]:
    """A spell and its latest version."""
    principal.require("spell:read")

    def run() -> dict[str, Any]:
        with platform.db.unit_of_work(write=False) as uow:
            spell = platform.spells.visible(uow, principal, spell_id)
            latest = platform.spells.version(uow, spell, spell.latest_version)
            return {**spell_out(spell), "latest": version_out(latest)}

    return await blocking(run)
