"""The bundle digest, byte-compatible with spell-runtime v1.

SHA-256 over ``spell-bundle-v1\\0`` and then, for each covered file in spell-runtime's order
(``spell.bundle.collation``), ``file\\0<relpath>\\0<bytes>\\0``. Covered files: the manifest, the inputs
schema, every regular file under ``steps/``; for wasm spells also the module and everything under
``resources/``; and the SBOM at the root (``sbom.spdx.json`` or ``sbom.cdx.json``) when there is one.
A bundle without an SBOM hashes exactly as spell-runtime does; spell-runtime does not know the SBOM
files, so a bundle that carries one verifies here only. ``spell.sig.json`` is never covered, so
signing does not change the digest.
Symlinks and special files are refused rather than followed, so the digest always describes bytes
that really are inside the folder.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from spell.bundle.collation import sort_paths
from spell.bundle.manifest import STEPS_DIR, SpellManifest
from spell.bundle.names import is_utf8
from spell.errors import InvalidBundle, InvalidSbom

__all__ = ["DOMAIN_TAG", "SBOM_FILES", "BundleDigest", "bundle_digest", "covered_files", "sbom_file"]

DOMAIN_TAG = b"spell-bundle-v1\0"
_CHUNK = 1 << 20
#: The SBOM a bundle may carry at its root (one of them), covered by the digest when present.
SBOM_FILES = ("sbom.spdx.json", "sbom.cdx.json")


@dataclass(frozen=True)
class BundleDigest:
    """A computed digest: the raw 32 bytes and the files it covers, in hashing order."""

    value: bytes
    files: tuple[str, ...]

    @property
    def hex(self) -> str:
        """Lowercase hex, as written in ``spell.sig.json``."""
        return self.value.hex()

    @property
    def text(self) -> str:
        """``sha256:<hex>``, as printed to people."""
        return f"sha256:{self.hex}"


def bundle_digest(bundle_dir: Path, manifest: SpellManifest) -> BundleDigest:
    """Compute the digest of the bundle at ``bundle_dir`` described by ``manifest``."""
    root = Path(bundle_dir)
    files = covered_files(root, manifest)
    hasher = hashlib.sha256(DOMAIN_TAG)
    for rel in files:
        hasher.update(b"file\0" + rel.encode("utf-8") + b"\0")
        with (root / rel).open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                hasher.update(chunk)
        hasher.update(b"\0")
    return BundleDigest(value=hasher.digest(), files=tuple(files))


def covered_files(bundle_dir: Path, manifest: SpellManifest) -> list[str]:
    """Relative POSIX paths of every file the digest covers, in hashing order."""
    root = Path(bundle_dir)
    manifest_name = "spell.yaml" if manifest.source_format == "yaml" else "manifest.toml"
    found = {_regular_file(root, manifest_name), _regular_file(root, manifest.schema_relpath)}
    execution = manifest.runtime.execution
    found.update(_tree(root, STEPS_DIR, required=execution in ("host", "docker")))
    if execution == "wasm" and manifest.runtime.wasm is not None:
        found.add(_regular_file(root, manifest.runtime.wasm.module))
        found.update(_tree(root, "resources", required=False))
    sbom = sbom_file(root)
    if sbom is not None:
        found.add(_regular_file(root, sbom))
    return sort_paths(found)


def sbom_file(bundle_dir: Path) -> str | None:
    """The name of the SBOM at the bundle root, or None; ``InvalidSbom`` when both are there.

    Presence is decided by ``lstat``, so a symlink named like an SBOM counts as present and is then
    refused by the digest instead of silently leaving the bundle without a covered SBOM.
    """
    present = [name for name in SBOM_FILES if _exists(Path(bundle_dir) / name)]
    if len(present) > 1:
        raise InvalidSbom(
            f"a bundle carries one SBOM, this one has {' and '.join(present)}: remove one of them",
            details={"path": present[0], "field": "(file)", "conflicts_with": present[1]},
        )
    return present[0] if present else None


def _exists(path: Path) -> bool:
    try:
        path.lstat()
    except FileNotFoundError:
        return False
    return True


def _regular_file(root: Path, rel: str) -> str:
    """Check that ``rel`` names a regular file inside ``root`` reached through no symlink."""
    parts = PurePosixPath(rel.removeprefix("./")).parts
    if not parts or parts[0] == "/" or ".." in parts:
        raise InvalidBundle(f"{rel} must be a relative path inside the bundle", details={"path": rel})
    current = root
    for index, part in enumerate(parts):
        current = current / part
        try:
            info = current.lstat()
        except FileNotFoundError:
            raise InvalidBundle(f"{rel} not found", details={"path": rel}) from None
        if stat.S_ISLNK(info.st_mode):
            raise InvalidBundle(f"symlink is not allowed in a bundle: {rel}", details={"path": rel})
        is_last = index == len(parts) - 1
        if is_last and not stat.S_ISREG(info.st_mode):
            raise InvalidBundle(f"{rel} not found", details={"path": rel})
    return "/".join(parts)


def _tree(root: Path, top: str, *, required: bool) -> list[str]:
    """Every regular file under ``root/top``; symlinks and special files are refused."""
    base = root / top
    try:
        info = base.lstat()
    except FileNotFoundError:
        if required:
            raise InvalidBundle(f"{top}/ must be a directory", details={"path": top}) from None
        return []
    if not stat.S_ISDIR(info.st_mode):
        raise InvalidBundle(f"{top}/ must be a directory", details={"path": top})
    out: list[str] = []
    pending = [top]
    while pending:
        rel_dir = pending.pop()
        with os.scandir(root / rel_dir) as entries:
            for entry in entries:
                rel = f"{rel_dir}/{entry.name}"
                if not is_utf8(entry.name):
                    raise InvalidBundle(
                        f"file name is not UTF-8: {rel!r}",
                        details={"path": rel.encode("utf-8", "backslashreplace").decode()},
                    )
                if entry.is_symlink():
                    raise InvalidBundle(f"symlink is not allowed in {top}/: {rel}", details={"path": rel})
                if entry.is_dir(follow_symlinks=False):
                    pending.append(rel)
                elif entry.is_file(follow_symlinks=False):
                    out.append(rel)
                else:
                    raise InvalidBundle(f"unsupported file type in {top}/: {rel}", details={"path": rel})
    return out
