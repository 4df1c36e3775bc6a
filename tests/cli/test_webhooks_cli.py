"""``spell webhooks endpoints add|list|remove``, ``deliveries`` and ``redeliver`` on the embedded database."""

from __future__ import annotations

from pathlib import Path

import pytest

from spell.cli.commands.admin._platform import open_platform
from tests.cli.run_cli import run_cli, table_rows

HOOK = "http://127.0.0.1:9/hook"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SPELL_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SPELL_DATABASE_URL", raising=False)
    monkeypatch.setenv("SPELL_SERVER_SECRET_KEY", "cli-test-secret")
    monkeypatch.setenv("SPELL_SERVER_ALLOW_PRIVATE_WEBHOOKS", "1")
    return tmp_path / "home"


def _tenant() -> str:
    created = run_cli("admin", "create-user", "ops@example.com", "--tenant", "acme", "--json")
    assert created.exit_code == 0, created.stderr
    with open_platform() as platform, platform.db.unit_of_work(write=False) as uow:
        tenant_id: str = platform.auth.find_tenant(uow, "acme").id
        return tenant_id


def test_an_operator_adds_lists_and_removes_a_tenants_endpoint(home: Path) -> None:
    tenant_id = _tenant()
    added = run_cli("webhooks", "endpoints", "add", "acme", HOOK, "--event", "cast.failed", "--json")
    assert added.exit_code == 0, added.stderr
    endpoint = added.json()
    assert (endpoint["tenant_id"], endpoint["url"], endpoint["events"]) == (tenant_id, HOOK, ["cast.failed"])
    assert endpoint["secret"].startswith("whsec_")
    listed = run_cli("webhooks", "endpoints", "list", tenant_id, "--json").json()["items"]
    assert [e["id"] for e in listed] == [endpoint["id"]]
    assert "secret" not in listed[0]
    table = table_rows(run_cli("webhooks", "endpoints", "list", "acme").stdout)
    assert table[0] == ["ID", "URL", "EVENTS", "CREATED"]
    assert table[1][:3] == [endpoint["id"], HOOK, "cast.failed"]
    assert run_cli("webhooks", "endpoints", "remove", "acme", endpoint["id"]).exit_code == 0
    assert run_cli("webhooks", "endpoints", "list", "acme", "--json").json()["items"] == []
    again = run_cli("webhooks", "endpoints", "remove", "acme", endpoint["id"], "--json")
    assert again.exit_code != 0
    assert again.error()["code"] == "WEBHOOK_ENDPOINT_NOT_FOUND"


def test_an_unknown_tenant_or_event_is_refused_with_its_code(home: Path) -> None:
    _tenant()
    missing = run_cli("webhooks", "endpoints", "add", "nobody", HOOK, "--json")
    assert missing.error()["code"] == "TENANT_NOT_FOUND"
    bad = run_cli("webhooks", "endpoints", "add", "acme", HOOK, "--event", "cast.exploded", "--json")
    assert bad.error()["code"] == "VALIDATION_ERROR"


def test_an_operator_reads_the_delivery_log_and_redelivers(home: Path) -> None:
    tenant_id = _tenant()
    assert run_cli("webhooks", "endpoints", "add", "acme", HOOK, "--json").exit_code == 0
    with open_platform() as platform, platform.db.unit_of_work() as uow:
        (delivery_id,) = platform.webhooks.emit(uow, tenant_id, "cast.refunded", {"id": "cast_1"})
    log = run_cli("webhooks", "deliveries", "--tenant", "acme", "--json").json()
    ((shown,), cursor) = log["items"], log["next_cursor"]
    assert cursor is None
    assert (shown["id"], shown["event_type"], shown["status"], shown["attempts"]) == (
        delivery_id,
        "cast.refunded",
        "pending",
        [],
    )
    assert run_cli("webhooks", "deliveries", "--status", "failed", "--json").json()["items"] == []
    table = table_rows(run_cli("webhooks", "deliveries").stdout)
    assert table[1][:3] == [delivery_id, "cast.refunded", "pending"]
    redone = run_cli("webhooks", "redeliver", delivery_id, "--json")
    assert redone.exit_code == 0, redone.stderr
    assert (redone.json()["id"], redone.json()["status"]) == (delivery_id, "pending")
    missing = run_cli("webhooks", "redeliver", "msg_nothing", "--json")
    assert missing.error()["code"] == "WEBHOOK_DELIVERY_NOT_FOUND"
