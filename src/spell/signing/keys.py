"""Ed25519 signing keys in spell-runtime's formats.

Private keys are PKCS#8 PEM files written with mode 0600; public keys travel as base64url (no padding)
of their SubjectPublicKeyInfo DER. ``keygen`` names the pair ``<publisher>__<key_id>.private.pem`` and
``<publisher>__<key_id>.public.b64url.txt`` (characters outside ``[A-Za-z0-9._-]`` become ``_``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from spell.errors import AlreadyExists, InvalidInput
from spell.kit.encoding import b64url_decode, b64url_encode

if TYPE_CHECKING:  # cryptography is imported where a key is used: a cached verification needs none
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "KeyPairFiles",
    "check_token",
    "generate_keypair",
    "key_file_stem",
    "load_private_key",
    "public_key_from_b64url",
    "public_key_to_b64url",
]

_UNSAFE_FILENAME_CHARS = re.compile(r"[^A-Za-z0-9._-]")
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
# SubjectPublicKeyInfo DER of an Ed25519 key is always this 12-byte header followed by the 32 raw key
# bytes (RFC 8410). Reading it directly keeps verification from importing cryptography's
# serialization package, which costs a CLI process about 20 ms.
_ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")


@dataclass(frozen=True)
class KeyPairFiles:
    """Where ``generate_keypair`` wrote a key pair, and the public key to hand to casters."""

    publisher: str
    key_id: str
    private_key_path: Path
    public_key_path: Path
    public_key_b64url: str


def check_token(value: str, label: str) -> None:
    """Refuse an empty publisher or key id, or one with control characters."""
    if not value.strip():
        raise InvalidInput(f"{label} must not be empty", details={"field": label})
    if _CONTROL_CHARS.search(value):
        raise InvalidInput(f"{label} must not contain control characters", details={"field": label})


def key_file_stem(publisher: str, key_id: str) -> str:
    """The shared start of a key pair's two file names: ``<publisher>__<key_id>``, made safe."""
    return f"{_UNSAFE_FILENAME_CHARS.sub('_', publisher)}__{_UNSAFE_FILENAME_CHARS.sub('_', key_id)}"


def generate_keypair(
    publisher: str, *, key_id: str = "default", out_dir: Path, overwrite: bool = False
) -> KeyPairFiles:
    """Make a new Ed25519 key pair and write both halves into ``out_dir``.

    An existing pair of the same name is kept (``AlreadyExists``) unless ``overwrite`` is set, so a
    private key is never lost by accident.
    """
    check_token(publisher, "publisher")
    check_token(key_id, "key id")
    out = Path(out_dir)
    stem = key_file_stem(publisher, key_id)
    private_path = out / f"{stem}.private.pem"
    public_path = out / f"{stem}.public.b64url.txt"
    if not overwrite and (private_path.exists() or public_path.exists()):
        raise AlreadyExists(
            f"key files already exist: {private_path}",
            details={"path": str(private_path)},
            hint="choose another --key-id, or pass --force to replace them",
        )
    from cryptography.hazmat.primitives import serialization  # heavy (SSH, ciphers): keygen only
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_text = public_key_to_b64url(key.public_key())
    try:
        out.mkdir(parents=True, exist_ok=True)
        private_path.unlink(missing_ok=True)
        # Created with 0600 from the start, so the key is never readable by others, not even briefly.
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        public_path.write_text(public_text + "\n", encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(
            f"cannot write key files to {out}: {exc.strerror or exc}",
            details={"path": str(out)},
            hint="give --out-dir a folder you can write to (it is created when missing)",
        ) from exc
    return KeyPairFiles(publisher, key_id, private_path, public_path, public_text)


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """Read a PKCS#8 PEM Ed25519 private key file."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        raise InvalidInput(f"private key file not found: {path}", details={"path": str(path)}) from None
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization  # heavy (SSH, ciphers): signing only
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise InvalidInput(f"failed to parse private key: {exc}", details={"path": str(path)}) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidInput("private key is not an ed25519 key", details={"path": str(path)})
    return key


def public_key_to_b64url(key: Ed25519PublicKey) -> str:
    """SPKI DER of ``key`` as unpadded base64url."""
    return b64url_encode(_ED25519_SPKI_PREFIX + key.public_bytes_raw())


def public_key_from_b64url(text: str) -> Ed25519PublicKey:
    """Parse base64url SPKI DER into an Ed25519 public key; ``InvalidInput`` when it is not one."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        der = b64url_decode(text)
        if len(der) == len(_ED25519_SPKI_PREFIX) + 32 and der.startswith(_ED25519_SPKI_PREFIX):
            return Ed25519PublicKey.from_public_bytes(der[len(_ED25519_SPKI_PREFIX) :])
        from cryptography.hazmat.primitives import serialization  # any other DER: let OpenSSL judge it

        key = serialization.load_der_public_key(der)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise InvalidInput(f"invalid public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidInput("invalid public key: not an ed25519 key")
    return key
