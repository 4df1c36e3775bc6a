"""The signature rule shared by ``spell cast`` and server casts, and the verifier over any trust source."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from spell.bundle.digest import bundle_digest
from spell.bundle.loaders import load_manifest
from spell.errors import SignatureMissing, SignatureUntrusted, VerificationError
from spell.signing.keys import public_key_to_b64url
from spell.signing.signature import sign_bundle
from spell.signing.trust import PublisherTrust, TrustedKey
from spell.signing.verifier import (
    SignatureHints,
    SignatureReport,
    SignatureRule,
    SignatureStatus,
    check_bundle_signature,
)
from tests.bundle.factories import make_host_bundle


def _report(status: SignatureStatus) -> SignatureReport:
    return SignatureReport(status, "acme", f"{status} for the test")


@pytest.mark.parametrize(
    ("allow_unsigned", "force", "wanted", "required"),
    [
        (False, False, None, True),  # the default: signed
        (True, False, None, False),  # the operator's (or caster's) waiver
        (True, False, True, True),  # a cast that asks for a signature gets one checked
        (False, False, False, False),  # a cast that waives it (a button)
        (True, True, None, True),  # force beats every waiver
        (False, True, False, True),
    ],
)
def test_required_follows_waivers_and_force(
    allow_unsigned: bool, force: bool, wanted: bool | None, required: bool
) -> None:
    assert SignatureRule(allow_unsigned=allow_unsigned, force=force).required(wanted) is required


@pytest.mark.parametrize("status", ["unsigned", "untrusted"])
def test_a_waived_rule_lets_unsigned_and_untrusted_pass(status: SignatureStatus) -> None:
    SignatureRule(allow_unsigned=True).enforce(_report(status))
    SignatureRule().enforce(_report(status), wanted=False)


def test_an_invalid_signature_is_refused_even_when_waived() -> None:
    with pytest.raises(VerificationError) as caught:
        SignatureRule(allow_unsigned=True).enforce(_report("invalid"), wanted=False)
    assert caught.value.code == "SIGNATURE_INVALID"
    assert caught.value.message == "signature required: invalid for the test"


def test_a_required_signature_refuses_each_status_with_its_code() -> None:
    rule = SignatureRule()
    rule.enforce(_report("verified"))
    with pytest.raises(SignatureMissing):
        rule.enforce(_report("unsigned"))
    with pytest.raises(SignatureUntrusted):
        rule.enforce(_report("untrusted"))


def test_the_rule_hints_name_the_publisher() -> None:
    hints = SignatureHints(unsigned="sign {publisher}", untrusted="register a key of {publisher}")
    rule = SignatureRule(hints=hints)
    with pytest.raises(SignatureUntrusted) as untrusted:
        rule.enforce(_report("untrusted"))
    assert untrusted.value.hint == "register a key of acme"
    with pytest.raises(SignatureMissing) as unsigned:
        rule.enforce(_report("unsigned"))
    assert unsigned.value.hint == "sign acme"
    with pytest.raises(SignatureMissing) as default:
        SignatureRule().enforce(_report("unsigned"))
    assert "spell sign bundle" in str(default.value.hint)


class _Keys:
    """A trust source held in memory, as a server builds one from its registered keys."""

    def __init__(self, *trusts: PublisherTrust) -> None:
        self.loaded: list[str] = []
        self._trusts = {t.publisher: t for t in trusts}

    def load(self, publisher: str) -> PublisherTrust | None:
        self.loaded.append(publisher)
        return self._trusts.get(publisher)


def _signed(tmp_path: Path) -> tuple[Path, str]:
    bundle = make_host_bundle(tmp_path / "b")
    key = Ed25519PrivateKey.generate()
    sign_bundle(bundle, key, key_id="main")
    return bundle, public_key_to_b64url(key.public_key())


def test_the_verifier_takes_keys_from_any_trust_source(tmp_path: Path) -> None:
    bundle, public = _signed(tmp_path)
    manifest = load_manifest(bundle)
    keys = _Keys(PublisherTrust("acme", (TrustedKey("main", public),)))
    report = check_bundle_signature(bundle, manifest, keys)
    assert (report.status, report.key_id) == ("verified", "main")
    assert check_bundle_signature(bundle, manifest, _Keys()).status == "untrusted"
    other = _Keys(PublisherTrust("acme", (TrustedKey("other", public),)))
    assert check_bundle_signature(bundle, manifest, other).message == "trusted key_id not found: main"


def test_an_unsigned_bundle_never_consults_the_trust_source(tmp_path: Path) -> None:
    bundle = make_host_bundle(tmp_path / "b")
    keys = _Keys()
    assert check_bundle_signature(bundle, load_manifest(bundle), keys).status == "unsigned"
    assert keys.loaded == []


def test_a_digest_the_caller_computed_is_used_not_recomputed(tmp_path: Path) -> None:
    bundle, public = _signed(tmp_path)
    manifest = load_manifest(bundle)
    keys = _Keys(PublisherTrust("acme", (TrustedKey("main", public),)))
    digest = bundle_digest(bundle, manifest)
    assert check_bundle_signature(bundle, manifest, keys, digest=digest).ok
    other = make_host_bundle(tmp_path / "other", files={"steps/other.txt": "different"})
    stale = bundle_digest(other, load_manifest(other))
    report = check_bundle_signature(bundle, manifest, keys, digest=stale)
    assert (report.status, report.message) == ("invalid", "digest mismatch")
