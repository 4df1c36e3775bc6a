"""Ed25519 public keys are read without cryptography's serialization package, with the same result."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from spell.errors import InvalidInput
from spell.kit.encoding import b64url_encode
from spell.signing.keys import public_key_from_b64url, public_key_to_b64url


def _spki(key: Ed25519PrivateKey | X25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_public_key_text_is_the_spki_der_cryptography_writes() -> None:
    key = Ed25519PrivateKey.generate()
    assert public_key_to_b64url(key.public_key()) == b64url_encode(_spki(key))


def test_a_public_key_read_back_verifies_its_signatures() -> None:
    key = Ed25519PrivateKey.generate()
    public = public_key_from_b64url(b64url_encode(_spki(key)))
    public.verify(key.sign(b"digest"), b"digest")
    assert public.public_bytes_raw() == key.public_key().public_bytes_raw()


def test_an_x25519_key_with_the_same_length_is_refused() -> None:
    with pytest.raises(InvalidInput):
        public_key_from_b64url(b64url_encode(_spki(X25519PrivateKey.generate())))


def test_an_ed25519_key_with_trailing_bytes_is_refused() -> None:
    with pytest.raises(InvalidInput):
        public_key_from_b64url(b64url_encode(_spki(Ed25519PrivateKey.generate()) + b"\0"))
