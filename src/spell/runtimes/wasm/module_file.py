"""Find, size-check and fingerprint a bundle's module file, remembering the answer while it is unchanged.

Hashing the module on every cast would cost more than running a small one, so the sha256 is
remembered per path together with the file's identity (device, inode, size, mtime); any change to
those makes the next cast read and hash the file again.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ModuleFile", "ModuleFileError", "ModuleFiles"]


class ModuleFileError(Exception):
    """The module file cannot be used; ``reason`` is a stable code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class ModuleFile:
    """A module file as last seen."""

    path: str
    identity: tuple[int, int, int, int]
    sha256: str

    def read(self) -> bytes:
        """The file's bytes (the cache checks them against ``sha256`` before compiling)."""
        with open(self.path, "rb") as fh:
            return fh.read()


class ModuleFiles:
    """Thread-safe memo of module files by (bundle folder, module path)."""

    def __init__(self, *, max_bytes: int, capacity: int = 1024) -> None:
        self._max_bytes = max_bytes
        self._capacity = capacity
        self._seen: dict[tuple[str, str], ModuleFile] = {}
        self._lock = threading.Lock()

    def lookup(self, bundle_dir: Path, module_rel: str) -> ModuleFile:
        """Return the module file of a bundle, refusing paths outside it and files over the size cap."""
        key = (os.fspath(bundle_dir), module_rel)
        with self._lock:
            known = self._seen.get(key)
        if known is not None:
            try:
                if _identity(os.stat(known.path)) == known.identity:
                    return known
            except OSError:
                pass
        found = self._inspect(bundle_dir, module_rel)
        with self._lock:
            if len(self._seen) >= self._capacity:
                self._seen.clear()
            self._seen[key] = found
        return found

    def _inspect(self, bundle_dir: Path, module_rel: str) -> ModuleFile:
        root = bundle_dir.resolve()
        path = (root / module_rel).resolve()
        if not path.is_relative_to(root):
            raise ModuleFileError("bad_path", f"runtime.wasm.module {module_rel!r} is outside the bundle")
        try:
            st = os.stat(path)
            if st.st_size > self._max_bytes:
                raise ModuleFileError(
                    "module_too_large", f"the module is {st.st_size} bytes; the limit is {self._max_bytes}"
                )
            data = path.read_bytes()
        except OSError as exc:
            raise ModuleFileError(
                "module_missing", f"cannot read the module {module_rel}: {exc.strerror}"
            ) from None
        return ModuleFile(path=str(path), identity=_identity(st), sha256=hashlib.sha256(data).hexdigest())


def _identity(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
