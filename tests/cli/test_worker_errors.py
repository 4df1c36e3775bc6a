"""`spell worker` and `spell serve --no-workers` refuse the in-process queue, naming what to set."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.run_cli import run_cli


@pytest.fixture(autouse=True)
def no_shared_queue(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SPELL_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SPELL_QUEUE_URL", raising=False)
    monkeypatch.delenv("SPELL_SERVER_QUEUE_URL", raising=False)
    monkeypatch.delenv("SPELL_SERVER_RUN_WORKERS", raising=False)


def test_a_worker_without_a_shared_queue_is_refused_naming_spell_queue_url() -> None:
    result = run_cli("worker", "--json")
    assert result.exit_code == 6
    error = result.error()
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"] == {"variable": "SPELL_QUEUE_URL"}
    assert result.stdout == ""  # never ready


def test_an_api_only_server_without_a_shared_queue_is_refused() -> None:
    result = run_cli("serve", "--no-workers", "--port", "1")
    assert result.exit_code == 6
    assert "[VALIDATION_ERROR]" in result.stderr
    assert "SPELL_QUEUE_URL=" in result.stderr  # the hint says what to set


def test_run_workers_off_in_the_environment_is_refused_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPELL_SERVER_RUN_WORKERS", "false")
    result = run_cli("serve", "--port", "1")
    assert result.exit_code == 6
    assert "[VALIDATION_ERROR]" in result.stderr


def test_a_bad_queue_name_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPELL_QUEUE_URL", "nats://127.0.0.1:9")
    monkeypatch.setenv("SPELL_SERVER_QUEUE_NAME", "two words")
    result = run_cli("worker", "--json")
    assert result.exit_code == 6
    assert result.error()["details"] == {"variable": "SPELL_SERVER_QUEUE_NAME"}


def test_a_worker_whose_broker_does_not_answer_at_start_exits_overloaded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SPELL_QUEUE_URL", "nats://127.0.0.1:9")
    result = run_cli("worker", "--json")
    assert result.exit_code == 1
    assert result.error()["code"] == "OVERLOADED"
