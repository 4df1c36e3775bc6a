"""Wire shapes of a cast's artifacts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel

from spell.kit.wire import Rfc3339

if TYPE_CHECKING:  # rows are only read here: the SDK imports these shapes without the database models
    from spell.platform.artifact.service import SignedArtifact

__all__ = ["ArtifactList", "ArtifactOut"]


class ArtifactOut(BaseModel):
    """A file a cast produced, with a short-lived signed download URL."""

    id: str
    name: str
    sha256: str
    size: int
    media_type: str
    expires_at: Rfc3339
    url: str

    @classmethod
    def from_signed(cls, signed: SignedArtifact) -> ArtifactOut:
        """An artifact row and its signed URL."""
        row = signed.artifact
        return cls(**{name: getattr(row, name) for name in cls.model_fields if name != "url"}, url=signed.url)


class ArtifactList(BaseModel):
    """A cast's artifacts."""

    items: list[ArtifactOut]
