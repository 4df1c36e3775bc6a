"""``spell admin credit``, ``spell ledger verify`` and ``spell audit verify`` on the embedded database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from spell.kit.time import utcnow
from spell.models import Publisher, Spell, Tenant
from spell.storage.engine import make_engine
from spell.storage.session import Database
from tests.cli.run_cli import run_cli


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SPELL_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SPELL_DATABASE_URL", raising=False)
    monkeypatch.setenv("SPELL_SERVER_SECRET_KEY", "cli-test-secret")
    assert run_cli("admin", "create-user", "alice@example.com").exit_code == 0
    return tmp_path / "home"


def test_credit_adds_to_the_wallet_once_per_reference(home: Path) -> None:
    first = run_cli("admin", "credit", "alice@example.com", "10.50", "--reference", "inv-1", "--json")
    assert first.exit_code == 0, first.stderr
    assert first.json()["balance"]["amount_micros"] == 10_500_000
    again = run_cli("admin", "credit", "alice@example.com", "10.50", "--reference", "inv-1", "--json")
    assert again.json()["balance"]["amount_micros"] == 10_500_000
    human = run_cli("admin", "credit", "alice@example.com", "1")
    assert "balance 11.50 USD" in human.stdout
    assert run_cli("audit", "verify", "--json").json()["records"] == 2  # one grant per reference


@pytest.mark.parametrize("amount", ["ten", "0", "0.0000001", "-5"])
def test_credit_refuses_amounts_that_are_not_positive_decimals(home: Path, amount: str) -> None:
    result = run_cli("admin", "credit", "--json", "--", "alice@example.com", amount)
    assert result.exit_code == 6
    assert result.error()["code"] == "VALIDATION_ERROR"


def test_credit_to_an_unknown_user_is_not_found(home: Path) -> None:
    assert run_cli("admin", "credit", "ghost@example.com", "1", "--json").exit_code == 3


def test_ledger_verify_passes_then_names_a_drifted_account(home: Path) -> None:
    run_cli("admin", "credit", "alice@example.com", "2")
    ok = run_cli("ledger", "verify", "--json")
    assert ok.exit_code == 0, ok.stderr
    assert ok.json() == {"ok": True, "accounts": 2, "drift": [], "unbalanced_transactions": []}
    assert "ledger ok" in run_cli("ledger", "verify").stdout
    with sqlite3.connect(home / "platform.db") as db:
        db.execute("UPDATE ledger_accounts SET balance_micros = balance_micros + 1 WHERE kind = 'wallet'")
    bad = run_cli("ledger", "verify", "--json")
    assert bad.exit_code == 4
    error = bad.error()
    assert error["code"] == "LEDGER_DRIFT"
    assert error["details"]["drift"][0]["kind"] == "wallet"


def test_audit_verify_names_the_first_edited_record(home: Path) -> None:
    for reference in ("a", "b", "c"):
        run_cli("admin", "credit", "alice@example.com", "1", "--reference", reference)
    ok = run_cli("audit", "verify", "--json")
    assert ok.exit_code == 0, ok.stderr
    assert ok.json()["records"] == 3
    assert "3 records" in run_cli("audit", "verify").stdout
    with sqlite3.connect(home / "platform.db") as db:
        db.execute("""UPDATE audit_records SET data = '{"amount_micros": 9}' WHERE seq = 2""")
    bad = run_cli("audit", "verify", "--json")
    assert bad.exit_code == 4
    assert (bad.error()["code"], bad.error()["details"]["seq"]) == ("AUDIT_CHAIN_BROKEN", 2)


def test_money_commands_teach_in_their_help(home: Path) -> None:
    for args in (("admin", "credit"), ("ledger", "verify"), ("audit", "verify")):
        result = run_cli(*args, "--help")
        assert result.exit_code == 0
        assert "Example" in result.stdout


def _in_grimoire(home: Path, spell_id: str) -> None:
    """A spell row in the embedded platform database, as publishing leaves it."""
    publisher, name = spell_id.split("/", 1)
    now = utcnow()
    db = Database(make_engine(f"sqlite:///{home / 'platform.db'}"))
    try:
        with db.unit_of_work() as uow:
            uow.session.add(Tenant(id=f"ten_{publisher}", name=publisher, created_at=now))
            uow.session.flush()
            uow.session.add(Publisher(name=publisher, tenant_id=f"ten_{publisher}", created_at=now))
            uow.session.flush()
            uow.session.add(
                Spell(
                    id=spell_id,
                    publisher=publisher,
                    tenant_id=f"ten_{publisher}",
                    name=name,
                    tags=[],
                    latest_version="1.0.0",
                    created_at=now,
                    updated_at=now,
                )
            )
    finally:
        db.dispose()


def test_revenue_share_is_set_in_basis_points_and_audited(home: Path) -> None:
    _in_grimoire(home, "acme/x")
    result = run_cli("admin", "revenue-share", "acme/x", "92.5", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json() == {"spell_id": "acme/x", "maker_share_bps": 9_250}
    assert "maker share 92.5 %" in run_cli("admin", "revenue-share", "acme/x", "92.5").stdout
    assert run_cli("audit", "verify", "--json").json()["records"] == 2  # one record per change


def test_revenue_share_of_a_spell_not_in_the_grimoire_is_not_found(home: Path) -> None:
    result = run_cli("admin", "revenue-share", "acme/ghost", "90", "--json")
    assert (result.exit_code, result.error()["code"]) == (3, "SPELL_NOT_FOUND")
    assert result.error()["details"] == {"spell_id": "acme/ghost"}
    assert run_cli("audit", "verify", "--json").json()["records"] == 0


@pytest.mark.parametrize("percent", ["abc", "100.5", "12.345"])
def test_revenue_share_refuses_bad_percentages(home: Path, percent: str) -> None:
    result = run_cli("admin", "revenue-share", "acme/x", percent, "--json")
    assert (result.exit_code, result.error()["code"]) == (6, "VALIDATION_ERROR")
