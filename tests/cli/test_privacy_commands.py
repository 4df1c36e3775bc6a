"""``spell privacy export|erase|purge`` on the configured database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.run_cli import run_cli


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, empty_database_url: str) -> Path:
    """A home whose database was migrated by ``spell db upgrade`` (up to the privacy tables)."""
    monkeypatch.setenv("SPELL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SPELL_DATABASE_URL", empty_database_url)
    monkeypatch.setenv("SPELL_SERVER_SECRET_KEY", "cli-test-secret")
    assert run_cli("db", "upgrade", "--json").exit_code == 0
    return tmp_path / "home"


def _user(email: str) -> str:
    created = run_cli("admin", "create-user", email, "--role", "caster", "--json")
    assert created.exit_code == 0, created.stderr
    assert run_cli("keys", "create", email, "--name", "laptop", "--json").exit_code == 0
    user_id: str = created.json()["id"]
    return user_id


def test_export_writes_the_users_document_to_a_private_file_or_stdout(home: Path, tmp_path: Path) -> None:
    alice = _user("alice@example.com")
    _user("bob@example.com")
    out = tmp_path / "alice.json"
    result = run_cli("privacy", "export", "alice@example.com", "--out", str(out), "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["user_id"] == alice
    assert out.stat().st_mode & 0o777 == 0o600
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["profile"]["email"] == "alice@example.com"
    assert [key["name"] for key in document["keys"]] == ["laptop"]
    assert "bob@example.com" not in out.read_text(encoding="utf-8")
    printed = run_cli("privacy", "export", alice)
    assert printed.exit_code == 0, printed.stderr
    assert printed.json()["profile"]["user_id"] == alice
    nowhere = tmp_path / "ghost.json"
    missing = run_cli("privacy", "export", "ghost@example.com", "--out", str(nowhere), "--json")
    assert missing.exit_code == 3
    assert missing.error()["code"] == "NOT_FOUND"
    assert not nowhere.exists()


def test_erase_needs_yes_then_anonymises_once_and_purge_reports_what_it_did(home: Path) -> None:
    alice = _user("alice@example.com")
    unconfirmed = run_cli("privacy", "erase", "alice@example.com", "--json")
    assert unconfirmed.exit_code == 6
    assert unconfirmed.error()["code"] == "ERASURE_NOT_CONFIRMED"
    declined = run_cli("privacy", "erase", "alice@example.com", stdin="n\n")
    assert declined.exit_code == 6
    erased = run_cli("privacy", "erase", "alice@example.com", "--yes", "--json")
    assert erased.exit_code == 0, erased.stderr
    assert erased.json()["user_id"] == alice
    assert erased.json()["keys_revoked"] == 1
    assert run_cli("privacy", "export", "alice@example.com", "--json").exit_code == 3  # the email is gone
    again = run_cli("privacy", "erase", alice, "--yes", "--json")
    assert again.exit_code == 7
    assert again.error()["code"] == "ALREADY_ERASED"
    purge = run_cli("privacy", "purge", "--json")
    assert purge.exit_code == 0, purge.stderr
    assert purge.json() == {"users": [], "casts": 0, "events": 0, "artifacts": 0}  # still in its grace period
    assert run_cli("audit", "verify", "--json").json()["ok"] is True
    assert run_cli("ledger", "verify", "--json").json()["ok"] is True
