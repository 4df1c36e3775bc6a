"""Folders and files only their owner may read: the server's data dir, database and secret key.

Created with the restrictive mode from the start (``os.open`` with a mode, ``mkdir(mode=...)``) rather
than chmod-ed afterwards, so there is no moment at which another local user could open them; ones that
already exist are tightened too, since a data dir made by an older version may still be world-readable.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["private_dir", "private_file", "write_private_text"]

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) owner-only, or tighten it to 0700 when it exists."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    _tighten(path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create an empty ``path`` readable by its owner only, or tighten an existing one to 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), FILE_MODE)
    os.close(fd)
    _tighten(path, FILE_MODE)
    return path


def write_private_text(path: Path, text: str) -> bool:
    """Write ``text`` to a new owner-only file; False (and nothing written) when ``path`` exists."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return True


def _tighten(path: Path, mode: int) -> None:
    current = stat.S_IMODE(path.stat().st_mode)
    if current & ~mode:
        path.chmod(current & mode)
