"""``spell db upgrade|current|history``: the migration state, and database errors as one line with a hint."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import pytest

from tests.cli.run_cli import run_cli, table_rows


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SPELL_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SPELL_DATABASE_URL", raising=False)
    return tmp_path / "home"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _one_line_error(result_stderr: str) -> tuple[str, str]:
    lines = result_stderr.splitlines()
    assert len(lines) == 2, result_stderr  # no traceback: the error and its hint
    assert lines[0].startswith("error: ")
    assert lines[1].startswith("hint: ")
    return lines[0], lines[1]


def test_current_says_behind_then_up_to_date(home: Path) -> None:
    before = run_cli("db", "current", "--json").json()
    assert before["current"] is None
    assert before["is_current"] is False
    assert "behind: run `spell db upgrade`" in run_cli("db", "current").stdout
    assert run_cli("db", "upgrade").exit_code == 0
    after = run_cli("db", "current", "--json").json()
    assert after["current"] == after["head"] == before["head"]
    assert after["is_current"] is True
    assert "(up to date)" in run_cli("db", "current").stdout


def test_history_lists_revisions_newest_first_and_marks_current_and_head(home: Path) -> None:
    run_cli("db", "upgrade", "--revision", "0001")
    rows = run_cli("db", "history", "--json").json()
    assert [r["revision"] for r in rows] == sorted((r["revision"] for r in rows), reverse=True)
    assert rows[-1] == {
        "revision": "0001",
        "down_revision": None,
        "message": rows[-1]["message"],
        "is_current": True,
        "is_head": False,
    }
    assert rows[0]["is_head"] is True
    assert [r["down_revision"] for r in rows[:-1]] == [r["revision"] for r in rows[1:]]
    shown = table_rows(run_cli("db", "history").stdout)
    assert shown[0] == ["revision", "down", "message"]
    assert shown[-1][:3] == ["0001", "-", "current"]


def test_an_unreachable_server_is_one_line_with_a_hint(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"postgresql+psycopg://spell:s3cret@127.0.0.1:{_closed_port()}/spell"
    monkeypatch.setenv("SPELL_DATABASE_URL", url)
    for verb in ("upgrade", "current", "history"):
        result = run_cli("db", verb)
        assert result.exit_code == 1
        error, hint = _one_line_error(result.stderr)
        assert "[DATABASE_UNAVAILABLE]" in error
        assert "s3cret" not in result.stderr
        assert "server running" in hint
    assert run_cli("db", "current", "--json").error()["code"] == "DATABASE_UNAVAILABLE"


@pytest.mark.parametrize("url", ["not a url", "mysqlx://db.example/spell"])
def test_a_wrong_url_is_one_line_with_a_hint(home: Path, monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("SPELL_DATABASE_URL", url)
    result = run_cli("db", "upgrade")
    assert result.exit_code == 6
    error, hint = _one_line_error(result.stderr)
    assert "not a database URL" in error
    assert "SPELL_DATABASE_URL" in hint
    assert run_cli("db", "current", "--json").error()["code"] == "VALIDATION_ERROR"


def test_a_missing_driver_names_what_to_install(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "SPELL_DATABASE_URL", "mysql+pymysql://spell@127.0.0.1/spell"
    )  # a driver Spell never ships
    result = run_cli("db", "upgrade", "--json")
    assert result.exit_code == 6
    assert result.error()["code"] == "VALIDATION_ERROR"
    assert result.error()["details"]["module"] == "pymysql"


def test_an_unknown_target_revision_is_a_migration_state_error(home: Path) -> None:
    result = run_cli("db", "upgrade", "--revision", "bogus")
    assert result.exit_code == 6
    error, hint = _one_line_error(result.stderr)
    assert "migration state" in error
    assert "bogus" in error
    assert "spell db history" in hint


def test_a_database_migrated_by_a_newer_spell_is_named_unknown(home: Path) -> None:
    run_cli("db", "upgrade")
    with sqlite3.connect(home / "platform.db") as db:
        db.execute("update alembic_version set version_num = '9999'")
    state = run_cli("db", "current", "--json").json()
    assert state["current"] == "9999"
    assert state["is_known"] is False
    assert "unknown to this Spell" in run_cli("db", "current").stdout
    result = run_cli("db", "upgrade")
    assert result.exit_code == 6
    assert "9999" in _one_line_error(result.stderr)[0]


def test_a_failing_migration_statement_is_one_line_with_a_hint(home: Path) -> None:
    home.mkdir(parents=True)
    with sqlite3.connect(home / "platform.db") as db:
        db.execute("create table tenants (id text)")  # made outside the migrations
    result = run_cli("db", "upgrade")
    assert result.exit_code == 1
    error, hint = _one_line_error(result.stderr)
    assert "a migration failed" in error
    assert "tenants" in error
    assert "[INTERNAL]" in error
    assert "last revision that completed" in hint
