"""The embedded blob store: files under ``<root>/sha256/<ab>/<hex>``, written atomically."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

from spell.errors import BlobNotFound
from spell.storage.blobs import check_digest

__all__ = ["LocalBlobStore"]


class LocalBlobStore:
    """Content-addressed files on the local disk; the same bytes are stored once."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, sha256_hex: str) -> Path:
        """Where a blob lives (whether or not it exists)."""
        check_digest(sha256_hex)
        return self.root / "sha256" / sha256_hex[:2] / sha256_hex

    def put_file(self, source: Path) -> tuple[str, int]:
        """Copy a file in; return its SHA-256 hex and size."""
        hasher = hashlib.sha256()
        size = 0
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=self.root, prefix=".blob-")
        try:
            with source.open("rb") as src, os.fdopen(fd, "wb") as out:
                while chunk := src.read(1 << 20):
                    hasher.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
            target = self.path_of(hasher.hexdigest())
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                os.unlink(tmp_name)
            else:
                shutil.move(tmp_name, target)
        except BaseException:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
            raise
        return hasher.hexdigest(), size

    def put_bundle(self, digest_hex: str, data: bytes) -> None:
        """Keep a published bundle's archive under its bundle digest (apart from the artifacts)."""
        target = self._bundle_path(digest_hex)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".blob-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp_name, target)
        except BaseException:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
            raise

    def read_bundle(self, digest_hex: str) -> bytes:
        """A published bundle's archive; its reader checks the digest, the store does not."""
        try:
            return self._bundle_path(digest_hex).read_bytes()
        except FileNotFoundError:
            raise _missing(digest_hex) from None

    def _bundle_path(self, digest_hex: str) -> Path:
        check_digest(digest_hex)
        return self.root / "bundles" / digest_hex[:2] / digest_hex

    def read(self, sha256_hex: str) -> bytes:
        """A blob's bytes."""
        try:
            return self.path_of(sha256_hex).read_bytes()
        except FileNotFoundError:
            raise _missing(sha256_hex) from None

    def exists(self, sha256_hex: str) -> bool:
        """Whether a blob is stored."""
        return self.path_of(sha256_hex).is_file()

    def delete(self, sha256_hex: str) -> None:
        """Remove a blob; one already gone is fine."""
        self.path_of(sha256_hex).unlink(missing_ok=True)

    def link(self, sha256_hex: str, *, filename: str, media_type: str, expires_in: timedelta) -> Path:
        """The file itself: the API serves it."""
        path = self.path_of(sha256_hex)
        if not path.is_file():
            raise _missing(sha256_hex)
        return path


def _missing(sha256_hex: str) -> BlobNotFound:
    return BlobNotFound(f"no blob sha256:{sha256_hex}", details={"sha256": sha256_hex})
