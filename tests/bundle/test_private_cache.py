"""The private cache a local cast keeps manifest parses, Ed25519 checks and input verdicts in.

An entry is used only when its folder and file belong to this user and no one else may write them;
any doubt is a miss, and a miss is computed as if there were no cache.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from spell.bundle.cache import PrivateCache
from spell.bundle.loaders import load_manifest
from spell.errors import InvalidManifest
from tests.bundle.factories import make_host_bundle

KEY = hashlib.sha256(b"entry").hexdigest()


def test_an_entry_put_is_read_back_and_private(tmp_path: Path) -> None:
    cache = PrivateCache(tmp_path / "cache" / "x")
    cache.put(KEY, b"value")
    assert cache.get(KEY) == b"value"
    assert (tmp_path / "cache" / "x").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "cache" / "x" / KEY).stat().st_mode & 0o777 == 0o600
    assert [p.name for p in (tmp_path / "cache" / "x").iterdir()] == [KEY]  # no temporary left


def test_a_missing_entry_or_folder_is_a_miss(tmp_path: Path) -> None:
    assert PrivateCache(tmp_path / "none").get(KEY) is None


@pytest.mark.parametrize("key", ["", "../escape", "A" * 64, KEY[:-1], KEY + "0"])
def test_only_sha256_hex_names_are_read_or_written(tmp_path: Path, key: str) -> None:
    cache = PrivateCache(tmp_path / "c")
    cache.put(key, b"value")
    assert cache.get(key) is None
    assert not (tmp_path / "c").exists() or list((tmp_path / "c").iterdir()) == []


@pytest.mark.parametrize("mode", [0o770, 0o707])
def test_a_folder_others_may_write_is_not_trusted(tmp_path: Path, mode: int) -> None:
    cache = PrivateCache(tmp_path / "c")
    cache.put(KEY, b"value")
    (tmp_path / "c").chmod(mode)
    assert cache.get(KEY) is None
    cache.put(KEY, b"other")  # nor written to
    (tmp_path / "c").chmod(0o700)
    assert cache.get(KEY) == b"value"


def test_an_entry_others_may_write_is_not_trusted(tmp_path: Path) -> None:
    cache = PrivateCache(tmp_path / "c")
    cache.put(KEY, b"value")
    (tmp_path / "c" / KEY).chmod(0o666)
    assert cache.get(KEY) is None


def test_a_linked_entry_or_folder_is_not_followed(tmp_path: Path) -> None:
    real = PrivateCache(tmp_path / "real")
    real.put(KEY, b"value")
    (tmp_path / "linked").symlink_to(tmp_path / "real")
    assert PrivateCache(tmp_path / "linked").get(KEY) is None
    other = PrivateCache(tmp_path / "other")
    other.put(hashlib.sha256(b"x").hexdigest(), b"x")
    (tmp_path / "other" / KEY).symlink_to(tmp_path / "real" / KEY)
    assert other.get(KEY) is None


@pytest.mark.skipif(os.getuid() != 0, reason="handing a folder to another user needs root")
def test_a_folder_of_another_user_is_not_trusted(tmp_path: Path) -> None:
    cache = PrivateCache(tmp_path / "c")
    cache.put(KEY, b"value")
    os.chown(tmp_path / "c", 12345, -1)
    assert cache.get(KEY) is None


def test_a_folder_that_cannot_be_made_is_no_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    cache = PrivateCache(tmp_path / "file" / "c")
    cache.put(KEY, b"value")
    assert cache.get(KEY) is None


def _entries(cache: PrivateCache) -> list[Path]:
    return sorted(cache.root.iterdir()) if cache.root.is_dir() else []


def test_a_manifest_loaded_through_the_cache_equals_a_fresh_parse(tmp_path: Path) -> None:
    bundle = make_host_bundle(tmp_path / "b")
    cache = PrivateCache(tmp_path / "manifests")
    first = load_manifest(bundle, cache=cache)
    assert len(_entries(cache)) == 1
    again = load_manifest(bundle, cache=cache)  # from the entry
    assert first == again == load_manifest(bundle)


def test_the_entry_is_keyed_by_the_exact_bytes_of_spell_yaml(tmp_path: Path) -> None:
    bundle = make_host_bundle(tmp_path / "b")
    cache = PrivateCache(tmp_path / "manifests")
    load_manifest(bundle, cache=cache)
    text = (bundle / "spell.yaml").read_text(encoding="utf-8").replace("name: Hello", "name: Other")
    (bundle / "spell.yaml").write_text(text, encoding="utf-8")
    assert load_manifest(bundle, cache=cache).name == "Other"
    assert len(_entries(cache)) == 2


def test_a_damaged_entry_is_parsed_again_and_replaced(tmp_path: Path) -> None:
    bundle = make_host_bundle(tmp_path / "b")
    cache = PrivateCache(tmp_path / "manifests")
    expected = load_manifest(bundle, cache=cache)
    [entry] = _entries(cache)
    entry.write_bytes(b"{not json")
    assert load_manifest(bundle, cache=cache) == expected
    assert json.loads(entry.read_bytes())["raw"]["id"] == "acme/hello"


def test_a_cached_parse_is_still_validated(tmp_path: Path) -> None:
    bundle = make_host_bundle(tmp_path / "b")
    cache = PrivateCache(tmp_path / "manifests")
    load_manifest(bundle, cache=cache)
    [entry] = _entries(cache)
    raw = json.loads(entry.read_bytes())["raw"]
    raw["version"] = "not a version"
    entry.write_text(json.dumps({"raw": raw}), encoding="utf-8")
    with pytest.raises(InvalidManifest):
        load_manifest(bundle, cache=cache)


def test_a_document_with_values_json_cannot_hold_is_not_cached(tmp_path: Path) -> None:
    bundle = make_host_bundle(tmp_path / "b")
    with (bundle / "spell.yaml").open("a", encoding="utf-8") as out:
        out.write("metadata:\n  released: 2026-01-02\n")
    cache = PrivateCache(tmp_path / "manifests")
    try:
        fresh = load_manifest(bundle)
    except InvalidManifest:
        pytest.skip("the model refuses a date here")
    assert load_manifest(bundle, cache=cache) == fresh
    assert _entries(cache) == []


def test_invalid_yaml_is_refused_with_a_cache_as_without(tmp_path: Path) -> None:
    bundle = make_host_bundle(tmp_path / "b")
    (bundle / "spell.yaml").write_text("id: [unclosed\n", encoding="utf-8")
    cache = PrivateCache(tmp_path / "manifests")
    with pytest.raises(InvalidManifest, match="not valid YAML"):
        load_manifest(bundle, cache=cache)
    assert _entries(cache) == []
