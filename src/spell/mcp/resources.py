"""The resources: each artifact as ``artifact://{cast_id}/{name}``, each manifest as
``spell://{publisher}/{name}@{version}``, both listed as resource templates.

A resource that cannot be read is a JSON-RPC error whose ``data`` is the catalog body (its ``code``:
``ARTIFACT_NOT_FOUND``, ``ARTIFACT_EXPIRED``, ``PAYLOAD_TOO_LARGE``…), so an agent can tell an expired
artifact from a missing one.
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from mcp.server.mcpserver import Context, MCPServer
from mcp.shared.exceptions import MCPError

from spell.client.models import ArtifactOut
from spell.errors import Gone, NotFound, PayloadTooLarge, SpellError, VersionNotFound
from spell.mcp.outputs import UNAUTHORIZED
from spell.platform.artifact.errors import ArtifactNotFound

if TYPE_CHECKING:
    from spell.mcp.server import ClientOpener

__all__ = ["RESOURCE_NOT_FOUND", "add_resources"]

#: The MCP error code of a resource that does not exist (or no longer does).
RESOURCE_NOT_FOUND = -32002
_INVALID_REQUEST = -32600

T = TypeVar("T")

_TEXT_TYPES = ("application/json", "application/xml", "application/yaml", "application/x-yaml")


def _is_text(artifact: ArtifactOut) -> bool:
    """Text by its media type, or by its name when it was stored as bytes of no declared type."""
    kind = artifact.media_type.split(";")[0].strip().lower()
    if kind == "application/octet-stream":
        kind = (mimetypes.guess_type(artifact.name)[0] or kind).lower()
    return kind.startswith("text/") or kind in _TEXT_TYPES or kind.endswith("+json")


def _protocol_error(exc: SpellError) -> MCPError:
    if exc.status_code == 401:
        return MCPError(UNAUTHORIZED, exc.message, {"code": exc.code})
    code = RESOURCE_NOT_FOUND if isinstance(exc, NotFound | Gone) else _INVALID_REQUEST
    return MCPError(code, f"{exc.code}: {exc.message}", exc.to_dict())


async def _guarded(read: Callable[[], Awaitable[T]]) -> T:
    try:
        return await read()
    except SpellError as exc:
        raise _protocol_error(exc) from None


def _relative(url: str) -> str:
    """A signed artifact URL as a path on the server the client speaks to: its public base may name
    another host (a proxy, the loopback of the HTTP transport)."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def add_resources(server: MCPServer, open_client: ClientOpener, *, max_artifact_bytes: int) -> None:
    """Register the artifact and manifest resource templates on ``server``."""

    @server.resource(
        "artifact://{cast_id}/{+name}",
        name="artifact",
        description=f"A file a cast produced (text or base64 blob, up to {max_artifact_bytes} bytes).",
    )
    async def artifact(cast_id: str, name: str, ctx: Context[Any, Any]) -> str | bytes:
        async def read() -> str | bytes:
            async with open_client(ctx) as client:
                listed = (await client.casts.artifacts(cast_id)).items
                found = next((a for a in listed if a.name == name), None)
                if found is None:
                    raise ArtifactNotFound(
                        f"cast {cast_id} has no artifact {name!r}",
                        details={"cast_id": cast_id, "name": name, "names": [a.name for a in listed]},
                    )
                _check_size(found, max_artifact_bytes)
                data = await client.artifacts.download(_relative(found.url))
            if _is_text(found):
                try:
                    return data.decode("utf-8")
                except UnicodeDecodeError:
                    return data
            return data

        return await _guarded(read)

    @server.resource(
        "spell://{publisher}/{spell_name}@{version}",
        name="spell-manifest",
        description="The manifest of one version of a spell, as JSON.",
        mime_type="application/json",
    )
    async def manifest(publisher: str, spell_name: str, version: str, ctx: Context[Any, Any]) -> str:
        spell_id = f"{publisher}/{spell_name}"

        async def read() -> str:
            async with open_client(ctx) as client:
                versions = (await client.spells.versions(spell_id)).items
            for candidate in versions:
                if candidate.version == version:
                    return json.dumps(candidate.manifest, ensure_ascii=False, indent=2)
            raise VersionNotFound(
                f"{spell_id} has no version {version}", details={"spell_id": spell_id, "version": version}
            )

        return await _guarded(read)


def _check_size(artifact: ArtifactOut, limit: int) -> None:
    if artifact.size > limit:
        raise PayloadTooLarge(
            f"artifact {artifact.name!r} is {artifact.size} bytes, more than the {limit} a resource holds",
            details={"name": artifact.name, "size": artifact.size, "limit": limit},
            hint="download it with the SDK or `spell get-output`",
        )
