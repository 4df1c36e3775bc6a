"""Bundles shared through the blob store: a node that lacks a published bundle fetches and verifies it."""

from __future__ import annotations

from pathlib import Path

import pytest

from spell.bundle.archive import pack_bundle
from spell.bundle.digest import bundle_digest
from spell.bundle.loaders import load_manifest
from spell.config.server import ServerSettings
from spell.errors import BlobNotFound, BlobStoreUnavailable, InvalidInput
from spell.platform.spell.bundles import BundleCache
from spell.storage.blobs import blob_store
from spell.storage.blobs.local import LocalBlobStore
from spell.storage.blobs.s3 import S3BlobStore
from tests.fixtures.bundles import wasm_bundle
from tests.fixtures.s3 import S3Bucket


def _published(tmp_path: Path) -> tuple[Path, str]:
    bundle = wasm_bundle(tmp_path / "src" / "bundle", "acme/hello")
    return bundle, bundle_digest(bundle, load_manifest(bundle)).hex


def test_a_node_without_the_bundle_fetches_it_from_the_shared_store(tmp_path: Path) -> None:
    bundle, digest = _published(tmp_path)
    shared = LocalBlobStore(tmp_path / "shared")
    BundleCache(tmp_path / "a", shared).keep(bundle, digest)
    other = BundleCache(tmp_path / "b", shared)
    assert not other.path(digest).exists()
    fetched = other.fetch(digest, load_manifest(bundle))
    assert fetched == tmp_path / "b" / digest
    assert pack_bundle(fetched) == pack_bundle(tmp_path / "a" / digest)
    assert not [p for p in (tmp_path / "b").iterdir() if p.name.startswith(".fetch-")]


def test_a_bundle_that_does_not_hash_to_its_digest_is_refused(tmp_path: Path) -> None:
    bundle, digest = _published(tmp_path)
    shared = LocalBlobStore(tmp_path / "shared")
    other_bundle = wasm_bundle(tmp_path / "evil", "acme/hello", version="6.6.6")
    shared.put_bundle(digest, pack_bundle(other_bundle))
    cache = BundleCache(tmp_path / "b", shared)
    with pytest.raises(BlobStoreUnavailable, match="unpacks to"):
        cache.fetch(digest, load_manifest(bundle))
    assert not cache.path(digest).exists()
    assert [p.name for p in (tmp_path / "b").iterdir()] == []


def test_a_bundle_nobody_shared_is_blob_not_found(tmp_path: Path) -> None:
    bundle, digest = _published(tmp_path)
    with pytest.raises(BlobNotFound):
        BundleCache(tmp_path / "b", LocalBlobStore(tmp_path / "shared")).fetch(digest, load_manifest(bundle))


def test_without_a_blob_store_the_local_folder_is_all_there_is(tmp_path: Path) -> None:
    bundle, digest = _published(tmp_path)
    assert BundleCache(tmp_path / "b").fetch(digest, load_manifest(bundle)) == tmp_path / "b" / digest


def test_a_file_url_names_a_shared_local_store(tmp_path: Path) -> None:
    settings = ServerSettings.for_home(tmp_path / "home", blob_url=f"file://{tmp_path}/shared")
    store = blob_store(settings)
    assert isinstance(store, LocalBlobStore)
    assert store.root == tmp_path / "shared"


def test_a_relative_file_url_is_refused() -> None:
    with pytest.raises((InvalidInput, ValueError), match="absolute"):
        ServerSettings.from_env({"SPELL_BLOB_URL": "file://relative/dir"})


def test_bundles_shared_through_a_bucket_keep_apart_from_the_artifacts(
    tmp_path: Path, s3_bucket: S3Bucket
) -> None:
    bundle, digest = _published(tmp_path)
    store = S3BlobStore(s3_bucket.client, s3_bucket.name, "pfx")
    BundleCache(tmp_path / "a", store).keep(bundle, digest)
    listed = s3_bucket.client.list_objects_v2(Bucket=s3_bucket.name)["Contents"]
    assert [item["Key"] for item in listed] == [f"pfx/bundles/{digest[:2]}/{digest}"]
    fetched = BundleCache(tmp_path / "b", store).fetch(digest, load_manifest(bundle))
    assert pack_bundle(fetched) == pack_bundle(bundle)
