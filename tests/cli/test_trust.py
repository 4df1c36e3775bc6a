from __future__ import annotations

from pathlib import Path

import pytest

from tests.bundle.factories import compat_expected
from tests.cli.run_cli import run_cli, table_rows

KEY = compat_expected()["public_key_base64url"]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SPELL_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_add_writes_spell_runtimes_trust_file(home: Path) -> None:
    result = run_cli("trust", "add", "compat", KEY, "--key-id", "k1")
    assert result.exit_code == 0
    assert result.stdout == "trusted publisher=compat key_id=k1\n"
    assert (home / "trust" / "publishers" / compat_expected()["trust_file_name"]).is_file()


def test_list_and_inspect_show_status(home: Path) -> None:
    assert run_cli("trust", "list").stdout == "No trusted publishers\n"
    run_cli("trust", "add", "compat", KEY, "--key-id", "k1")
    run_cli("trust", "add", "compat", KEY, "--key-id", "k2")
    run_cli("trust", "revoke-key", "compat", "--key-id", "k2")
    assert run_cli("trust", "list", "--json").json() == [
        {"publisher": "compat", "key_id": "k1", "status": "active"},
        {"publisher": "compat", "key_id": "k2", "status": "revoked"},
    ]
    listed = table_rows(run_cli("trust", "list").stdout)
    assert listed == [
        ["publisher", "key_id", "status"],
        ["compat", "k1", "active"],
        ["compat", "k2", "revoked"],
    ]
    inspected = run_cli("trust", "inspect", "compat", "--json").json()
    assert [k["status"] for k in inspected["keys"]] == ["active", "revoked"]
    assert "fingerprint" in run_cli("trust", "inspect", "compat").stdout


def test_revoke_restore_remove_key_and_remove(home: Path) -> None:
    run_cli("trust", "add", "compat", KEY, "--key-id", "k1")
    run_cli("trust", "add", "compat", KEY, "--key-id", "k2")
    revoked = run_cli("trust", "revoke-key", "compat", "--key-id", "k1", "--reason", "lost", "--json")
    assert (revoked.json()["revoked"], revoked.json()["revoke_reason"]) == (True, "lost")
    restored = run_cli("trust", "restore-key", "compat", "--key-id", "k1")
    assert restored.stdout == "restored publisher=compat key_id=k1\n"
    assert run_cli("trust", "remove-key", "compat", "--key-id", "k1").exit_code == 0
    assert [r["key_id"] for r in run_cli("trust", "list", "--json").json()] == ["k2"]
    assert run_cli("trust", "remove", "compat").stdout == "removed publisher=compat\n"
    assert run_cli("trust", "list", "--json").json() == []


def test_bad_public_key_is_refused_and_nothing_written(home: Path) -> None:
    result = run_cli("trust", "add", "compat", "not-a-key", "--json")
    assert result.exit_code == 6
    assert result.error()["code"] == "VALIDATION_ERROR"
    assert not (home / "trust").exists()


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("inspect", "ghost"), "PUBLISHER_NOT_FOUND"),
        (("remove", "ghost"), "PUBLISHER_NOT_FOUND"),
        (("revoke-key", "ghost", "--key-id", "k1"), "PUBLISHER_NOT_FOUND"),
        (("restore-key", "compat", "--key-id", "nope"), "KEY_NOT_FOUND"),
        (("remove-key", "compat", "--key-id", "nope"), "KEY_NOT_FOUND"),
    ],
)
def test_missing_publisher_or_key_is_not_found(home: Path, args: tuple[str, ...], code: str) -> None:
    run_cli("trust", "add", "compat", KEY, "--key-id", "k1")
    result = run_cli("trust", *args, "--json")
    assert result.exit_code == 3
    assert result.error()["code"] == code


def test_nonsense_trust_file_is_reported_by_list_with_its_name(home: Path) -> None:
    run_cli("trust", "add", "compat", KEY, "--key-id", "k1")
    path = home / "trust" / "publishers" / compat_expected()["trust_file_name"]
    path.write_text("42")
    result = run_cli("trust", "list", "--json")
    assert result.exit_code == 6
    assert result.error()["details"]["file"] == str(path)
    before = path.read_text()
    assert run_cli("trust", "add", "compat", KEY, "--key-id", "k2").exit_code == 6
    assert path.read_text() == before


def test_every_trust_verb_has_help() -> None:
    for verb in ("add", "list", "inspect", "revoke-key", "restore-key", "remove-key", "remove"):
        result = run_cli("trust", verb, "--help")
        assert result.exit_code == 0, verb
        assert "Usage: spell trust " + verb in result.stdout
