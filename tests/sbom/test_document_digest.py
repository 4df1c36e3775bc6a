"""The root SBOM is inside the bundle digest; bundles without one hash exactly as spell-runtime does."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from spell.bundle.archive import pack_bundle
from spell.bundle.digest import bundle_digest, covered_files
from spell.bundle.loaders import load_manifest
from spell.errors import InvalidBundle, InvalidSbom, VerificationError
from spell.signing.keys import public_key_to_b64url
from spell.signing.signature import sign_bundle
from spell.signing.trust import TrustStore
from spell.signing.verifier import check_bundle_signature, verify_bundle
from tests.bundle.factories import compat_expected, copy_compat_bundle
from tests.sbom.sbom_samples import cyclonedx_document, dumps, spdx_document

EXPECTED = compat_expected()


def _compat_with_sbom(tmp_path: Path, name: str = "sbom.spdx.json") -> Path:
    bundle = copy_compat_bundle(tmp_path / "greet")
    document = spdx_document() if name == "sbom.spdx.json" else cyclonedx_document()
    (bundle / name).write_bytes(dumps(document))
    return bundle


def _trust(tmp_path: Path, key: Ed25519PrivateKey) -> TrustStore:
    store = TrustStore(tmp_path / "trust")
    store.add_key("compat", public_key_to_b64url(key.public_key()), key_id="k1")
    return store


def test_a_bundle_without_an_sbom_keeps_the_spell_runtime_digest(tmp_path: Path) -> None:
    bundle = copy_compat_bundle(tmp_path / "greet")
    (bundle / "sbom.json").write_text("{}", encoding="utf-8")  # not an SBOM file name: not covered
    digest = bundle_digest(bundle, load_manifest(bundle))
    assert digest.hex == EXPECTED["digest_sha256_hex"]
    assert list(digest.files) == EXPECTED["digest_order"]


@pytest.mark.parametrize("name", ["sbom.spdx.json", "sbom.cdx.json"])
def test_the_root_sbom_is_covered_in_collation_order(tmp_path: Path, name: str) -> None:
    bundle = _compat_with_sbom(tmp_path, name)
    files = covered_files(bundle, load_manifest(bundle))
    assert files == [name, *EXPECTED["digest_order"]]  # "sb…" sorts before "sc…"
    assert bundle_digest(bundle, load_manifest(bundle)).hex != EXPECTED["digest_sha256_hex"]


def test_an_sbom_below_the_root_is_not_the_bundles_sbom(tmp_path: Path) -> None:
    bundle = copy_compat_bundle(tmp_path / "greet")
    (bundle / "docs").mkdir()
    (bundle / "docs" / "sbom.spdx.json").write_bytes(dumps(spdx_document()))
    assert bundle_digest(bundle, load_manifest(bundle)).hex == EXPECTED["digest_sha256_hex"]


def test_changing_a_byte_of_the_sbom_changes_the_digest_and_breaks_the_signature(tmp_path: Path) -> None:
    bundle = _compat_with_sbom(tmp_path)
    manifest = load_manifest(bundle)
    key = Ed25519PrivateKey.generate()
    sign_bundle(bundle, key, key_id="k1")
    verify_bundle(bundle, manifest, _trust(tmp_path, key))
    before = bundle_digest(bundle, manifest).hex
    path = bundle / "sbom.spdx.json"
    data = bytearray(path.read_bytes())
    data[-2] ^= 0x01
    path.write_bytes(bytes(data))
    assert bundle_digest(bundle, manifest).hex != before
    report = check_bundle_signature(bundle, manifest, _trust(tmp_path, key))
    assert (report.status, report.message) == ("invalid", "digest mismatch")
    with pytest.raises(VerificationError):
        verify_bundle(bundle, manifest, _trust(tmp_path, key))


def test_removing_the_sbom_after_signing_breaks_the_signature(tmp_path: Path) -> None:
    bundle = _compat_with_sbom(tmp_path)
    key = Ed25519PrivateKey.generate()
    sign_bundle(bundle, key, key_id="k1")
    (bundle / "sbom.spdx.json").unlink()
    report = check_bundle_signature(bundle, load_manifest(bundle), _trust(tmp_path, key))
    assert report.status == "invalid"


def test_two_sboms_are_refused_by_the_digest(tmp_path: Path) -> None:
    bundle = _compat_with_sbom(tmp_path)
    (bundle / "sbom.cdx.json").write_bytes(dumps(cyclonedx_document()))
    with pytest.raises(InvalidSbom) as caught:
        covered_files(bundle, load_manifest(bundle))
    assert caught.value.details["conflicts_with"] == "sbom.cdx.json"


def test_an_sbom_symlink_or_folder_is_refused_not_followed(tmp_path: Path) -> None:
    bundle = copy_compat_bundle(tmp_path / "greet")
    outside = tmp_path / "elsewhere.json"
    outside.write_bytes(dumps(spdx_document()))
    os.symlink(outside, bundle / "sbom.spdx.json")
    with pytest.raises(InvalidBundle) as caught:
        covered_files(bundle, load_manifest(bundle))
    assert caught.value.details == {"path": "sbom.spdx.json"}
    (bundle / "sbom.spdx.json").unlink()
    (bundle / "sbom.spdx.json").mkdir()
    with pytest.raises(InvalidBundle):
        covered_files(bundle, load_manifest(bundle))


def test_the_canonical_archive_carries_the_sbom(tmp_path: Path) -> None:
    bundle = _compat_with_sbom(tmp_path)
    with tarfile.open(fileobj=io.BytesIO(pack_bundle(bundle))) as tar:
        member = tar.extractfile("sbom.spdx.json")
        assert member is not None
        assert member.read() == (bundle / "sbom.spdx.json").read_bytes()
