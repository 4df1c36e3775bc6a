"""The embedded blob store: files under ``<root>/sha256/<ab>/<hex>``, written atomically."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["LocalBlobStore"]


class LocalBlobStore:
    """Content-addressed files on the local disk; the same bytes are stored once."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, sha256_hex: str) -> Path:
        """Where a blob lives (whether or not it exists)."""
        if len(sha256_hex) != 64 or any(c not in "0123456789abcdef" for c in sha256_hex):
            raise ValueError("not a sha256 hex digest")
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
