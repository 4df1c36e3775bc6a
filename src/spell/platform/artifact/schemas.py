"""Wire shapes of a cast's artifacts."""

from __future__ import annotations

from pydantic import BaseModel

from spell.kit.time import to_rfc3339
from spell.platform.artifact.service import SignedArtifact

__all__ = ["ArtifactList", "ArtifactOut"]


class ArtifactOut(BaseModel):
    """A file a cast produced, with a short-lived signed download URL."""

    id: str
    name: str
    sha256: str
    size: int
    media_type: str
    expires_at: str
    url: str

    @classmethod
    def from_signed(cls, signed: SignedArtifact) -> ArtifactOut:
        """An artifact row and its signed URL."""
        row = signed.artifact
        return cls(
            id=row.id,
            name=row.name,
            sha256=row.sha256,
            size=row.size,
            media_type=row.media_type,
            expires_at=to_rfc3339(row.expires_at),
            url=signed.url,
        )


class ArtifactList(BaseModel):
    """A cast's artifacts."""

    items: list[ArtifactOut]
