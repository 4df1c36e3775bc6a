from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from spell.kit.encoding import storage_key
from tests.bundle.factories import COMPAT, compat_expected, copy_compat_bundle
from tests.cli.run_cli import run_cli

EXPECTED = compat_expected()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SPELL_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _trust_compat() -> None:
    result = run_cli("trust", "add", "compat", EXPECTED["public_key_base64url"], "--key-id", "k1")
    assert result.exit_code == 0


def _install_compat(home: Path) -> Path:
    id_dir = home / "spells" / storage_key("compat/greet")
    id_dir.mkdir(parents=True)
    (id_dir / "spell.id.txt").write_text("compat/greet\n")
    shutil.copytree(COMPAT / "greet", id_dir / "1.2.0")
    return id_dir / "1.2.0"


def test_compat_bundle_verifies_after_trust_add(home: Path) -> None:
    _trust_compat()
    result = run_cli("verify", "--path", str(COMPAT / "greet"), "--json")
    assert result.exit_code == 0
    data = result.json()
    assert (data["status"], data["digest"], data["key_id"]) == (
        "verified",
        EXPECTED["digest_sha256_hex"],
        "k1",
    )


def test_installed_spell_is_verified_by_id(home: Path) -> None:
    _install_compat(home)
    _trust_compat()
    result = run_cli("verify", "compat/greet")
    assert result.exit_code == 0
    assert result.stdout.startswith("verified compat/greet@1.2.0")
    assert run_cli("verify", "compat/greet", "--version", "1.2.0", "--json").json()["ok"] is True


def test_unknown_spell_or_version_is_not_found(home: Path) -> None:
    assert run_cli("verify", "compat/greet", "--json").error()["code"] == "SPELL_NOT_FOUND"
    _install_compat(home)
    result = run_cli("verify", "compat/greet", "--version", "9.9.9", "--json")
    assert result.exit_code == 3
    assert result.error()["code"] == "VERSION_NOT_FOUND"


def test_unsigned_bundle_exits_non_zero_with_the_report(home: Path, tmp_path: Path) -> None:
    bundle = copy_compat_bundle(tmp_path / "greet")
    (bundle / "spell.sig.json").unlink()
    result = run_cli("verify", "--path", str(bundle), "--json")
    assert result.exit_code == 4
    error = result.error()
    assert error["code"] == "SIGNATURE_MISSING"
    assert error["details"]["status"] == "unsigned"


def test_untrusted_publisher_exits_non_zero(home: Path) -> None:
    result = run_cli("verify", "--path", str(COMPAT / "greet"))
    assert result.exit_code == 4
    assert "[SIGNATURE_UNTRUSTED]" in result.stderr
    assert "signature untrusted: " in result.stderr
    assert result.stdout == ""


def test_changed_byte_is_invalid_digest_mismatch(home: Path, tmp_path: Path) -> None:
    _trust_compat()
    bundle = copy_compat_bundle(tmp_path / "greet")
    (bundle / "steps" / "sub" / "a.txt").write_bytes(b"changed")
    result = run_cli("verify", "--path", str(bundle), "--json")
    assert result.exit_code == 4
    error = result.error()
    assert error["code"] == "SIGNATURE_INVALID"
    assert (error["details"]["status"], error["details"]["message"]) == ("invalid", "digest mismatch")


def test_revoked_key_is_invalid(home: Path) -> None:
    _trust_compat()
    assert run_cli("trust", "revoke-key", "compat", "--key-id", "k1", "--reason", "leak").exit_code == 0
    error = run_cli("verify", "--path", str(COMPAT / "greet"), "--json").error()
    assert error["details"]["message"] == "trusted key_id is revoked: k1 (leak)"


@pytest.mark.parametrize("args", [(), ("compat/greet", "--path", "."), ("--path", ".", "--version", "1.0.0")])
def test_bad_usage_is_refused(home: Path, args: tuple[str, ...]) -> None:
    result = run_cli("verify", *args)
    assert result.exit_code == 2
    assert result.stderr


def test_hand_edited_trust_file_is_a_clear_error(home: Path) -> None:
    _trust_compat()
    trust_file = home / "trust" / "publishers" / EXPECTED["trust_file_name"]
    trust_file.write_text('{"version": "v1", "keys": "nonsense"}')
    result = run_cli("verify", "--path", str(COMPAT / "greet"), "--json")
    assert result.exit_code == 6
    error = result.error()
    assert error["code"] == "INVALID_TRUST_FILE"
    assert error["details"]["file"] == str(trust_file)
