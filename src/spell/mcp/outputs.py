"""What the tools answer: structured output models, and ``SpellError`` translated to tool results.

A refusal the agent can act on (a budget cap, missing credit, a rate limit, a missing scope, an input
the schema refuses) is a tool result with ``is_error`` and the error's catalog body, ``code`` and
``retry_after`` included, never a protocol failure. Only an unusable credential (401) is a protocol
error: no call on that connection can succeed until the client changes its key.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel

from spell.client.models import ArtifactOut, CastOut, SpellDetail, VersionOut, ended
from spell.errors import AuthError, SpellError

__all__ = [
    "CONFIRMED_RISKS",
    "UNAUTHORIZED",
    "ArtifactRef",
    "CastResult",
    "SpellSummary",
    "artifact_uri",
    "cast_result",
    "error_result",
    "manifest_uri",
    "ok_result",
    "spell_summary",
]

#: The JSON-RPC error code of an unusable credential (the server-error range of JSON-RPC 2.0).
UNAUTHORIZED = -32001


def artifact_uri(cast_id: str, name: str) -> str:
    """The resource URI of one artifact of a cast."""
    return f"artifact://{cast_id}/{name}"


def manifest_uri(spell_id: str, version: str) -> str:
    """The resource URI of one version's manifest."""
    return f"spell://{spell_id}@{version}"


class ArtifactRef(BaseModel):
    """A file a cast produced, read as the resource ``uri``."""

    name: str
    uri: str
    size: int
    media_type: str
    sha256: str
    expires_at: str


class CastResult(BaseModel):
    """A cast as the agent sees it: ``done`` with its output and artifacts, or still running (poll
    ``casts_get`` with ``cast_id``)."""

    cast_id: str
    spell_id: str
    version: str
    status: str
    done: bool
    output: Any = None
    error: dict[str, Any] | None = None
    usage: dict[str, Any] | None = None
    artifacts: list[ArtifactRef] = []
    idempotency_key: str | None = None
    idempotent_replay: bool = False


class SpellSummary(BaseModel):
    """What an agent needs to decide on a cast: the manifest summary, input schema, price and risk."""

    id: str
    publisher: str
    name: str
    summary: str
    description: str | None
    tags: list[str]
    version: str
    latest_version: str
    execution: str
    digest: str
    signer_key_id: str | None
    price_amount: int
    pricing: dict[str, Any]
    risk: str
    needs_confirm: bool
    effects: list[Any]
    permissions: list[Any]
    input_schema: dict[str, Any]
    manifest_uri: str


#: Risks that need an explicit ``confirm``, as ``spell cast`` needs ``--yes`` for them.
CONFIRMED_RISKS = frozenset({"high", "critical"})


def spell_summary(spell: SpellDetail, version: VersionOut) -> SpellSummary:
    """The summary of one version of a spell."""
    manifest = version.manifest
    risk = str(manifest.get("risk", "low"))
    return SpellSummary(
        id=spell.id,
        publisher=spell.publisher,
        name=spell.name,
        summary=spell.summary,
        description=manifest.get("description"),
        tags=spell.tags,
        version=version.version,
        latest_version=spell.latest_version,
        execution=version.execution,
        digest=version.digest,
        signer_key_id=version.signer_key_id,
        price_amount=spell.price_amount,
        pricing=dict(manifest.get("pricing") or {}),
        risk=risk,
        needs_confirm=risk in CONFIRMED_RISKS,
        effects=list(manifest.get("effects") or []),
        permissions=list(manifest.get("permissions") or []),
        input_schema=version.input_schema,
        manifest_uri=manifest_uri(spell.id, version.version),
    )


def cast_result(
    cast: CastOut, artifacts: Sequence[ArtifactOut] = (), *, idempotency_key: str | None = None
) -> CastResult:
    """The agent's view of a cast and the artifacts it produced."""
    return CastResult(
        cast_id=cast.id,
        spell_id=cast.spell_id,
        version=cast.version,
        status=cast.status,
        done=ended(cast),
        output=cast.output,
        error=cast.error.model_dump() if cast.error is not None else None,
        usage=cast.usage,
        artifacts=[
            ArtifactRef(
                name=a.name,
                uri=artifact_uri(cast.id, a.name),
                size=a.size,
                media_type=a.media_type,
                sha256=a.sha256,
                expires_at=a.expires_at,
            )
            for a in artifacts
        ],
        idempotency_key=idempotency_key,
        idempotent_replay=cast.idempotent_replay,
    )


def ok_result(model: BaseModel) -> CallToolResult:
    """A structured tool result, its JSON also as text for clients that read only text."""
    data = model.model_dump(mode="json")
    return CallToolResult(
        content=[TextContent(type="text", text=json.dumps(data, ensure_ascii=False))], structured_content=data
    )


def error_result(exc: SpellError) -> CallToolResult:
    """A refusal as a tool error carrying the catalog body (``code``, ``message``, ``retry_after``…);
    an unusable credential raises the protocol error instead."""
    if isinstance(exc, AuthError):
        raise MCPError(UNAUTHORIZED, exc.message, {"code": exc.code})
    body = exc.to_dict()
    text = f"{exc.code}: {exc.message}"
    if exc.retry_after is not None:
        text += f" (retry after {exc.retry_after} s)"
    if exc.hint:
        text += f" — {exc.hint}"
    return CallToolResult(
        content=[TextContent(type="text", text=text)], structured_content={"error": body}, is_error=True
    )
