"""Blob stores for artifacts: content-addressed by SHA-256, on local disk or in an S3 bucket."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from spell.errors import InvalidInput

if TYPE_CHECKING:
    from spell.config.server import ServerSettings

__all__ = ["BlobStore", "blob_store", "check_digest"]

_HEX = frozenset("0123456789abcdef")


def check_digest(sha256_hex: str) -> str:
    """``sha256_hex`` if it is a lowercase SHA-256 hex digest; a key never comes from anything else."""
    if len(sha256_hex) != 64 or not _HEX.issuperset(sha256_hex):
        raise ValueError("not a sha256 hex digest")
    return sha256_hex


class BlobStore(Protocol):
    """What the artifact service needs of a store; a missing blob is ``BLOB_NOT_FOUND``."""

    def put_file(self, source: Path) -> tuple[str, int]:
        """Copy a file in; return its SHA-256 hex and size."""
        ...

    def read(self, sha256_hex: str) -> bytes:
        """A blob's bytes."""
        ...

    def put_bundle(self, digest_hex: str, data: bytes) -> None:
        """Keep a published bundle's archive under its bundle digest (apart from the artifacts)."""
        ...

    def read_bundle(self, digest_hex: str) -> bytes:
        """A published bundle's archive; its reader checks the digest, the store does not."""
        ...

    def exists(self, sha256_hex: str) -> bool:
        """Whether a blob is stored."""
        ...

    def delete(self, sha256_hex: str) -> None:
        """Remove a blob; one already gone is fine."""
        ...

    def link(self, sha256_hex: str, *, filename: str, media_type: str, expires_in: timedelta) -> Path | str:
        """Where a client gets the blob: a local file to serve, or a URL that works for ``expires_in``."""
        ...


def blob_store(settings: ServerSettings) -> BlobStore:
    """Files under the data dir, or the bucket ``SPELL_BLOB_URL`` names (checked now, not at first cast)."""
    from spell.config.server import file_location, s3_location

    folder = file_location(settings.blob_url) if settings.blob_url else None
    if not settings.blob_url or folder is not None:
        from spell.storage.blobs.local import LocalBlobStore

        return LocalBlobStore(folder or settings.blobs_dir)
    try:
        bucket, prefix = s3_location(settings.blob_url)
    except ValueError as exc:
        raise InvalidInput(
            f"SPELL_BLOB_URL: {exc}, got {settings.blob_url!r}",
            details={"variable": "SPELL_BLOB_URL"},
            hint="unset SPELL_BLOB_URL for local files, or give s3://bucket/prefix",
        ) from None
    from spell.storage.blobs.s3 import S3BlobStore

    return S3BlobStore.connect(
        bucket,
        prefix,
        endpoint_url=settings.blob_s3_endpoint_url,
        region=settings.blob_s3_region,
        path_style=settings.blob_s3_path_style,
    )
