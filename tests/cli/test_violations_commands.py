"""``spell violations list`` and ``spell violations reinstate`` on the embedded SQLite database."""

from __future__ import annotations

from pathlib import Path

import pytest

from spell.cli.commands.admin._platform import open_platform
from spell.platform.abuse.service import Violation
from tests.cli.run_cli import run_cli


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SPELL_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SPELL_DATABASE_URL", raising=False)
    monkeypatch.setenv("SPELL_SERVER_SECRET_KEY", "cli-test-secret")
    monkeypatch.setenv("SPELL_ABUSE_SUSPEND_THRESHOLD", "2")
    return tmp_path / "home"


def _suspended_user(home: Path) -> str:
    created = run_cli("admin", "create-user", "caster@example.com", "--role", "caster", "--json")
    assert created.exit_code == 0, created.stderr
    user_id: str = created.json()["id"]
    with open_platform() as platform, platform.db.unit_of_work() as uow:
        for _ in range(2):
            platform.abuse.record(uow, Violation("rate_limit_storm", "user", user_id))
    return user_id


def test_list_then_reinstate_a_suspended_user_then_reinstating_again_is_a_conflict(home: Path) -> None:
    user_id = _suspended_user(home)

    listed = run_cli("violations", "list", "--subject-type", "user", "--json")
    assert listed.exit_code == 0, listed.stderr
    items = listed.json()["items"]
    assert [(v["kind"], v["subject_id"], v["suspended"]) for v in items] == [
        ("rate_limit_storm", user_id, True),
        ("rate_limit_storm", user_id, False),
    ]
    human = run_cli("violations", "list", "--kind", "rate_limit_storm")
    assert "SUSPENDED" in human.stdout

    lifted = run_cli("violations", "reinstate", "user", user_id, "--note", "false alarm", "--json")
    assert lifted.exit_code == 0, lifted.stderr
    assert lifted.json() == {"subject_type": "user", "subject_id": user_id, "cleared": 2}
    again = run_cli("violations", "reinstate", "user", user_id, "--json")
    assert again.exit_code == 7
    assert again.error()["code"] == "NOT_SUSPENDED"


def test_reinstating_an_unknown_spell_is_not_found(home: Path) -> None:
    result = run_cli("violations", "reinstate", "spell", "ghost/none", "--json")
    assert result.exit_code == 3
    assert result.error()["code"] == "SPELL_NOT_FOUND"


def test_a_since_that_is_no_time_is_a_validation_error(home: Path) -> None:
    result = run_cli("violations", "list", "--since", "yesterday", "--json")
    assert result.exit_code == 6
    assert result.error()["code"] == "VALIDATION_ERROR"


def test_an_empty_listing_says_so(home: Path) -> None:
    result = run_cli("violations", "list")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "no violations"
