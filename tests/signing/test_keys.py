from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key

from spell.errors import AlreadyExists, InvalidInput
from spell.kit.encoding import b64url_encode
from spell.signing.keys import (
    generate_keypair,
    load_private_key,
    public_key_from_b64url,
    public_key_to_b64url,
)


def test_keygen_writes_pkcs8_private_key_with_mode_0600_and_spki_public_key(tmp_path: Path) -> None:
    pair = generate_keypair("acme", key_id="k1", out_dir=tmp_path / "keys")
    assert pair.private_key_path.name == "acme__k1.private.pem"
    assert pair.public_key_path.name == "acme__k1.public.b64url.txt"
    assert stat.S_IMODE(pair.private_key_path.stat().st_mode) == 0o600
    assert pair.private_key_path.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert pair.public_key_path.read_text() == pair.public_key_b64url + "\n"
    private = load_private_key(pair.private_key_path)
    assert public_key_to_b64url(private.public_key()) == pair.public_key_b64url
    assert public_key_to_b64url(public_key_from_b64url(pair.public_key_b64url)) == pair.public_key_b64url


def test_keygen_file_names_replace_unsafe_characters(tmp_path: Path) -> None:
    pair = generate_keypair("my org", key_id="2026/01", out_dir=tmp_path)
    assert pair.private_key_path.name == "my_org__2026_01.private.pem"


def test_keygen_keeps_an_existing_key_unless_forced(tmp_path: Path) -> None:
    first = generate_keypair("acme", out_dir=tmp_path)
    with pytest.raises(AlreadyExists) as caught:
        generate_keypair("acme", out_dir=tmp_path)
    assert caught.value.code == "ALREADY_EXISTS"
    assert first.public_key_path.read_text().strip() == first.public_key_b64url
    second = generate_keypair("acme", out_dir=tmp_path, overwrite=True)
    assert second.public_key_b64url != first.public_key_b64url
    assert stat.S_IMODE(second.private_key_path.stat().st_mode) == 0o600


@pytest.mark.parametrize(("publisher", "key_id"), [("", "k"), ("  ", "k"), ("acme", ""), ("ac\x01me", "k")])
def test_keygen_refuses_empty_or_control_character_names(tmp_path: Path, publisher: str, key_id: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        generate_keypair(publisher, key_id=key_id, out_dir=tmp_path)
    assert caught.value.code == "VALIDATION_ERROR"
    assert list(tmp_path.iterdir()) == []


def test_missing_private_key_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        load_private_key(tmp_path / "nope.pem")
    assert caught.value.details["path"].endswith("nope.pem")


def test_garbage_private_key_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "bad.pem"
    path.write_text("not a key")
    with pytest.raises(InvalidInput):
        load_private_key(path)


def test_non_ed25519_keys_are_refused(tmp_path: Path) -> None:
    ec = generate_private_key(SECP256R1())
    path = tmp_path / "ec.pem"
    path.write_bytes(
        ec.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with pytest.raises(InvalidInput):
        load_private_key(path)
    der = ec.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(InvalidInput):
        public_key_from_b64url(b64url_encode(der))


@pytest.mark.parametrize("text", ["", "!!!", b64url_encode(b"not der")])
def test_malformed_public_keys_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        public_key_from_b64url(text)
