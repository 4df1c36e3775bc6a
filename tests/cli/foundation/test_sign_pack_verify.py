"""Signing, packing and verifying as a maker meets them: the compat vectors verify, a bundle signed here
has the same digest and file format, packing is reproducible, and every refusal is one clear error."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_der_public_key

from spell.kit.encoding import b64url_decode
from tests.bundle.factories import COMPAT, copy_compat_bundle
from tests.cli.foundation.hostile import EXPECTED, assert_refused, signature_of
from tests.cli.run_cli import run_cli


def test_the_compat_vectors_verify_through_the_cli(home: Path) -> None:
    by_path = run_cli("verify", "--path", str(COMPAT / "greet"), "--json")
    by_id = run_cli("verify", "compat/greet", "--json")
    for result in (by_path, by_id):
        assert result.exit_code == 0, result.stderr
        data = result.json()
        assert (data["status"], data["publisher"], data["key_id"], data["digest"]) == (
            "verified",
            EXPECTED["publisher"],
            EXPECTED["key_id"],
            EXPECTED["digest_sha256_hex"],
        )
    trust_file = home / "trust" / "publishers" / EXPECTED["trust_file_name"]
    assert json.loads(trust_file.read_text(encoding="utf-8"))["publisher"] == "compat"


def test_a_bundle_signed_here_verifies_with_the_same_digest_and_file_format(
    home: Path, tmp_path: Path
) -> None:
    bundle = copy_compat_bundle(tmp_path / "greet")
    keys = tmp_path / "keys"
    made = run_cli("sign", "keygen", "compat", "--key-id", "k9", "--out-dir", str(keys), "--json")
    assert made.exit_code == 0, made.stderr
    private = keys / "compat__k9.private.pem"
    public = (keys / "compat__k9.public.b64url.txt").read_text(encoding="utf-8").strip()
    assert private.stat().st_mode & 0o777 == 0o600
    signed = run_cli("sign", "bundle", str(bundle), "--private-key", str(private), "--key-id", "k9")
    assert signed.exit_code == 0, signed.stderr

    sig = signature_of(bundle)
    assert sorted(sig) == ["algorithm", "digest", "key_id", "publisher", "signature", "version"]
    assert (sig["version"], sig["publisher"], sig["key_id"], sig["algorithm"]) == (
        "v1",
        "compat",
        "k9",
        "ed25519",
    )
    assert sig["digest"] == {"algorithm": "sha256", "value": EXPECTED["digest_sha256_hex"]}
    # The rule spell-runtime applies: Ed25519 over the 32 raw digest bytes, base64url without padding.
    key = load_der_public_key(b64url_decode(public))
    assert isinstance(key, Ed25519PublicKey)
    key.verify(b64url_decode(str(sig["signature"])), bytes.fromhex(EXPECTED["digest_sha256_hex"]))

    assert run_cli("trust", "add", "compat", public, "--key-id", "k9").exit_code == 0
    verified = run_cli("verify", "--path", str(bundle), "--json")
    assert verified.exit_code == 0, verified.stderr
    assert verified.json()["key_id"] == "k9"


def test_pack_twice_gives_the_same_sha256_whatever_the_mtimes(home: Path, tmp_path: Path) -> None:
    first_copy = copy_compat_bundle(tmp_path / "one")
    second_copy = copy_compat_bundle(tmp_path / "two")
    for path in second_copy.rglob("*"):
        os.utime(path, (1_000_000_000, 1_000_000_000))
    results = [
        run_cli("pack", str(folder), "-o", str(tmp_path / f"{n}.tar"), "--json")
        for n, folder in enumerate((first_copy, first_copy, second_copy))
    ]
    assert all(r.exit_code == 0 for r in results), [r.stderr for r in results]
    sums = {r.json()["archive_sha256"] for r in results}
    assert len(sums) == 1
    files = {hashlib.sha256((tmp_path / f"{n}.tar").read_bytes()).hexdigest() for n in range(3)}
    assert files == sums
    assert {r.json()["digest"] for r in results} == {f"sha256:{EXPECTED['digest_sha256_hex']}"}


def test_pack_refuses_to_replace_a_device_or_fifo_named_by_output(home: Path, tmp_path: Path) -> None:
    # Writing beside the target and renaming would replace a device such as /dev/null with a file.
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    error = assert_refused(home, "VALIDATION_ERROR", "pack", str(COMPAT / "greet"), "-o", str(fifo)).error()
    assert error["details"]["path"] == str(fifo)
    assert fifo.is_fifo()
    assert list(tmp_path.glob("pipe.partial")) == []


def test_pack_into_a_missing_folder_is_one_clear_error(home: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder" / "greet.tar"
    assert_refused(home, "VALIDATION_ERROR", "pack", str(COMPAT / "greet"), "-o", str(missing))
    assert not missing.parent.exists()


def test_keygen_into_a_folder_that_cannot_be_made_is_one_clear_error(home: Path, tmp_path: Path) -> None:
    in_the_way = tmp_path / "keys"
    in_the_way.write_text("a file, not a folder\n", encoding="utf-8")
    out_dir = in_the_way / "sub"
    error = assert_refused(home, "VALIDATION_ERROR", "sign", "keygen", "acme", "--out-dir", str(out_dir))
    assert error.error()["details"]["path"] == str(out_dir)
    assert in_the_way.read_text(encoding="utf-8") == "a file, not a folder\n"


def test_sign_refuses_to_write_through_a_planted_signature_link(home: Path, tmp_path: Path) -> None:
    bundle = copy_compat_bundle(tmp_path / "greet")
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me\n", encoding="utf-8")
    (bundle / "spell.sig.json").unlink()
    (bundle / "spell.sig.json").symlink_to(precious)
    keys = tmp_path / "keys"
    assert run_cli("sign", "keygen", "compat", "--out-dir", str(keys)).exit_code == 0
    private = str(keys / "compat__default.private.pem")
    assert_refused(home, "INVALID_BUNDLE", "sign", "bundle", str(bundle), "--private-key", private)
    assert precious.read_text(encoding="utf-8") == "keep me\n"


def test_a_packed_bundle_installs_and_still_verifies(home: Path, tmp_path: Path) -> None:
    bundle = copy_compat_bundle(tmp_path / "greet")
    shutil.rmtree(home / "spells")
    assert run_cli("pack", str(bundle), "-o", str(tmp_path / "greet.tar")).exit_code == 0
    installed = run_cli("install", str(tmp_path / "greet.tar"), "--json")
    assert installed.exit_code == 0, installed.stderr
    assert installed.json()["source"]["signature"] == "verified"
    assert run_cli("verify", "compat/greet").exit_code == 0
