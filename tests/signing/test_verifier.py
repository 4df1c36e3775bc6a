from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from spell.bundle.loaders import load_manifest
from spell.errors import SignatureMissing, SignatureUntrusted, VerificationError
from spell.signing.keys import public_key_to_b64url
from spell.signing.signature import sign_bundle
from spell.signing.trust import TrustStore
from spell.signing.verifier import SignatureReport, check_bundle_signature, verify_bundle
from tests.bundle.factories import COMPAT, compat_expected, copy_compat_bundle, make_host_bundle

EXPECTED = compat_expected()


def _trusting_compat(tmp_path: Path) -> TrustStore:
    store = TrustStore(tmp_path / "trust")
    store.add_key("compat", EXPECTED["public_key_base64url"], key_id="k1")
    return store


def _check(bundle: Path, store: TrustStore) -> SignatureReport:
    return check_bundle_signature(bundle, load_manifest(bundle), store)


def test_compat_bundle_signed_by_spell_runtime_verifies(tmp_path: Path) -> None:
    bundle = COMPAT / "greet"
    report = _check(bundle, _trusting_compat(tmp_path))
    assert report.to_dict() == {
        "ok": True,
        "status": "verified",
        "publisher": "compat",
        "key_id": "k1",
        "digest": EXPECTED["digest_sha256_hex"],
        "message": "verified",
    }
    verify_bundle(bundle, load_manifest(bundle), _trusting_compat(tmp_path))


@pytest.mark.parametrize("rel", EXPECTED["digest_order"])
def test_any_changed_covered_byte_is_invalid_digest_mismatch(tmp_path: Path, rel: str) -> None:
    bundle = copy_compat_bundle(tmp_path / "greet")
    manifest = load_manifest(bundle)
    path = bundle / rel
    data = bytearray(path.read_bytes())
    data[0] ^= 0x20
    path.write_bytes(bytes(data))
    report = check_bundle_signature(bundle, manifest, _trusting_compat(tmp_path))
    assert (report.status, report.message) == ("invalid", "digest mismatch")
    with pytest.raises(VerificationError) as caught:
        verify_bundle(bundle, manifest, _trusting_compat(tmp_path))
    assert caught.value.code == "SIGNATURE_INVALID"


def test_signature_file_with_a_wrong_digest_is_invalid(tmp_path: Path) -> None:
    bundle = copy_compat_bundle(tmp_path / "greet")
    sig = json.loads((bundle / "spell.sig.json").read_text())
    sig["digest"]["value"] = "0" * 64
    (bundle / "spell.sig.json").write_text(json.dumps(sig))
    report = _check(bundle, _trusting_compat(tmp_path))
    assert (report.status, report.message, report.digest) == (
        "invalid",
        "digest mismatch",
        EXPECTED["digest_sha256_hex"],
    )


def test_bundle_signed_here_verifies_by_the_same_rules(tmp_path: Path) -> None:
    bundle = make_host_bundle(tmp_path / "b")
    key = Ed25519PrivateKey.generate()
    sign_bundle(bundle, key, key_id="main")
    store = TrustStore(tmp_path / "trust")
    store.add_key("acme", public_key_to_b64url(key.public_key()), key_id="main")
    assert _check(bundle, store).status == "verified"


def test_unsigned_bundle_is_reported_and_raises_signature_missing(tmp_path: Path) -> None:
    bundle = make_host_bundle(tmp_path / "b")
    store = TrustStore(tmp_path / "trust")
    assert _check(bundle, store).message == "spell.sig.json not found"
    with pytest.raises(SignatureMissing) as caught:
        verify_bundle(bundle, load_manifest(bundle), store)
    assert caught.value.code == "SIGNATURE_MISSING"


def test_untrusted_publisher_then_unknown_key_raise_signature_untrusted(tmp_path: Path) -> None:
    bundle = COMPAT / "greet"
    store = TrustStore(tmp_path / "trust")
    assert _check(bundle, store).message == "no trusted key for publisher: compat"
    store.add_key("compat", EXPECTED["public_key_base64url"], key_id="other")
    report = _check(bundle, store)
    assert (report.status, report.message) == ("untrusted", "trusted key_id not found: k1")
    with pytest.raises(SignatureUntrusted) as caught:
        verify_bundle(bundle, load_manifest(bundle), store)
    assert caught.value.code == "SIGNATURE_UNTRUSTED"


def test_revoked_key_is_invalid_with_its_reason_even_before_the_digest(tmp_path: Path) -> None:
    bundle = copy_compat_bundle(tmp_path / "greet")
    (bundle / "steps" / "a.txt").write_text("changed")
    store = _trusting_compat(tmp_path)
    store.revoke_key("compat", "k1", reason="leaked")
    report = _check(bundle, store)
    assert (report.status, report.message) == ("invalid", "trusted key_id is revoked: k1 (leaked)")
    store.revoke_key("compat", "k1")
    assert _check(bundle, store).message == "trusted key_id is revoked: k1"


def test_publisher_mismatch_is_invalid_before_trust_is_consulted(tmp_path: Path) -> None:
    bundle = copy_compat_bundle(tmp_path / "greet")
    sig = json.loads((bundle / "spell.sig.json").read_text())
    sig["publisher"] = "evil"
    (bundle / "spell.sig.json").write_text(json.dumps(sig))
    report = _check(bundle, TrustStore(tmp_path / "empty"))
    assert (report.status, report.message) == (
        "invalid",
        "signature publisher mismatch: expected 'compat', got 'evil'",
    )


def test_wrong_key_is_signature_verification_failed(tmp_path: Path) -> None:
    bundle = COMPAT / "greet"
    store = TrustStore(tmp_path / "trust")
    other = public_key_to_b64url(Ed25519PrivateKey.generate().public_key())
    store.add_key("compat", other, key_id="k1")
    report = _check(bundle, store)
    assert (report.status, report.message) == ("invalid", "signature verification failed")


def test_unusable_trusted_key_is_untrusted(tmp_path: Path) -> None:
    store = TrustStore(tmp_path / "trust")
    store.root.mkdir(parents=True)
    entry = {"key_id": "k1", "algorithm": "ed25519", "public_key": "AAAA", "revoked": False}
    store.path_for("compat").write_text(json.dumps({"version": "v1", "publisher": "compat", "keys": [entry]}))
    report = _check(COMPAT / "greet", store)
    assert report.status == "untrusted"
    assert report.message.startswith("invalid trusted public key: ")


def test_malformed_signature_file_is_reported_invalid(tmp_path: Path) -> None:
    bundle = copy_compat_bundle(tmp_path / "greet")
    (bundle / "spell.sig.json").write_text("{}")
    report = _check(bundle, _trusting_compat(tmp_path))
    assert (report.status, report.message) == ("invalid", "spell.sig.json missing 'version' string")
