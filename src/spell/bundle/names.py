"""File-name checks shared by the digest and the archive, kept apart so the digest loads no ``tarfile``."""

from __future__ import annotations

__all__ = ["is_utf8"]


def is_utf8(name: str) -> bool:
    """False for a file name the OS handed over with undecodable bytes (lone surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
