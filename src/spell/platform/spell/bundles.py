"""Published bundles shared between nodes: each node unpacks into its own folder, on first use, the
canonical archive the publishing node left in the blob store."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from spell.bundle.archive import pack_bundle, unpack_archive
from spell.bundle.digest import bundle_digest
from spell.bundle.manifest import SpellManifest
from spell.errors import BlobStoreUnavailable
from spell.storage.blobs import BlobStore

__all__ = ["BundleCache"]


class BundleCache:
    """``<bundles_dir>/<digest hex>/`` on this node, backed by ``blobs`` (keyed by the bundle digest)."""

    def __init__(self, bundles_dir: Path, blobs: BlobStore | None = None) -> None:
        self.bundles_dir = bundles_dir
        self.blobs = blobs

    def path(self, digest_hex: str) -> Path:
        """Where the bundle lives on this node (whether or not it is there yet)."""
        return self.bundles_dir / digest_hex

    def keep(self, bundle: Path, digest_hex: str) -> None:
        """Copy a verified bundle in, and share its archive so other nodes can fetch it."""
        target = self.path(digest_hex)
        if not target.exists():
            self.bundles_dir.mkdir(parents=True, exist_ok=True)
            tmp = bundle.with_name("store")
            shutil.copytree(bundle, tmp)
            try:
                tmp.rename(target)
            except OSError:
                if not target.is_dir():  # a concurrent publish of the same digest put it there: fine
                    raise
        if self.blobs is not None:
            self.blobs.put_bundle(digest_hex, pack_bundle(target))

    def fetch(self, digest_hex: str, manifest: SpellManifest) -> Path:
        """The bundle's folder, unpacked from the blob store first when this node lacks it.

        The unpacked files must hash to ``digest_hex``: the store is trusted to serve, not to be right.
        """
        target = self.path(digest_hex)
        if target.is_dir() or self.blobs is None:
            return target
        archive = self.blobs.read_bundle(digest_hex)
        self.bundles_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".fetch-", dir=self.bundles_dir))
        try:
            unpack_archive(archive, staging / "b")
            found = bundle_digest(staging / "b", manifest).hex
            if found != digest_hex:
                raise BlobStoreUnavailable(
                    f"the blob store's bundle sha256:{digest_hex} unpacks to sha256:{found}",
                    details={"sha256": digest_hex, "found": found},
                )
            try:
                (staging / "b").rename(target)
            except OSError:
                if not target.is_dir():  # another cast on this node fetched it first: fine
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return target
