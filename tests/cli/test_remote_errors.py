"""Remote commands that fail: one clear error line, the family's exit code, nothing half done."""

from __future__ import annotations

from pathlib import Path

import pytest

from spell.config.server import ServerSettings
from tests.api.test_rate_limit import LIMITER, PinnedClock
from tests.cli.remote_world import login, new_caster, new_maker, private_homes, publish, write_input
from tests.cli.run_cli import run_cli
from tests.client.live_server import LiveServer, expire_key, free_port
from tests.fixtures.live import database_backend, live
from tests.fixtures.server import seed_user

__all__ = ["database_backend", "live", "private_homes"]


def _error_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert lines, "nothing on stderr"
    assert not any(line.startswith("Traceback") for line in lines)
    assert lines[0].startswith("error: ")
    return lines[0]


def test_an_unreachable_server_is_one_line_and_exit_11(monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("SPELL_SERVER", url)
    monkeypatch.setenv("SPELL_API_KEY", "sk_live_x")
    result = run_cli("usage")
    assert result.exit_code == 11
    assert _error_line(result.stderr).startswith(f"error: cannot reach {url}")
    as_json = run_cli("casts", "list", "--json")
    assert as_json.exit_code == 11
    assert as_json.error()["code"] == "SERVER_UNREACHABLE"
    assert as_json.stdout == ""


def test_not_logged_in_is_an_auth_error() -> None:
    result = run_cli("budget", "show", "--json")
    assert result.exit_code == 8
    assert result.error()["code"] == "UNAUTHORIZED"


def test_a_wrong_key_is_exit_8(live: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPELL_SERVER", live.url)
    monkeypatch.setenv("SPELL_API_KEY", "sk_live_wrong")
    result = run_cli("keys", "list")
    assert result.exit_code == 8
    assert _error_line(result.stderr).endswith("[UNAUTHORIZED]")


def test_an_expired_key_is_exit_8(live: LiveServer) -> None:
    caster = seed_user(live.platform, "old@example.com", ["caster"])
    login(live, caster, "old")
    expire_key(live, caster)
    result = run_cli("earnings", "--profile", "old", "--json")
    assert result.exit_code == 8
    assert result.error()["code"] == "UNAUTHORIZED"


def test_no_credit_is_exit_9_insufficient_credits(live: LiveServer, tmp_path: Path) -> None:
    assert publish(new_maker(live, tmp_path)).exit_code == 0
    new_caster(live, micros=0)
    document = write_input(tmp_path, '"w:a.txt"')
    result = run_cli("cast", "acme/writer", "--remote", "--input", str(document), "--profile", "caster")
    assert result.exit_code == 9
    assert _error_line(result.stderr).endswith("[INSUFFICIENT_CREDITS]")
    assert result.stdout == ""


def test_a_budget_cap_is_exit_9_with_its_retry_after(live: LiveServer, tmp_path: Path) -> None:
    assert publish(new_maker(live, tmp_path)).exit_code == 0
    new_caster(live)
    assert run_cli("budget", "set", "--daily", "0.000001", "--profile", "caster").exit_code == 0
    document = write_input(tmp_path, '"w:a.txt"')
    result = run_cli("cast", "acme/writer", "--remote", "--input", str(document), "--profile", "caster")
    assert result.exit_code == 9
    line = _error_line(result.stderr)
    assert line.endswith("[BUDGET_CAP_EXCEEDED]")
    assert " (retry after " in line
    as_json = run_cli(
        "cast", "acme/writer", "--remote", "--input", str(document), "--profile", "caster", "--json"
    )
    assert 0 < as_json.error()["retry_after"] <= 86_400


def test_an_amount_that_is_not_a_decimal_is_refused_before_sending(live: LiveServer) -> None:
    new_caster(live)
    result = run_cli("budget", "set", "--daily", "ten", "--profile", "caster", "--json")
    assert result.exit_code == 6
    assert result.error()["code"] == "VALIDATION_ERROR"
    assert run_cli("budget", "set", "--daily", "-1", "--profile", "caster").exit_code == 6
    assert run_cli("budget", "set", "--currency", "usd", "--profile", "caster").exit_code == 6
    assert run_cli("budget", "show", "--profile", "caster", "--json").json()["caps"]["daily_micros"] is None


class TestRateLimited:
    @pytest.fixture(autouse=True)
    def clock(self, monkeypatch: pytest.MonkeyPatch) -> PinnedClock:
        pinned = PinnedClock()
        for module in ("limits.strategies", "limits.storage.memory", LIMITER):
            monkeypatch.setattr(f"{module}.time", pinned)
        return pinned

    @pytest.fixture
    def server_settings(self, tmp_path: Path, database_url: str) -> ServerSettings:
        """One cast a minute per key."""
        return ServerSettings.for_home(
            tmp_path / "home", database_url=database_url, secret_key="s", workers=2, rate_limit_per_minute=1
        )

    def test_a_429_is_exit_9_with_the_seconds_to_wait(self, live: LiveServer) -> None:
        new_caster(live, "busy@example.com", micros=0)
        first = run_cli("cast", "acme/missing", "--remote", "--profile", "caster")
        assert first.exit_code == 3  # counted before the spell is looked up
        result = run_cli("cast", "acme/missing", "--remote", "--profile", "caster")
        assert result.exit_code == 9
        assert _error_line(result.stderr).endswith("(retry after 30 s) [RATE_LIMITED]")
        as_json = run_cli("cast", "acme/missing", "--remote", "--profile", "caster", "--json")
        assert as_json.error()["retry_after"] == 30
