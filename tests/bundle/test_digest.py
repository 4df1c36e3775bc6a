from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from spell.bundle.digest import bundle_digest, covered_files
from spell.bundle.loaders import load_manifest
from spell.errors import InvalidBundle
from tests.bundle.factories import (
    COMPAT,
    compat_expected,
    copy_compat_bundle,
    make_host_bundle,
    make_wasm_bundle,
)


def test_compat_bundle_digest_and_order_match_spell_runtime() -> None:
    bundle = COMPAT / "greet"
    expected = compat_expected()
    digest = bundle_digest(bundle, load_manifest(bundle))
    assert digest.hex == expected["digest_sha256_hex"]
    assert digest.text == "sha256:" + expected["digest_sha256_hex"]
    assert list(digest.files) == expected["digest_order"]


def test_digest_is_the_documented_byte_stream(tmp_path: Path) -> None:
    bundle = make_host_bundle(tmp_path / "b")
    stream = b"spell-bundle-v1\0"
    for rel in ("schema.json", "spell.yaml", "steps/hello.sh"):
        stream += b"file\0" + rel.encode() + b"\0" + (bundle / rel).read_bytes() + b"\0"
    assert bundle_digest(bundle, load_manifest(bundle)).value == hashlib.sha256(stream).digest()


def test_signature_file_and_unlisted_files_are_not_covered(tmp_path: Path) -> None:
    bundle = make_host_bundle(tmp_path / "b", files={"spell.sig.json": "{}", "README.md": "x"})
    assert covered_files(bundle, load_manifest(bundle)) == ["schema.json", "spell.yaml", "steps/hello.sh"]


def test_wasm_bundle_covers_module_and_resources(tmp_path: Path) -> None:
    bundle = make_wasm_bundle(tmp_path / "w")
    files = covered_files(bundle, load_manifest(bundle))
    assert files == ["manifest.toml", "module.wasm", "resources/data.txt", "schema.json"]


@pytest.mark.parametrize("rel", compat_expected()["digest_order"])
def test_changing_any_covered_byte_changes_the_digest(tmp_path: Path, rel: str) -> None:
    bundle = copy_compat_bundle(tmp_path / "greet")
    manifest = load_manifest(bundle)
    before = bundle_digest(bundle, manifest).hex
    path = bundle / rel
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))
    assert bundle_digest(bundle, manifest).hex != before


def test_symlink_under_steps_is_refused(tmp_path: Path) -> None:
    bundle = make_host_bundle(tmp_path / "b")
    (bundle / "steps" / "link").symlink_to(bundle / "schema.json")
    with pytest.raises(InvalidBundle) as caught:
        bundle_digest(bundle, load_manifest(bundle))
    assert caught.value.code == "INVALID_BUNDLE"


def test_symlinked_schema_is_refused(tmp_path: Path) -> None:
    bundle = make_host_bundle(tmp_path / "b")
    manifest = load_manifest(bundle)
    (tmp_path / "elsewhere.json").write_text("{}", encoding="utf-8")
    (bundle / "schema.json").unlink()
    (bundle / "schema.json").symlink_to(tmp_path / "elsewhere.json")
    with pytest.raises(InvalidBundle):
        bundle_digest(bundle, manifest)


def test_fifo_under_steps_is_refused(tmp_path: Path) -> None:
    bundle = make_host_bundle(tmp_path / "b")
    os.mkfifo(bundle / "steps" / "pipe")
    with pytest.raises(InvalidBundle) as caught:
        bundle_digest(bundle, load_manifest(bundle))
    assert caught.value.details["path"] == "steps/pipe"


def test_missing_schema_is_refused(tmp_path: Path) -> None:
    bundle = make_host_bundle(tmp_path / "b")
    manifest = load_manifest(bundle)
    (bundle / "schema.json").unlink()
    with pytest.raises(InvalidBundle) as caught:
        bundle_digest(bundle, manifest)
    assert caught.value.details["path"] == "schema.json"


def test_schema_that_is_a_folder_is_refused(tmp_path: Path) -> None:
    bundle = make_host_bundle(tmp_path / "b")
    manifest = load_manifest(bundle)
    (bundle / "schema.json").unlink()
    (bundle / "schema.json").mkdir()
    with pytest.raises(InvalidBundle):
        bundle_digest(bundle, manifest)


@pytest.mark.parametrize("replacement", ["file", "absent"])
def test_host_spell_needs_a_steps_folder(tmp_path: Path, replacement: str) -> None:
    bundle = make_host_bundle(tmp_path / "b")
    manifest = load_manifest(bundle)
    (bundle / "steps" / "hello.sh").unlink()
    (bundle / "steps").rmdir()
    if replacement == "file":
        (bundle / "steps").write_text("not a folder", encoding="utf-8")
    with pytest.raises(InvalidBundle) as caught:
        bundle_digest(bundle, manifest)
    assert caught.value.details["path"] == "steps"


def test_wasm_module_outside_the_bundle_is_refused(tmp_path: Path) -> None:
    bundle = make_wasm_bundle(tmp_path / "w")
    toml = (bundle / "manifest.toml").read_text(encoding="utf-8")
    (bundle / "manifest.toml").write_text(toml.replace("module.wasm", "../module.wasm"), encoding="utf-8")
    with pytest.raises(InvalidBundle):
        bundle_digest(bundle, load_manifest(bundle))
