"""A private, content-addressed cache under ``$SPELL_HOME/cache`` for results that are pure
functions of bytes a cast reads anyway (the parse of a ``spell.yaml``, an Ed25519 check).

Each entry is named by a SHA-256 over everything its value depends on, so an entry can only ever
stand for the same input. What it cannot defend is someone else writing entries: the cache is used
only while its folder and the entry belong to this user and no one else may write them (as ssh
treats ``~/.ssh``). Anyone who can still write here can write the trust store and the installed
bundles beside it, so a planted entry gives no power they lack. Any doubt — another owner, a
writable mode, a symlink, an unreadable or malformed entry — is a miss, and the caller computes the
value as if there were no cache. Failing to write an entry is not an error.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

__all__ = ["PrivateCache"]

_HEX = frozenset("0123456789abcdef")
_MAX_ENTRY_BYTES = 1024 * 1024


class PrivateCache:
    """Entries ``<root>/<sha256 hex>``; see the module for when an entry is trusted."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def get(self, key: str) -> bytes | None:
        """The entry's bytes, or None when it is missing or cannot be trusted."""
        if not _is_key(key) or not self._private_dir():
            return None
        try:
            fd = os.open(self.root / key, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            return None
        try:
            info = os.fstat(fd)
            if not _private(info) or not stat.S_ISREG(info.st_mode) or info.st_size > _MAX_ENTRY_BYTES:
                return None
            with os.fdopen(fd, "rb", closefd=False) as entry:
                return entry.read(_MAX_ENTRY_BYTES + 1)
        except OSError:
            return None
        finally:
            os.close(fd)

    def put(self, key: str, data: bytes) -> None:
        """Store an entry atomically (write a private temporary file, then rename it into place)."""
        if not _is_key(key) or len(data) > _MAX_ENTRY_BYTES:
            return
        temporary = self.root / f".{key}.{os.getpid()}.tmp"
        try:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not self._private_dir():
                return
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as entry:
                entry.write(data)
            os.replace(temporary, self.root / key)
        except OSError:
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)

    def _private_dir(self) -> bool:
        try:
            info = os.lstat(self.root)
        except OSError:
            return False
        return stat.S_ISDIR(info.st_mode) and _private(info)


def _private(info: os.stat_result) -> bool:
    return info.st_uid == os.getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _is_key(key: str) -> bool:
    return len(key) == 64 and set(key) <= _HEX
