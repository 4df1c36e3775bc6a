from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from spell.errors import InvalidInput, VerificationError
from spell.signing.signature import SignatureFile, read_signature, sign_bundle
from tests.bundle.factories import COMPAT, compat_expected, copy_compat_bundle, make_host_bundle


def test_compat_signature_file_round_trips_byte_for_byte() -> None:
    text = (COMPAT / "greet" / "spell.sig.json").read_text(encoding="utf-8")
    sig = SignatureFile.from_json(text)
    assert (sig.publisher, sig.key_id) == ("compat", "k1")
    assert sig.to_json() == text


def test_unsigned_bundle_has_no_signature(tmp_path: Path) -> None:
    assert read_signature(make_host_bundle(tmp_path / "b")) is None


def test_sign_bundle_writes_the_v1_file(tmp_path: Path) -> None:
    bundle = make_host_bundle(tmp_path / "b")
    sig = sign_bundle(bundle, Ed25519PrivateKey.generate(), key_id="k9")
    data = json.loads((bundle / "spell.sig.json").read_text())
    assert list(data) == ["version", "publisher", "key_id", "algorithm", "digest", "signature"]
    assert data["publisher"] == "acme"
    assert data["key_id"] == "k9"
    assert data["digest"] == {"algorithm": "sha256", "value": sig.digest_hex}
    assert read_signature(bundle) == sig


def test_sign_bundle_refuses_another_publisher(tmp_path: Path) -> None:
    bundle = make_host_bundle(tmp_path / "b")
    with pytest.raises(InvalidInput) as caught:
        sign_bundle(bundle, Ed25519PrivateKey.generate(), publisher="other")
    assert caught.value.details == {"expected": "acme", "got": "other"}
    assert not (bundle / "spell.sig.json").exists()


def _valid() -> dict[str, object]:
    data: dict[str, object] = json.loads((COMPAT / "greet" / "spell.sig.json").read_text())
    return data


def _with(**changes: object) -> str:
    data = _valid()
    data.update(changes)
    return json.dumps(data)


@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        "[]",
        _with(version="v2"),
        _with(publisher=""),
        _with(key_id=7),
        _with(algorithm="rsa"),
        _with(digest="abc"),
        _with(digest={"algorithm": "md5", "value": "0" * 64}),
        _with(digest={"algorithm": "sha256", "value": "xyz"}),
        _with(signature="not/base64url="),
    ],
)
def test_malformed_signature_files_raise_verification_error(text: str) -> None:
    with pytest.raises(VerificationError) as caught:
        SignatureFile.from_json(text)
    assert caught.value.code == "SIGNATURE_INVALID"


def test_uppercase_digest_is_normalised() -> None:
    sig = SignatureFile.from_json(_with(digest={"algorithm": "sha256", "value": "AB" * 32}))
    assert sig.digest_hex == "ab" * 32


def test_unreadable_signature_file_raises(tmp_path: Path) -> None:
    bundle = make_host_bundle(tmp_path / "b")
    (bundle / "spell.sig.json").write_bytes(b"\xff\xfe")
    with pytest.raises(VerificationError):
        read_signature(bundle)


def test_resigning_the_compat_bundle_keeps_spell_runtimes_digest(tmp_path: Path) -> None:
    bundle = copy_compat_bundle(tmp_path / "greet")
    original = json.loads((bundle / "spell.sig.json").read_text())
    sig = sign_bundle(bundle, Ed25519PrivateKey.generate(), key_id="k1")
    assert sig.digest_hex == compat_expected()["digest_sha256_hex"]
    rewritten = json.loads((bundle / "spell.sig.json").read_text())
    assert {k: v for k, v in rewritten.items() if k != "signature"} == {
        k: v for k, v in original.items() if k != "signature"
    }
