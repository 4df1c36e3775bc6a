"""Artifact downloads through signed URLs (no bearer token needed: the URL is the capability).

With artifacts in S3 the checked URL redirects to a presigned one of the bucket's."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse, Response

from spell.api.deps import CurrentPlatform
from spell.api.routing import GuardedRoute

router = APIRouter(route_class=GuardedRoute, tags=["artifacts"])


@router.get(
    "/v1/artifacts/{artifact_id}",
    response_class=FileResponse,
    response_model=None,
    # the artifact's own media type, as the spell declared it
    responses={
        200: {
            "description": "The artifact's bytes",
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                "*/*": {"schema": {"type": "string", "format": "binary"}},
            },
        },
        302: {"description": "Artifacts kept in S3: the presigned URL of the bytes, short-lived"},
    },
)
def download(artifact_id: str, expires: int, sig: str, platform: CurrentPlatform) -> Response:
    """Download an artifact (or, from S3, a redirect to it); 401 for a bad or stale URL, 410
    ``ARTIFACT_EXPIRED`` after its expiry."""
    with platform.db.unit_of_work(write=False) as uow:
        row, where = platform.artifacts.open_signed(uow, artifact_id, expires, sig)
    if isinstance(where, str):
        return RedirectResponse(where, status_code=302)
    return FileResponse(where, media_type=row.media_type, filename=row.name.rsplit("/", 1)[-1])
