"""The console's static files: read once at start, served from memory under a content-hashed URL.

``asset_url("console.css")`` is ``/static/console.css?v=<hash>``; an answer to a URL carrying the
current hash may be cached for a year (the hash changes with the file), any other for a minute.
Only the files of ``static/`` are served, by exact name: no path from the URL reaches the disk.
"""

from __future__ import annotations

import hashlib
import hmac
import mimetypes
from dataclasses import dataclass
from pathlib import Path

__all__ = ["STATIC_DIR", "Asset", "Assets"]

STATIC_DIR = Path(__file__).resolve().parent / "static"
_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}


@dataclass(frozen=True)
class Asset:
    """One static file: its bytes, media type and short content hash."""

    body: bytes
    media_type: str
    version: str


class Assets:
    """Every file of a static folder, by name."""

    def __init__(self, folder: Path = STATIC_DIR) -> None:
        self.files: dict[str, Asset] = {}
        for path in sorted(folder.iterdir()):
            if path.is_file():
                body = path.read_bytes()
                media = (
                    _TYPES.get(path.suffix)
                    or mimetypes.guess_type(path.name)[0]
                    or "application/octet-stream"
                )
                self.files[path.name] = Asset(body, media, hashlib.sha256(body).hexdigest()[:12])

    def url(self, name: str) -> str:
        """The versioned URL of a static file (``KeyError`` for a file that does not exist)."""
        return f"/static/{name}?v={self.files[name].version}"

    def find(self, name: str) -> Asset | None:
        """The file called ``name``, if there is one."""
        return self.files.get(name)

    @staticmethod
    def cache_control(asset: Asset, version: str | None) -> str:
        """Immutable for a year when the URL names the current content, else briefly."""
        if version is not None and hmac.compare_digest(version, asset.version):
            return "public, max-age=31536000, immutable"
        return "public, max-age=60"
