from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.bundle.factories import make_host_bundle
from tests.cli.run_cli import run_cli


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPELL_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)


def test_keygen_sign_trust_and_verify_round_trip(tmp_path: Path) -> None:
    keys = run_cli("sign", "keygen", "acme", "--key-id", "k7", "--json")
    assert keys.exit_code == 0
    made = keys.json()
    assert made["private_key"] == str(Path(".spell-keys") / "acme__k7.private.pem")
    assert stat.S_IMODE(Path(made["private_key"]).stat().st_mode) == 0o600
    assert made["trust_add"] == f"spell trust add acme {made['public_key_base64url']} --key-id k7"
    bundle = make_host_bundle(tmp_path / "hello")
    signed = run_cli("sign", "bundle", str(bundle), "--private-key", made["private_key"], "--key-id", "k7")
    assert signed.exit_code == 0
    assert "digest: " in signed.stdout
    sig = json.loads((bundle / "spell.sig.json").read_text())
    assert (sig["publisher"], sig["key_id"]) == ("acme", "k7")
    assert run_cli("trust", "add", "acme", made["public_key_base64url"], "--key-id", "k7").exit_code == 0
    assert run_cli("verify", "--path", str(bundle), "--json").json()["status"] == "verified"


def test_keygen_refuses_to_overwrite_without_force() -> None:
    assert run_cli("sign", "keygen", "acme").exit_code == 0
    again = run_cli("sign", "keygen", "acme", "--json")
    assert again.exit_code == 7
    assert again.error()["code"] == "ALREADY_EXISTS"
    assert run_cli("sign", "keygen", "acme", "--force").exit_code == 0


def test_keygen_refuses_an_empty_publisher() -> None:
    result = run_cli("sign", "keygen", " ", "--json")
    assert result.exit_code == 6
    assert result.error()["code"] == "VALIDATION_ERROR"


def test_sign_with_a_missing_key_file_fails(tmp_path: Path) -> None:
    bundle = make_host_bundle(tmp_path / "hello")
    result = run_cli("sign", "bundle", str(bundle), "--private-key", "nope.pem", "--json")
    assert result.exit_code == 6
    assert result.error()["code"] == "VALIDATION_ERROR"
    assert not (bundle / "spell.sig.json").exists()


def test_sign_as_another_publisher_fails(tmp_path: Path) -> None:
    run_cli("sign", "keygen", "acme")
    bundle = make_host_bundle(tmp_path / "hello")
    key = ".spell-keys/acme__default.private.pem"
    result = run_cli("sign", "bundle", str(bundle), "--private-key", key, "--publisher", "evil", "--json")
    assert result.exit_code == 6
    assert result.error()["details"] == {"expected": "acme", "got": "evil"}


def test_sign_group_help_lists_its_verbs() -> None:
    result = run_cli("sign", "--help")
    assert result.exit_code == 0
    assert "keygen" in result.stdout
    assert "bundle" in result.stdout
