"""The grimoire: publisher keys, publishing, listing, versions, visibility, yank, suspend."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from spell.api.deps import CurrentPlatform, CurrentPrincipal, blocking
from spell.api.routing import GuardedRoute
from spell.api.schemas import error_docs
from spell.errors import SpellError
from spell.platform.abuse.service import publish_violation
from spell.platform.auth.schemas import Principal
from spell.platform.server import Platform
from spell.platform.spell import publishers
from spell.platform.spell.schemas import (
    PublishedVersion,
    PublisherKeyCreate,
    PublisherKeyOut,
    SpellDetail,
    SpellList,
    SpellOut,
    SuspendBody,
    SuspensionOut,
    VersionList,
    VersionOut,
    VersionSbomOut,
    VisibilityUpdate,
)

router = APIRouter(route_class=GuardedRoute, tags=["spells"])


@router.post("/v1/publishers/{publisher}/keys", status_code=201, response_model=PublisherKeyOut)
def register_publisher_key(
    publisher: str, body: PublisherKeyCreate, principal: CurrentPrincipal, platform: CurrentPlatform
) -> PublisherKeyOut:
    """Register a signing key; the first tenant to register a publisher name owns it (makers only)."""
    with platform.db.unit_of_work() as uow:
        row = publishers.register_key(
            uow, principal, publisher, key_id=body.key_id, public_key=body.public_key
        )
        return PublisherKeyOut.registered(row)


@router.delete("/v1/publishers/{publisher}/keys/{key_id}", response_model=PublisherKeyOut)
def revoke_publisher_key(
    publisher: str, key_id: str, principal: CurrentPrincipal, platform: CurrentPlatform
) -> PublisherKeyOut:
    """Revoke a signing key; bundles signed with it no longer publish."""
    with platform.db.unit_of_work() as uow:
        return PublisherKeyOut.revoked_row(publishers.revoke_key(uow, principal, publisher, key_id))


@router.post(
    "/v1/spells",
    status_code=201,
    response_model=PublishedVersion,
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
) -> PublishedVersion:
    """Publish a canonical archive (``application/x-tar`` body); makers only (403 ``ROLE_REQUIRED``).

    The server unpacks it safely, checks the manifest, recomputes the digest and verifies the signature,
    then runs the supply-chain gate over the bundle's SBOM (422 ``SBOM_REQUIRED``,
    ``VULNERABLE_DEPENDENCY``, ``LICENSE_NOT_ALLOWED``, ``INVALID_SBOM``); what it does not refuse comes
    back as ``warnings``.
    """
    # Async for the body, which arrives on the event loop; the publishing itself runs in the threadpool.
    archive = await request.body()
    return await blocking(_publish, platform, principal, archive, visibility, tag or [])


def _publish(
    platform: Platform, principal: Principal, archive: bytes, visibility: str, tags: list[str]
) -> PublishedVersion:
    try:
        with platform.db.unit_of_work() as uow:
            done = platform.spells.publish_with_warnings(
                uow, principal, archive, visibility=visibility, tags=tags
            )
            return PublishedVersion(
                **VersionOut.from_row(done.version).model_dump(), warnings=list(done.warnings)
            )
    except SpellError as exc:
        if publish_violation(exc) is not None:
            # The refused publish rolled back; its violation is kept in a transaction of its own.
            with platform.db.unit_of_work() as uow:
                platform.abuse.publish_refused(uow, principal, exc)
        raise


@router.get("/v1/spells", response_model=SpellList)
def list_spells(
    principal: CurrentPrincipal,
    platform: CurrentPlatform,
    q: str | None = None,
    tag: str | None = None,
    sort: str | None = None,
    limit: int = 20,
    cursor: str | None = None,
) -> SpellList:
    """Search listed spells (public ones, and your tenant's private and team ones).

    ``q`` keeps spells holding each of its words, or a word starting with it, in their id, name or
    summary; ``sort`` is ``recent`` (the default), ``popular`` or ``price``. ``next_cursor`` continues
    the same listing in the same order. On PostgreSQL the listed ``cast_count`` (and so the ``popular``
    order) leaves out the casts of the last ``SPELL_SERVER_SWEEP_SECONDS``; a spell's own page counts
    them all."""
    with platform.db.unit_of_work(write=False) as uow:
        page = platform.spells.search(uow, principal, q=q, tag=tag, sort=sort, limit=limit, cursor=cursor)
        return SpellList(items=[SpellOut.from_row(s) for s in page.items], next_cursor=page.next_cursor)


@router.get("/v1/spells/{spell_id:path}/versions", response_model=VersionList)
def list_versions(spell_id: str, principal: CurrentPrincipal, platform: CurrentPlatform) -> VersionList:
    """Every version of a spell, newest first (yanked ones flagged)."""
    with platform.db.unit_of_work(write=False) as uow:
        rows = platform.spells.list_versions(uow, principal, spell_id)
        return VersionList(items=[VersionOut.from_row(v) for v in rows])


@router.post("/v1/spells/{spell_id:path}/versions/{version}/yank", response_model=VersionOut)
def yank(
    spell_id: str, version: str, principal: CurrentPrincipal, platform: CurrentPlatform, undo: bool = False
) -> VersionOut:
    """Yank a version (``?undo=true`` restores it): it is never picked as the default any more."""
    with platform.db.unit_of_work() as uow:
        return VersionOut.from_row(
            platform.spells.set_yanked(uow, principal, spell_id, version, yanked=not undo)
        )


@router.get(
    "/v1/spells/{spell_id:path}/versions/{version}/sbom",
    response_model=VersionSbomOut,
    responses=error_docs({404: "SPELL_NOT_FOUND, VERSION_NOT_FOUND, SBOM_NOT_FOUND (published without one)"}),
)
def version_sbom(
    spell_id: str, version: str, principal: CurrentPrincipal, platform: CurrentPlatform
) -> VersionSbomOut:
    """The SBOM a version was published with, and counts of its components, of the advisories matching
    them now (by severity) and of their licences.

    Visibility applies as for reading the spell: another tenant's private spell is 404.
    """
    with platform.db.unit_of_work(write=False) as uow:
        return platform.spells.sbom(uow, principal, spell_id, version)


@router.get(
    "/v1/spells/{spell_id:path}/versions/{version}/archive",
    response_class=Response,
    responses={
        200: {
            "description": "The version's canonical archive, signature included (digest: X-Spell-Digest;"
            " for a bought clone spell, the buyer's licence: X-Spell-License, signed by the key in"
            " X-Spell-License-Key of issuer X-Spell-License-Issuer).",
            "content": {"application/x-tar": {"schema": {"type": "string", "format": "binary"}}},
        },
        **error_docs(
            {
                402: "PURCHASE_REQUIRED (a clone spell you have not bought)",
                403: "SPELL_SUSPENDED, FORBIDDEN (no spell:read scope)",
            }
        ),
    },
)
def download_archive(
    spell_id: str, version: str, principal: CurrentPrincipal, platform: CurrentPlatform
) -> Response:
    """Download a version as published, for ``spell install server:…``, which verifies it locally.

    Visibility applies as for reading the spell: another tenant's private spell is 404. A clone-mode
    spell (``pricing.clone``) is handed out to its buyers only (402 ``PURCHASE_REQUIRED`` until
    ``POST /v1/spells/{id}/purchase``), with their licence for billed local casts.
    """
    with platform.db.unit_of_work(write=False) as uow:
        found = platform.clones.archive(uow, principal, spell_id, version)
    row = found.version
    name = f"{row.spell_id.replace('/', '-')}-{row.version}.tar"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "X-Spell-Digest": row.digest}
    if found.license is not None:
        issuer = platform.clones.issuer
        headers.update(
            {
                "X-Spell-License": found.license,
                "X-Spell-License-Issuer": issuer.issuer,
                "X-Spell-License-Key": f"{issuer.key_id}:{issuer.public_key}",
                "Cache-Control": "no-store",
            }
        )
    return Response(found.content, media_type="application/x-tar", headers=headers)


@router.patch("/v1/spells/{spell_id:path}", response_model=SpellOut)
def update_spell(
    spell_id: str, body: VisibilityUpdate, principal: CurrentPrincipal, platform: CurrentPlatform
) -> SpellOut:
    """Change a spell's visibility (its publisher's tenant only); making it public (where the deployment
    requires SBOMs) needs every unyanked version to have one (422 ``SBOM_REQUIRED``)."""
    with platform.db.unit_of_work() as uow:
        return SpellOut.from_row(platform.spells.set_visibility(uow, principal, spell_id, body.visibility))


@router.post("/v1/admin/spells/{spell_id:path}/suspend", response_model=SuspensionOut)
def suspend(
    spell_id: str,
    body: SuspendBody,
    principal: CurrentPrincipal,
    platform: CurrentPlatform,
    undo: bool = False,
) -> SuspensionOut:
    """Operator: suspend a spell (``?undo=true`` lifts it); casts get 403 ``SPELL_SUSPENDED``.

    Needs the ``operator`` scope (operator or admin role) or an admin credential. Platform-wide, so the
    answer names only the spell and its suspension, never another tenant's private details.
    """
    with platform.db.unit_of_work() as uow:
        spell = platform.spells.suspend(uow, principal, spell_id, suspended=not undo, reason=body.reason)
        return SuspensionOut.from_row(spell)


@router.get("/v1/spells/{spell_id:path}", response_model=SpellDetail)
def get_spell(spell_id: str, principal: CurrentPrincipal, platform: CurrentPlatform) -> SpellDetail:
    """A spell and its latest version."""
    with platform.db.unit_of_work(write=False) as uow:
        return SpellDetail.from_rows(*platform.spells.detail(uow, principal, spell_id))
