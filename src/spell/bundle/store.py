"""The local store of installed spells: ``<root>/<base64url(id)>/<version>/``.

Layout (compatible with spell-runtime)::

    <root>/<base64url(id)>/spell.id.txt        the id in clear text, checked on every read
    <root>/<base64url(id)>/<x.y.z>/            the bundle files
    <root>/<base64url(id)>/<x.y.z>/source.json where it came from (provenance)

Adding is atomic: the bundle is staged in a hidden folder beside the store and renamed into place,
so a failed install leaves nothing behind and a reader never sees half a version.
"""

from __future__ import annotations

import builtins
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from spell.bundle.loaders import load_manifest
from spell.bundle.manifest import SpellManifest
from spell.bundle.provenance import SOURCE_FILE, SourceRecord, read_source_record
from spell.errors import AlreadyExists, InvalidBundle, SpellNotFound, StoreInconsistent, VersionNotFound
from spell.kit.encoding import storage_key

if TYPE_CHECKING:
    from spell.bundle.cache import PrivateCache

__all__ = ["ID_FILE", "AddOutcome", "InstalledSpell", "LocalStore", "version_key"]

ID_FILE = "spell.id.txt"
# spell.signing.signature.SIGNATURE_FILE (signing sits above bundle): outside the digest, so a new
# signature of the same files is noticed by comparing this file.
_SIGNATURE_FILE = "spell.sig.json"
_STAGING_PREFIX = ".staging-"


def version_key(version: str) -> tuple[int, int, int] | None:
    """Sort key of an ``x.y.z`` version, or None when the text is not one."""
    parts = version.split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    return int(parts[0]), int(parts[1]), int(parts[2])


@dataclass(frozen=True)
class InstalledSpell:
    """One installed version of a spell."""

    id: str
    version: str
    path: Path
    manifest: SpellManifest
    source: SourceRecord | None


@dataclass(frozen=True)
class AddOutcome:
    """What ``LocalStore.add`` did: installed fresh, found it identical already, replaced it, or
    replaced it because only its signature file changed (``resigned``)."""

    spell: InstalledSpell
    status: Literal["installed", "unchanged", "replaced", "resigned"]


class LocalStore:
    """Installed spells under ``root`` (normally ``$SPELL_HOME/spells``).

    ``manifest_cache``: where manifest parses are kept between processes (``load_manifest``).
    """

    def __init__(self, root: Path, *, manifest_cache: PrivateCache | None = None) -> None:
        self.root = root
        self.manifest_cache = manifest_cache

    def id_dir(self, spell_id: str) -> Path:
        """The folder holding every version of ``spell_id``."""
        return self.root / storage_key(spell_id)

    def versions(self, spell_id: str) -> list[str]:
        """Installed versions of a spell, lowest first; ``SpellNotFound`` when none."""
        id_dir = self.id_dir(spell_id)
        if not id_dir.is_dir():
            raise SpellNotFound(
                f"spell not installed: {spell_id}",
                details={"id": spell_id},
                hint="run `spell install <source>` first; `spell list` shows what is installed",
            )
        self._check_id_file(id_dir, spell_id)
        found = [p.name for p in id_dir.iterdir() if p.is_dir() and version_key(p.name) is not None]
        return sorted(found, key=lambda v: version_key(v) or (0, 0, 0))

    def resolve(self, spell_id: str, version: str | None = None) -> InstalledSpell:
        """Return the installed ``spell_id`` at ``version``, or its highest version when None."""
        versions = self.versions(spell_id)
        if version is None:
            if not versions:
                raise SpellNotFound(f"spell not installed: {spell_id}", details={"id": spell_id})
            version = versions[-1]
        elif version not in versions:
            raise VersionNotFound(
                f"version not installed: {spell_id}@{version}",
                details={"id": spell_id, "version": version, "installed": versions},
            )
        return self._load(spell_id, version)

    def list(self) -> list[InstalledSpell]:
        """Every installed version of every spell, sorted by id then version."""
        if not self.root.is_dir():
            return []
        spells: list[InstalledSpell] = []
        for id_dir in sorted(self.root.iterdir()):
            if id_dir.name.startswith(".") or not id_dir.is_dir():
                continue
            spell_id = self._read_id_file(id_dir)
            if storage_key(spell_id) != id_dir.name:
                raise StoreInconsistent(
                    f"spell.id.txt mismatch for {id_dir.name}: it names '{spell_id}'",
                    details={"path": str(id_dir), "id": spell_id},
                )
            spells.extend(self._load(spell_id, v) for v in self.versions(spell_id))
        return sorted(spells, key=lambda s: (s.id, version_key(s.version) or (0, 0, 0)))

    def add(
        self, bundle_dir: Path, manifest: SpellManifest, source: SourceRecord, *, force: bool = False
    ) -> AddOutcome:
        """Copy a bundle into the store atomically.

        The same version with the same digest and signature file is a no-op; the same digest
        with another signature file replaces it (``resigned``); a different digest at an installed
        version is ``AlreadyExists`` unless ``force`` replaces it.
        """
        id_dir = self.id_dir(manifest.id)
        target = id_dir / manifest.version
        if id_dir.exists():
            self._check_id_file(id_dir, manifest.id)
        replacing = target.exists()
        resigned = False
        if replacing:
            existing = self._load(manifest.id, manifest.version)
            same = existing.source is not None and _same_digest(existing.source.digest, source.digest)
            if same and not force:
                if _read_or_none(target / _SIGNATURE_FILE) == _read_or_none(bundle_dir / _SIGNATURE_FILE):
                    return AddOutcome(existing, "unchanged")
                resigned = True
            elif not force:
                raise AlreadyExists(
                    f"already installed: {manifest.id}@{manifest.version} (with another digest)",
                    details={
                        "id": manifest.id,
                        "version": manifest.version,
                        "installed_digest": existing.source.digest if existing.source else None,
                        "new_digest": source.digest,
                    },
                    hint="bump the version, or pass --force to replace the installed copy",
                )
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=_STAGING_PREFIX, dir=self.root))
        try:
            staged = staging / "bundle"
            _copy_bundle(bundle_dir, staged)
            (staged / SOURCE_FILE).write_text(source.to_text(), encoding="utf-8")
            self._commit(staging, staged, id_dir, target, manifest.id, replacing=replacing)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        status: Literal["installed", "replaced", "resigned"] = (
            "resigned" if resigned else "replaced" if replacing else "installed"
        )
        return AddOutcome(self._load(manifest.id, manifest.version), status)

    def remove(self, spell_id: str, version: str | None = None) -> builtins.list[str]:
        """Remove one version (or all when None); the id folder goes with its last version."""
        versions = self.versions(spell_id)
        doomed = versions if version is None else [version]
        if version is not None and version not in versions:
            raise VersionNotFound(
                f"version not installed: {spell_id}@{version}",
                details={"id": spell_id, "version": version, "installed": versions},
            )
        id_dir = self.id_dir(spell_id)
        trash = Path(tempfile.mkdtemp(prefix=_STAGING_PREFIX, dir=self.root))
        try:
            if set(doomed) == set(versions):
                os.rename(id_dir, trash / "id")
            else:
                for v in doomed:
                    os.rename(id_dir / v, trash / v)
        finally:
            shutil.rmtree(trash, ignore_errors=True)
        return doomed

    def _commit(
        self, staging: Path, staged: Path, id_dir: Path, target: Path, spell_id: str, *, replacing: bool
    ) -> None:
        if not id_dir.exists():
            fresh = staging / "id"
            fresh.mkdir()
            (fresh / ID_FILE).write_text(f"{spell_id}\n", encoding="utf-8")
            os.rename(staged, fresh / target.name)
            try:
                os.rename(fresh, id_dir)
                return
            except OSError:  # another install created the id folder meanwhile: join it
                os.rename(fresh / target.name, staged)
                self._check_id_file(id_dir, spell_id)
        if replacing:
            os.rename(target, staging / "previous")
        try:
            os.rename(staged, target)
        except OSError as exc:  # another install put this version in place meanwhile
            raise AlreadyExists(
                f"already installed: {spell_id}@{target.name} (installed concurrently)",
                details={"id": spell_id, "version": target.name},
            ) from exc

    def _load(self, spell_id: str, version: str) -> InstalledSpell:
        path = self.id_dir(spell_id) / version
        manifest = load_manifest(path, cache=self.manifest_cache)
        if manifest.id != spell_id or manifest.version != version:
            raise StoreInconsistent(
                f"installed manifest at {path} says {manifest.id}@{manifest.version}, "
                f"expected {spell_id}@{version}",
                details={"path": str(path), "id": manifest.id, "version": manifest.version},
            )
        return InstalledSpell(spell_id, version, path, manifest, read_source_record(path / SOURCE_FILE))

    def _check_id_file(self, id_dir: Path, spell_id: str) -> None:
        existing = self._read_id_file(id_dir)
        if existing != spell_id:
            raise StoreInconsistent(
                f"spell.id.txt mismatch for {id_dir.name}: expected '{existing}', got '{spell_id}'",
                details={"path": str(id_dir / ID_FILE), "expected": existing, "got": spell_id},
            )

    @staticmethod
    def _read_id_file(id_dir: Path) -> str:
        try:
            return (id_dir / ID_FILE).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise StoreInconsistent(
                f"{id_dir / ID_FILE} is missing or unreadable", details={"path": str(id_dir)}
            ) from exc


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _same_digest(left: str | None, right: str | None) -> bool:
    return left is not None and right is not None and left.lower() == right.lower()


def _copy_bundle(src: Path, dest: Path) -> None:
    """Copy regular files and folders; refuse links and special files; skip top-level dot entries.

    Top-level dot entries (``.git``, ``.spell-keys``) are never part of a bundle and may hold secrets.
    """
    dest.mkdir()
    for entry in sorted(os.scandir(src), key=lambda e: e.name):
        if entry.name.startswith(".") or entry.name in (SOURCE_FILE, ID_FILE):
            continue
        _copy_entry(Path(entry.path), dest / entry.name)


def _copy_entry(src: Path, dest: Path) -> None:
    info = src.lstat()
    if stat.S_ISLNK(info.st_mode):
        raise InvalidBundle(f"symlink is not allowed in a bundle: {src}", details={"path": str(src)})
    if stat.S_ISDIR(info.st_mode):
        dest.mkdir()
        for entry in sorted(os.scandir(src), key=lambda e: e.name):
            _copy_entry(Path(entry.path), dest / entry.name)
        return
    if not stat.S_ISREG(info.st_mode):
        raise InvalidBundle(f"unsupported file type in a bundle: {src}", details={"path": str(src)})
    shutil.copyfile(src, dest)
    os.chmod(dest, 0o755 if info.st_mode & 0o111 else 0o644)
