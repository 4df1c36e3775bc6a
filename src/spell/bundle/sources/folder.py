"""Install source: a bundle folder on this machine."""

from __future__ import annotations

from pathlib import Path

from spell.bundle.sources.base import Fetched
from spell.errors import InvalidBundle

__all__ = ["fetch_folder"]


def fetch_folder(text: str) -> Fetched:
    """Use the folder at ``text`` as it is (the store copies it; nothing is written here)."""
    path = Path(text).expanduser()
    if not path.is_dir():
        raise InvalidBundle(f"bundle path must be a directory: {text}", details={"path": text})
    return Fetched(root=path.resolve(), kind="local", source=text)
