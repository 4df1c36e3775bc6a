"""``spell retention run|status|hold|release`` on the embedded SQLite database."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from spell.cli.commands.admin._platform import open_platform
from spell.kit.time import utcnow
from spell.models import Cast
from tests.cli.run_cli import run_cli
from tests.platform.retention.helpers import ended_cast, seed_caster


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SPELL_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SPELL_DATABASE_URL", raising=False)
    monkeypatch.setenv("SPELL_SERVER_SECRET_KEY", "cli-test-secret")
    monkeypatch.setenv("SPELL_RETENTION_INPUT_DAYS", "10")
    return tmp_path / "home"


def _old_cast() -> tuple[str, str]:
    """A cast that ended 20 days ago; its id and its user's."""
    with open_platform() as platform:
        caster = seed_caster(platform, "lou")
        return ended_cast(platform, caster, utcnow() - timedelta(days=20)), caster.user_id


def _input(cast_id: str) -> object:
    with open_platform() as platform, platform.db.unit_of_work(write=False) as uow:
        row = uow.session.get(Cast, cast_id)
        assert row is not None
        return row.input


@pytest.mark.usefixtures("home")
def test_run_reduces_inputs_past_the_configured_period_and_the_audit_chain_stays_whole() -> None:
    cast_id, _ = _old_cast()
    dry = run_cli("retention", "run", "--dry-run", "--json")
    assert (dry.exit_code, dry.json()["dry_run"], dry.json()["inputs_reduced"]) == (0, True, 1)
    assert _input(cast_id) == {"secret": "the caster's words", "n": 1}

    ran = run_cli("retention", "run")
    assert ran.exit_code == 0, ran.stderr
    assert "1 inputs reduced to their digest" in ran.stdout
    assert "spell: inputs: 1" in ran.stderr  # the progress line
    assert str(_input(cast_id)).startswith("sha256:")

    status = run_cli("retention", "status", "--json").json()
    assert status["periods"]["input_days"] == 10
    assert status["last_run"]["inputs_reduced"] == 1
    assert run_cli("audit", "verify", "--json").json()["ok"] is True
    assert run_cli("ledger", "verify", "--json").exit_code == 0


@pytest.mark.usefixtures("home")
def test_a_held_user_is_left_alone_until_released() -> None:
    cast_id, user_id = _old_cast()
    held = run_cli("retention", "hold", "user", user_id, "--reason", "case 4", "--json")
    assert held.json() == {"kind": "user", "id": user_id, "legal_hold": True, "reason": "case 4"}
    assert run_cli("retention", "run", "--json").json()["inputs_reduced"] == 0
    assert run_cli("retention", "release", "user", user_id, "--json").json()["legal_hold"] is False
    assert run_cli("retention", "run", "--json").json()["inputs_reduced"] == 1
    assert str(_input(cast_id)).startswith("sha256:")


@pytest.mark.usefixtures("home")
def test_holding_an_unknown_tenant_exits_3_with_the_code() -> None:
    result = run_cli("retention", "hold", "tenant", "ten_nobody", "--reason", "x", "--json")
    assert result.exit_code == 3
    assert result.error()["code"] == "LEGAL_HOLD_TARGET_NOT_FOUND"
    released = run_cli("retention", "release", "user", "usr_nobody", "--json")
    assert (released.exit_code, released.error()["code"]) == (3, "LEGAL_HOLD_TARGET_NOT_FOUND")
