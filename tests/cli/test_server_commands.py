"""``spell db upgrade``, ``spell admin …`` and ``spell keys create`` on the embedded SQLite database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.cli.run_cli import run_cli


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SPELL_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SPELL_DATABASE_URL", raising=False)
    monkeypatch.setenv("SPELL_SERVER_SECRET_KEY", "cli-test-secret")
    return tmp_path / "home"


def test_db_upgrade_creates_every_table_in_platform_db(home: Path) -> None:
    result = run_cli("db", "upgrade", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["ok"] is True
    tables = {
        row[0] for row in sqlite3.connect(home / "platform.db").execute("select name from sqlite_master")
    }
    assert {"casts", "spells", "api_keys", "users", "alembic_version"} <= tables


def test_create_user_then_key_then_ban_and_unban(home: Path) -> None:
    user = run_cli("admin", "create-user", "ops@example.com", "--role", "admin", "--json")
    assert user.exit_code == 0, user.stderr
    assert user.json()["roles"] == ["admin"]
    key = run_cli("keys", "create", "ops@example.com", "--scope", "admin", "--expires-in-days", "3", "--json")
    assert key.exit_code == 0, key.stderr
    assert key.json()["token"].startswith("sk_live_")
    assert key.json()["expires_at"]
    banned = run_cli("admin", "ban", user.json()["id"], "--reason", "test", "--json")
    assert banned.json() == {"user_id": user.json()["id"], "is_banned": True, "reason": "test"}
    lifted = run_cli("admin", "unban", "ops@example.com", "--json")
    assert lifted.json()["is_banned"] is False


def test_a_duplicate_user_is_a_conflict_with_exit_code_7(home: Path) -> None:
    assert run_cli("admin", "create-user", "a@example.com").exit_code == 0
    again = run_cli("admin", "create-user", "a@example.com", "--json")
    assert again.exit_code == 7
    assert again.error()["code"] == "ALREADY_EXISTS"


def test_keys_for_an_unknown_user_are_not_found(home: Path) -> None:
    result = run_cli("keys", "create", "ghost@example.com", "--json")
    assert result.exit_code == 3
    assert result.error()["code"] == "NOT_FOUND"


def test_banning_an_unknown_user_is_not_found(home: Path) -> None:
    assert run_cli("admin", "ban", "ghost", "--json").exit_code == 3
    assert run_cli("admin", "unban", "ghost", "--json").exit_code == 3


def test_serve_help_teaches_the_demo(home: Path) -> None:
    result = run_cli("serve", "--help")
    assert result.exit_code == 0
    assert "spell serve --demo" in result.stdout
    assert "SPELL_DATABASE_URL" in result.stdout


def test_a_garbage_setting_is_refused_with_its_name(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPELL_SERVER_WORKERS", "many")
    result = run_cli("db", "upgrade", "--json")
    assert result.exit_code == 6
    assert "SPELL_SERVER_WORKERS" in result.error()["message"]


def test_load_buttons_reports_each_entry_and_refuses_a_malformed_file(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "buttons.json"
    path.write_text(
        '{"buttons": [{"id": "b", "spell_id": "acme/none", "version": "1.0.0"}]}', encoding="utf-8"
    )
    result = run_cli("admin", "load-buttons", str(path), "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["failed"] == 1
    assert result.json()["buttons"]["b"].startswith("SPELL_NOT_FOUND")
    path.write_text("{}", encoding="utf-8")
    bad = run_cli("admin", "load-buttons", str(path), "--json")
    assert bad.exit_code == 6
    assert bad.error()["code"] == "VALIDATION_ERROR"


def test_tenant_bind_lets_an_issuers_org_reach_a_cli_tenant_once(home: Path) -> None:
    user = run_cli("admin", "create-user", "a@acme.test", "--tenant", "acme", "--json")
    assert run_cli("admin", "create-user", "b@other.test", "--tenant", "other").exit_code == 0
    args = ("--issuer", "https://id.example.com", "--org", "acme", "--json")
    bound = run_cli("admin", "tenant", "bind", "acme", *args)
    assert bound.exit_code == 0, bound.stderr
    assert bound.json() == {
        "tenant_id": user.json()["tenant_id"],
        "name": "acme",
        "issuer": "https://id.example.com",
        "org": "acme",
    }
    assert run_cli("admin", "tenant", "bind", user.json()["tenant_id"], *args).exit_code == 0  # idempotent
    taken = run_cli("admin", "tenant", "bind", "other", *args)
    assert taken.exit_code == 7
    assert taken.error()["code"] == "TENANT_ALREADY_BOUND"
    rebound = run_cli(
        "admin", "tenant", "bind", "acme", "--issuer", "https://x.example", "--org", "x", "--json"
    )
    assert rebound.error()["code"] == "TENANT_ALREADY_BOUND"
    missing = run_cli("admin", "tenant", "bind", "ghost", *args)
    assert missing.exit_code == 3
    assert missing.error()["code"] == "TENANT_NOT_FOUND"


def test_keys_create_follows_the_users_roles(home: Path) -> None:
    assert run_cli("admin", "create-user", "c@example.com", "--role", "caster").exit_code == 0
    default = run_cli("keys", "create", "c@example.com", "--json")
    assert default.json()["scopes"] == ["cast:invoke", "spell:read", "keys:manage"]
    for scope in ("spell:publish", "admin", "operator"):
        refused = run_cli("keys", "create", "c@example.com", "--scope", scope, "--json")
        assert refused.exit_code == 5
        assert refused.error()["code"] == "SCOPE_NOT_ALLOWED"
