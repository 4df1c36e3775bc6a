"""Artifact errors: the artifact domain's leaves of the one catalog (tree in ``spell.errors``)."""

from __future__ import annotations

from spell.errors import Gone, NotFound

__all__ = ["ArtifactExpired", "ArtifactNotFound"]


class ArtifactNotFound(NotFound):
    """No artifact with that id (or not visible to the caller)."""

    code = "ARTIFACT_NOT_FOUND"


class ArtifactExpired(Gone):
    """The artifact passed its expiry."""

    code = "ARTIFACT_EXPIRED"
