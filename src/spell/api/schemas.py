"""Response models: they document every route's body in the OpenAPI document."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

__all__ = [
    "ArtifactList",
    "BanOut",
    "ButtonList",
    "ButtonOut",
    "CastList",
    "CastOut",
    "Deleted",
    "KeyCreated",
    "KeyList",
    "KeyOut",
    "MeOut",
    "MemberOut",
    "PublisherKeyOut",
    "SpellDetail",
    "SpellList",
    "SpellOut",
    "TenantOut",
    "VersionList",
    "VersionOut",
    "error_docs",
]

_ERROR_ENVELOPE: dict[str, Any] = {
    "type": "object",
    "required": ["ok", "error"],
    "properties": {
        "ok": {"const": False},
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "object"},
                "hint": {"type": "string"},
                "retry_after": {"type": "integer"},
                "request_id": {"type": "string"},
            },
        },
    },
}


def error_docs(codes: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for error statuses: each with the codes it carries and the error envelope."""
    return {
        status: {"description": text, "content": {"application/json": {"schema": _ERROR_ENVELOPE}}}
        for status, text in codes.items()
    }


class MeOut(BaseModel):
    """The caller."""

    user_id: str
    email: str | None
    tenant_id: str
    roles: list[str]
    scopes: list[str]
    key_id: str | None


class MemberOut(BaseModel):
    """A user of the caller's tenant."""

    user_id: str
    email: str | None
    roles: list[str]
    banned: bool
    joined_at: str


class TenantOut(BaseModel):
    """The caller's tenant (organization) and its members."""

    id: str
    name: str
    created_at: str
    members: list[MemberOut]


class KeyOut(BaseModel):
    """An API key without its secret."""

    id: str
    name: str
    prefix: str
    scopes: list[str]
    created_at: str
    expires_at: str | None
    revoked_at: str | None
    last_used_at: str | None
    rotated_to: str | None


class KeyCreated(KeyOut):
    """A new key with its secret, shown only in this response."""

    token: str


class KeyList(BaseModel):
    """The caller's keys."""

    items: list[KeyOut]


class PublisherKeyOut(BaseModel):
    """A publisher's signing key."""

    publisher: str
    key_id: str
    created_at: str | None = None
    revoked: bool = False


class VersionOut(BaseModel):
    """One immutable version of a spell."""

    spell_id: str
    version: str
    digest: str
    execution: str
    signer_key_id: str | None
    is_yanked: bool
    archive_size: int
    input_schema: dict[str, Any]
    manifest: dict[str, Any]
    created_at: str


class SpellOut(BaseModel):
    """A spell in the grimoire."""

    id: str
    publisher: str
    name: str
    summary: str
    tags: list[str]
    visibility: str
    is_suspended: bool
    latest_version: str
    price_amount: int
    cast_count: int
    created_at: str
    updated_at: str


class SuspensionOut(BaseModel):
    """A spell's suspension, as an operator action answers it (nothing of the spell beyond that)."""

    spell_id: str
    is_suspended: bool
    reason: str | None


class SpellDetail(SpellOut):
    """A spell and its latest version."""

    latest: VersionOut


class SpellList(BaseModel):
    """A page of spells."""

    items: list[SpellOut]
    next_cursor: str | None


class VersionList(BaseModel):
    """Every version of a spell, newest first."""

    items: list[VersionOut]


class CastError(BaseModel):
    """Why a cast did not succeed."""

    code: str | None
    message: str | None


class CastOut(BaseModel):
    """One cast."""

    id: str
    spell_id: str
    version: str
    spell_digest: str
    button_id: str | None
    status: str
    input_digest: str
    output: Any
    usage: dict[str, Any] | None
    error: CastError | None
    retry_of: str | None
    retried_by: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    idempotent_replay: bool


class CastList(BaseModel):
    """A page of casts, newest first."""

    items: list[CastOut]
    next_cursor: str | None


class ArtifactOut(BaseModel):
    """A file a cast produced, with a short-lived signed download URL."""

    id: str
    name: str
    sha256: str
    size: int
    media_type: str
    expires_at: str
    url: str


class ArtifactList(BaseModel):
    """A cast's artifacts."""

    items: list[ArtifactOut]


class ButtonOut(BaseModel):
    """A button."""

    id: str
    spell_id: str
    version: str
    label: str
    allowed_roles: list[str]
    allowed_tenants: list[str]
    require_signature: bool
    require_confirmation: bool
    created_at: str


class ButtonList(BaseModel):
    """Buttons the caller may see."""

    items: list[ButtonOut]


class BanOut(BaseModel):
    """A user's ban state."""

    user_id: str
    is_banned: bool
    reason: str | None = None


class Deleted(BaseModel):
    """A deletion."""

    id: str
    deleted: bool
