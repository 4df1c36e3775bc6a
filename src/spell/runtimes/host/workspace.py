"""A cast's private workspace: a copy of the bundle and the input file, removed afterwards."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spell.errors import InvalidBundle
from spell.runtimes.host.sandbox import SPAWN_LOCK

__all__ = ["Workspace", "copy_bundle", "workspace"]


@dataclass(frozen=True)
class Workspace:
    """Where a cast runs (``bundle``) and where its input lives (``input_path``, mode 0600)."""

    root: Path
    bundle: Path
    input_path: Path


@contextmanager
def workspace(
    bundle_dir: Path, input_value: Any, *, base: Path | None = None, root: Path | None = None
) -> Iterator[Workspace]:
    """Copy the bundle and write the input; everything is deleted on exit, whatever happened.

    ``root``: an empty folder of mode 0700 made for this cast (default: a new one in ``base``)."""
    if root is None:
        root = Path(tempfile.mkdtemp(prefix="spell-cast-", dir=base))
    try:
        os.chmod(root, 0o700)
        bundle = root / "bundle"
        with SPAWN_LOCK:  # no child of this process may hold a step file open for writing
            copy_bundle(bundle_dir, bundle)
        input_path = root / "input.json"
        fd = os.open(input_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(input_value, handle, ensure_ascii=False)
        yield Workspace(root, bundle, input_path)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def copy_bundle(source: Path, target: Path) -> None:
    """Copy regular files and folders, keeping modes; links and special files are refused."""
    target.mkdir(parents=True)
    with os.scandir(source) as listing:
        entries = list(listing)
    for entry in entries:
        src, dst = Path(entry.path), target / entry.name
        if entry.is_symlink():
            raise InvalidBundle(f"bundle holds a symbolic link: {entry.name}", details={"path": entry.name})
        if entry.is_dir():
            copy_bundle(src, dst)
        elif entry.is_file():
            shutil.copy2(src, dst)
            dst.chmod(src.stat().st_mode & 0o755 | 0o600)
        else:
            raise InvalidBundle(f"bundle holds a special file: {entry.name}", details={"path": entry.name})
