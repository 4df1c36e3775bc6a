"""Remembered Ed25519 checks: only a pass is kept, and everything around the check still runs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import spell.signing.verifier as verifier
from spell.bundle.cache import PrivateCache
from spell.bundle.loaders import load_manifest
from spell.signing.keys import public_key_to_b64url
from spell.signing.signature import read_signature, sign_bundle
from spell.signing.trust import TrustStore
from spell.signing.verifier import SignatureReport, check_bundle_signature
from tests.bundle.factories import make_host_bundle


def _signed(tmp_path: Path) -> tuple[Path, TrustStore, Ed25519PrivateKey]:
    bundle = make_host_bundle(tmp_path / "b")
    key = Ed25519PrivateKey.generate()
    sign_bundle(bundle, key, key_id="k1")
    trust = TrustStore(tmp_path / "trust")
    trust.add_key("acme", public_key_to_b64url(key.public_key()), key_id="k1")
    return bundle, trust, key


def _check(bundle: Path, trust: TrustStore, cache: PrivateCache) -> SignatureReport:
    return check_bundle_signature(bundle, load_manifest(bundle), trust, verified=cache)


def _no_cryptography(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(text: str) -> object:
        raise AssertionError("the Ed25519 check ran")

    monkeypatch.setattr(verifier, "public_key_from_b64url", refuse)


def test_a_remembered_pass_gives_the_same_report_without_the_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle, trust, _ = _signed(tmp_path)
    cache = PrivateCache(tmp_path / "signatures")
    uncached = check_bundle_signature(bundle, load_manifest(bundle), trust)
    first = _check(bundle, trust, cache)
    assert first.status == "verified"
    assert len(list(cache.root.iterdir())) == 1
    _no_cryptography(monkeypatch)
    assert _check(bundle, trust, cache) == first == uncached


def test_a_changed_file_is_still_a_digest_mismatch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bundle, trust, _ = _signed(tmp_path)
    cache = PrivateCache(tmp_path / "signatures")
    _check(bundle, trust, cache)
    _no_cryptography(monkeypatch)
    (bundle / "steps" / "hello.sh").write_text("#!/bin/sh\necho tampered\n", encoding="utf-8")
    report = _check(bundle, trust, cache)
    assert (report.status, report.message) == ("invalid", "digest mismatch")


def test_a_revoked_key_is_refused_though_its_check_was_remembered(tmp_path: Path) -> None:
    bundle, trust, _ = _signed(tmp_path)
    cache = PrivateCache(tmp_path / "signatures")
    _check(bundle, trust, cache)
    trust.revoke_key("acme", "k1")
    assert _check(bundle, trust, cache).status == "invalid"


def test_another_trusted_key_under_the_same_id_is_checked_again(tmp_path: Path) -> None:
    bundle, trust, _ = _signed(tmp_path)
    cache = PrivateCache(tmp_path / "signatures")
    _check(bundle, trust, cache)
    other = TrustStore(tmp_path / "trust2")
    other.add_key("acme", public_key_to_b64url(Ed25519PrivateKey.generate().public_key()), key_id="k1")
    report = _check(bundle, other, cache)
    assert (report.status, report.message) == ("invalid", "signature verification failed")


def test_a_failed_check_is_never_remembered(tmp_path: Path) -> None:
    bundle, _, _ = _signed(tmp_path)
    wrong = TrustStore(tmp_path / "wrong")
    wrong.add_key("acme", public_key_to_b64url(Ed25519PrivateKey.generate().public_key()), key_id="k1")
    cache = PrivateCache(tmp_path / "signatures")
    assert _check(bundle, wrong, cache).status == "invalid"
    assert _check(bundle, wrong, cache).status == "invalid"
    assert not cache.root.exists() or list(cache.root.iterdir()) == []


def test_an_entry_planted_in_a_folder_others_may_write_is_ignored(tmp_path: Path) -> None:
    bundle, _, _ = _signed(tmp_path)
    wrong = TrustStore(tmp_path / "wrong")
    wrong.add_key("acme", public_key_to_b64url(Ed25519PrivateKey.generate().public_key()), key_id="k1")
    cache = PrivateCache(tmp_path / "signatures")
    _check(bundle, wrong, cache)
    sig = read_signature(bundle)
    assert sig is not None
    key_text = wrong.load("acme").find("k1").public_key  # type: ignore[union-attr]
    material = "\0".join((key_text, sig.signature, bytes.fromhex(sig.digest_hex).hex())).encode()
    name = hashlib.sha256(verifier._ED25519_CACHE_DOMAIN + material).hexdigest()
    cache.root.mkdir(mode=0o700, exist_ok=True)
    (cache.root / name).write_bytes(b"verified")
    (cache.root / name).chmod(0o600)
    assert _check(bundle, wrong, cache).status == "verified"  # what a writable store allows anyway
    cache.root.chmod(0o777)
    assert _check(bundle, wrong, cache).status == "invalid"
