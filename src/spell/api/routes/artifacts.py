"""Artifact downloads through signed URLs (no bearer token needed: the URL is the capability)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from spell.api.deps import CurrentPlatform
from spell.api.routing import GuardedRoute

router = APIRouter(route_class=GuardedRoute, tags=["artifacts"])


@router.get(
    "/v1/artifacts/{artifact_id}",
    response_class=FileResponse,
    # the artifact's own media type, as the spell declared it
    responses={
        200: {
            "description": "The artifact's bytes",
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                "*/*": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
def download(artifact_id: str, expires: int, sig: str, platform: CurrentPlatform) -> FileResponse:
    """Download an artifact; 401 for a bad or stale URL, 410 ``ARTIFACT_EXPIRED`` after its expiry."""
    with platform.db.unit_of_work(write=False) as uow:
        row, path = platform.artifacts.open_signed(uow, artifact_id, expires, sig)
    return FileResponse(path, media_type=row.media_type, filename=row.name.rsplit("/", 1)[-1])
