"""Store a cast's artifacts and hand them out through HMAC-signed, short-lived URLs.

A signed URL is checked here whatever the store; then a local blob is served by the API and a blob in
S3 is fetched from a presigned URL that ends with the download URL or the artifact, whichever first.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from spell.errors import AuthError
from spell.kit.clock import Clock, SystemClock
from spell.kit.ids import new_id
from spell.models import Artifact, Cast
from spell.platform.artifact.errors import ArtifactExpired, ArtifactNotFound
from spell.platform.auth.schemas import CAST_READ_SCOPES, Principal
from spell.platform.cast.repository import CastRepository
from spell.runtimes.base import Artifact as RuntimeArtifact
from spell.storage.blobs import BlobStore
from spell.storage.session import UnitOfWork

__all__ = ["ArtifactService", "SignedArtifact"]


@dataclass(frozen=True)
class SignedArtifact:
    """An artifact and a fresh signed download URL of it."""

    artifact: Artifact
    url: str


class ArtifactService:
    """Artifacts live ``ttl`` after their cast; download URLs live ``url_ttl`` (both on ``clock``)."""

    def __init__(
        self,
        blobs: BlobStore,
        secret_key: str,
        *,
        ttl: timedelta,
        url_ttl: timedelta,
        clock: Clock | None = None,
    ) -> None:
        self.blobs = blobs
        self._secret = secret_key.encode("utf-8")
        self.ttl = ttl
        self.url_ttl = url_ttl
        self.clock = clock or SystemClock()
        self._casts = CastRepository()

    def store(self, uow: UnitOfWork, cast: Cast, produced: list[RuntimeArtifact]) -> list[Artifact]:
        """Copy what a runtime produced into the blob store and record it."""
        rows: list[Artifact] = []
        now = self.clock.now()
        for item in produced:
            if not Path(item.path).is_file():
                continue
            sha, size = self.blobs.put_file(Path(item.path))
            row = Artifact(
                id=new_id("art"),
                cast_id=cast.id,
                tenant_id=cast.tenant_id,
                name=item.name,
                sha256=sha,
                size=size,
                media_type=item.media_type,
                created_at=now,
                expires_at=now + self.ttl,
            )
            uow.session.add(row)
            rows.append(row)
        uow.session.flush()
        return rows

    def list_for_cast(self, uow: UnitOfWork, cast_id: str) -> list[Artifact]:
        """Every artifact of a cast, by name."""
        return list(
            uow.session.scalars(select(Artifact).where(Artifact.cast_id == cast_id).order_by(Artifact.name))
        )

    def signed_for_cast(self, uow: UnitOfWork, principal: Principal, cast_id: str) -> list[SignedArtifact]:
        """The artifacts of one of the tenant's casts, by name, each with a fresh signed URL
        (``CAST_NOT_FOUND`` for another tenant's cast)."""
        principal.require_any(*CAST_READ_SCOPES)
        self._casts.get_for_tenant(uow, principal.tenant_id, cast_id)
        return [
            SignedArtifact(row, f"/v1/artifacts/{row.id}?{self.download_query(row.id)}")
            for row in self.list_for_cast(uow, cast_id)
        ]

    def sign(self, artifact_id: str, expires: int) -> str:
        """The signature of a download URL (``/v1/artifacts/{id}?expires=…&sig=…``)."""
        message = f"{artifact_id}:{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def download_query(self, artifact_id: str) -> str:
        """The query string of a fresh signed URL."""
        expires = int((self.clock.now() + self.url_ttl).timestamp())
        return f"expires={expires}&sig={self.sign(artifact_id, expires)}"

    def open_signed(
        self, uow: UnitOfWork, artifact_id: str, expires: int, sig: str
    ) -> tuple[Artifact, Path | str]:
        """Check a signed URL and return the row and where its bytes are (a file to serve, or a URL to
        send the client to); 401 for a bad/old URL, 410 when expired."""
        # compare_digest refuses non-ASCII text; a signature is ASCII, so anything else is simply wrong.
        if not sig.isascii() or not hmac.compare_digest(self.sign(artifact_id, expires), sig):
            raise AuthError("the download URL signature is invalid")
        now = self.clock.now()
        if expires < int(now.timestamp()):
            raise AuthError("the download URL has expired", hint="list the cast's artifacts for a fresh URL")
        row = uow.session.get(Artifact, artifact_id)
        if row is None:
            raise ArtifactNotFound(f"no artifact {artifact_id!r}", details={"artifact_id": artifact_id})
        if row.expires_at <= now:
            raise ArtifactExpired(
                f"artifact {artifact_id} expired", details={"expired_at": str(row.expires_at)}
            )
        where = self.blobs.link(
            row.sha256,
            filename=row.name.rsplit("/", 1)[-1],
            media_type=row.media_type,
            expires_in=min(self.url_ttl, row.expires_at - now),
        )
        return row, where
