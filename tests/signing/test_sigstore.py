"""Sigstore bundles verified offline against the real staging/production vectors in tests/assets/sigstore."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spell.bundle.digest import bundle_digest
from spell.bundle.loaders import load_manifest
from spell.errors import SigstoreInvalid, VerificationError
from spell.signing.sigstore import (
    SIGSTORE_FILE,
    SigstorePolicy,
    signed_artifact,
    verify_bundle_sigstore,
    verify_sigstore_bundle,
)
from tests.bundle.factories import make_host_bundle

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "sigstore"
STAGING = ASSETS / "staging-trusted-root.json"
PRODUCTION = ASSETS / "production-trusted-root.json"

EMAIL = SigstorePolicy(identity="a@tny.town", issuer="https://github.com/login/oauth")
WORKFLOW = SigstorePolicy(
    identity="https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2",
    issuer="https://token.actions.githubusercontent.com",
)

VECTORS = [
    ("bundle.txt", STAGING, EMAIL),
    ("bundle_v3.txt", STAGING, SigstorePolicy("william@yossarian.net", "https://github.com/login/oauth")),
    ("bundle_v3_github.whl", PRODUCTION, WORKFLOW),
]


def _read(name: str) -> tuple[bytes, bytes]:
    return (ASSETS / name).read_bytes(), (ASSETS / f"{name}.sigstore").read_bytes()


@pytest.mark.parametrize(("name", "root", "policy"), VECTORS)
def test_valid_bundle_verifies_offline(name: str, root: Path, policy: SigstorePolicy) -> None:
    artifact, bundle = _read(name)
    verify_sigstore_bundle(artifact, bundle, trusted_root_path=root, policy=policy)


def test_bundle_as_text_verifies() -> None:
    artifact, bundle = _read("bundle.txt")
    verify_sigstore_bundle(artifact, bundle.decode(), trusted_root_path=STAGING, policy=EMAIL)


@pytest.mark.parametrize(("name", "root", "policy"), VECTORS)
@pytest.mark.parametrize("position", [0, -1])
def test_changed_artifact_byte_is_refused(
    name: str, root: Path, policy: SigstorePolicy, position: int
) -> None:
    artifact, bundle = _read(name)
    changed = bytearray(artifact)
    changed[position] ^= 0x01
    with pytest.raises(SigstoreInvalid, match="sigstore verification failed") as info:
        verify_sigstore_bundle(bytes(changed), bundle, trusted_root_path=root, policy=policy)
    assert info.value.code == "SIGSTORE_INVALID"
    assert info.value.status_code == 422
    assert isinstance(info.value, VerificationError)


@pytest.mark.parametrize(
    "policy",
    [
        SigstorePolicy("b@tny.town", EMAIL.issuer),
        SigstorePolicy("a@tny.town.evil", EMAIL.issuer),
        SigstorePolicy(EMAIL.identity, "https://accounts.google.com"),
        SigstorePolicy(EMAIL.identity, "https://token.actions.githubusercontent.com"),
    ],
    ids=["other-identity", "identity-suffix", "other-issuer", "actions-issuer"],
)
def test_wrong_identity_or_issuer_is_refused(policy: SigstorePolicy) -> None:
    artifact, bundle = _read("bundle.txt")
    with pytest.raises(SigstoreInvalid, match="sigstore verification failed") as info:
        verify_sigstore_bundle(artifact, bundle, trusted_root_path=STAGING, policy=policy)
    assert info.value.details == {"identity": policy.identity, "issuer": policy.issuer}


def test_workflow_identity_at_another_tag_is_refused() -> None:
    artifact, bundle = _read("bundle_v3_github.whl")
    other_tag = SigstorePolicy(WORKFLOW.identity.replace("v0.1.2", "v0.1.3"), WORKFLOW.issuer)
    with pytest.raises(SigstoreInvalid):
        verify_sigstore_bundle(artifact, bundle, trusted_root_path=PRODUCTION, policy=other_tag)


@pytest.mark.parametrize(("name", "root"), [("bundle.txt", PRODUCTION), ("bundle_v3_github.whl", STAGING)])
def test_bundle_against_the_other_trusted_root_is_refused(name: str, root: Path) -> None:
    artifact, bundle = _read(name)
    policy = EMAIL if name == "bundle.txt" else WORKFLOW
    with pytest.raises(SigstoreInvalid):
        verify_sigstore_bundle(artifact, bundle, trusted_root_path=root, policy=policy)


@pytest.mark.parametrize(
    "bundle",
    [b"", b"not json", b"[]", b"{}", b'{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}'],
    ids=["empty", "not-json", "array", "empty-object", "no-material"],
)
def test_malformed_bundle_is_a_clear_error(bundle: bytes) -> None:
    artifact, _ = _read("bundle.txt")
    with pytest.raises(SigstoreInvalid, match="malformed sigstore bundle"):
        verify_sigstore_bundle(artifact, bundle, trusted_root_path=STAGING, policy=EMAIL)


def test_bundle_with_a_tampered_signature_is_refused() -> None:
    artifact, raw = _read("bundle.txt")
    doc = json.loads(raw)
    signature = doc["messageSignature"]["signature"]
    doc["messageSignature"]["signature"] = ("B" if signature[0] == "A" else "A") + signature[1:]
    with pytest.raises(SigstoreInvalid):
        verify_sigstore_bundle(artifact, json.dumps(doc), trusted_root_path=STAGING, policy=EMAIL)


def test_unreadable_trusted_root_is_refused(tmp_path: Path) -> None:
    artifact, bundle = _read("bundle.txt")
    broken = tmp_path / "root.json"
    broken.write_text("{")
    for root in (broken, tmp_path / "missing.json"):
        with pytest.raises(SigstoreInvalid, match="trusted root unreadable") as info:
            verify_sigstore_bundle(artifact, bundle, trusted_root_path=root, policy=EMAIL)
        assert info.value.details["trusted_root"] == str(root)


@pytest.mark.parametrize(("identity", "issuer"), [("", EMAIL.issuer), (EMAIL.identity, " ")])
def test_policy_needs_identity_and_issuer(identity: str, issuer: str) -> None:
    with pytest.raises(SigstoreInvalid, match="non-empty identity and issuer"):
        SigstorePolicy(identity, issuer)


def test_signed_artifact_is_the_digest_hex() -> None:
    assert signed_artifact("AB" * 32) == b"ab" * 32


def test_spell_bundle_without_sigstore_file_is_not_verified(tmp_path: Path) -> None:
    bundle = make_host_bundle(tmp_path / "b")
    assert verify_bundle_sigstore(bundle, trusted_root_path=STAGING, policy=EMAIL) is False


def test_spell_bundle_with_a_bundle_over_another_artifact_is_refused(tmp_path: Path) -> None:
    bundle = make_host_bundle(tmp_path / "b")
    (bundle / SIGSTORE_FILE).write_bytes((ASSETS / "bundle.txt.sigstore").read_bytes())
    with pytest.raises(SigstoreInvalid, match="sigstore verification failed"):
        verify_bundle_sigstore(bundle, trusted_root_path=STAGING, policy=EMAIL)


def test_sigstore_file_does_not_change_the_digest(tmp_path: Path) -> None:
    bundle = make_host_bundle(tmp_path / "b")
    before = bundle_digest(bundle, load_manifest(bundle))
    (bundle / SIGSTORE_FILE).write_bytes((ASSETS / "bundle.txt.sigstore").read_bytes())
    assert bundle_digest(bundle, load_manifest(bundle)) == before


def test_sigstore_file_that_is_a_link_is_refused(tmp_path: Path) -> None:
    bundle = make_host_bundle(tmp_path / "b")
    (bundle / SIGSTORE_FILE).symlink_to(ASSETS / "bundle.txt.sigstore")
    with pytest.raises(SigstoreInvalid, match="must be a regular file"):
        verify_bundle_sigstore(bundle, trusted_root_path=STAGING, policy=EMAIL)
