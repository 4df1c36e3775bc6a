"""Install source: a canonical ``.tar`` archive, checked member by member before anything is written."""

from __future__ import annotations

from pathlib import Path

from spell.bundle.archive import unpack_archive
from spell.bundle.sources.base import Fetched

__all__ = ["fetch_archive", "is_archive"]


def is_archive(text: str) -> bool:
    """True for a path to an existing ``.tar`` file."""
    path = Path(text).expanduser()
    return path.suffix == ".tar" and path.is_file()


def fetch_archive(text: str, workdir: Path) -> Fetched:
    """Unpack the archive into ``workdir/bundle`` (refusing unsafe members up front)."""
    dest = workdir / "bundle"
    unpack_archive(Path(text).expanduser(), dest)
    return Fetched(root=dest, kind="archive", source=text)
