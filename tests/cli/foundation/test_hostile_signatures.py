"""A trust file edited into nonsense is an error, never a silent pass; a signature with a wrong digest,
or a bundle with one changed byte (in a folder or installed), is invalid with a digest mismatch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spell.kit.encoding import storage_key
from tests.bundle.factories import COMPAT, copy_compat_bundle
from tests.cli.foundation.hostile import COVERED, EXPECTED, assert_refused, signature_of

NONSENSE_TRUST = [
    "this is not json",
    "[]",
    '{"version": "v2", "publisher": "compat", "keys": []}',
    '{"version": "v1", "publisher": "someone-else", "keys": [{"key_id": "k1"}]}',
    '{"version": "v1", "publisher": "compat", "keys": [{"key_id": "k1", "algorithm": "rsa", '
    '"public_key": "x"}]}',
    '{"version": "v1", "publisher": "compat", "keys": [{"key_id": "k1", "algorithm": "ed25519", '
    '"public_key": "not base64url!"}]}',
    '{"version": "v1", "publisher": "compat", "keys": "k1"}',
    "[" * 100_000 + "]" * 100_000,  # nesting deeper than any parser's recursion limit
]


@pytest.mark.parametrize("text", NONSENSE_TRUST, ids=range(len(NONSENSE_TRUST)))
def test_a_trust_file_edited_into_nonsense_is_an_error_never_a_silent_pass(home: Path, text: str) -> None:
    trust_file = home / "trust" / "publishers" / EXPECTED["trust_file_name"]
    assert trust_file.is_file()
    trust_file.write_text(text, encoding="utf-8")
    for args in (
        ("verify", "--path", str(COMPAT / "greet")),
        ("verify", "compat/greet"),
        ("trust", "list"),
        ("trust", "inspect", "compat"),
        ("trust", "add", "compat", EXPECTED["public_key_base64url"], "--key-id", "k2"),
        ("trust", "revoke-key", "compat", "--key-id", "k1"),
    ):
        error = assert_refused(home, "INVALID_TRUST_FILE", *args).error()
        assert error["details"]["file"] == str(trust_file)


def test_a_signature_file_with_a_wrong_digest_is_invalid(home: Path, tmp_path: Path) -> None:
    bundle = copy_compat_bundle(tmp_path / "greet")
    sig = signature_of(bundle)
    sig["digest"] = {"algorithm": "sha256", "value": "0" * 64}
    (bundle / "spell.sig.json").write_text(json.dumps(sig), encoding="utf-8")
    error = assert_refused(home, "SIGNATURE_INVALID", "verify", "--path", str(bundle)).error()
    assert error["details"]["status"] == "invalid"
    assert error["details"]["message"] == "digest mismatch"


@pytest.mark.parametrize("rel", COVERED)
def test_a_changed_byte_in_any_covered_file_is_invalid_digest_mismatch(
    home: Path, tmp_path: Path, rel: str
) -> None:
    bundle = copy_compat_bundle(tmp_path / "greet")
    path = bundle / rel
    data = bytearray(path.read_bytes())
    # one flipped bit; in spell.yaml inside the summary text, so the manifest itself stays valid
    data[data.index(b"Prints") if rel == "spell.yaml" else 0] ^= 0x01
    path.write_bytes(bytes(data))
    error = assert_refused(home, "SIGNATURE_INVALID", "verify", "--path", str(bundle)).error()
    assert (error["details"]["status"], error["details"]["message"]) == ("invalid", "digest mismatch")
    assert error["message"] == "signature invalid: digest mismatch"


def test_a_changed_byte_in_an_installed_spell_is_invalid_digest_mismatch(home: Path) -> None:
    installed = home / "spells" / storage_key("compat/greet") / EXPECTED["version"]
    script = installed / "steps" / "greet.sh"
    script.write_bytes(script.read_bytes() + b"\n")
    error = assert_refused(home, "SIGNATURE_INVALID", "verify", "compat/greet").error()
    assert error["details"]["message"] == "digest mismatch"
