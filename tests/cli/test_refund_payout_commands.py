"""``spell refunds`` and ``spell payouts`` on the embedded database, with ``spell ledger verify`` after."""

from __future__ import annotations

from pathlib import Path

import pytest

from spell.kit.money import Money
from spell.kit.time import utcnow
from spell.models import Publisher, Tenant
from spell.platform.ledger.service import LedgerService
from spell.storage.engine import make_engine
from spell.storage.session import Database
from tests.cli.run_cli import run_cli
from tests.platform.budget.helpers import budgets


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SPELL_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SPELL_DATABASE_URL", raising=False)
    monkeypatch.setenv("SPELL_SERVER_SECRET_KEY", "cli-test-secret")
    return tmp_path / "home"


@pytest.fixture
def caster(home: Path) -> str:
    """Alice, charged 1.00 for one cast of acme's spell (acme earns 0.80)."""
    created = run_cli("admin", "create-user", "alice@example.com", "--json")
    assert created.exit_code == 0, created.stderr
    alice: str = created.json()["id"]
    assert run_cli("admin", "credit", "alice@example.com", "5").exit_code == 0
    db = Database(make_engine(f"sqlite:///{home / 'platform.db'}"))
    try:
        with db.unit_of_work() as uow:
            uow.session.add(Tenant(id="ten_acme", name="acme-maker", created_at=utcnow()))
            uow.session.flush()
            uow.session.add(Publisher(name="acme", tenant_id="ten_acme", created_at=utcnow()))
        with db.unit_of_work() as uow:
            service = budgets()
            service.reserve(
                uow,
                cast_id="cast_cli",
                caster_id=alice,
                spell_id="acme/x",
                maker_id="ten_acme",
                estimate=Money(1_000_000, "USD"),
                maker_share_bps=8_000,
            )
        with db.unit_of_work() as uow:
            budgets().capture(uow, "cast_cli", Money(1_000_000, "USD"))
    finally:
        db.dispose()
    return alice


def _wallet(home: Path, owner: str, kind: str = "wallet") -> int:
    db = Database(make_engine(f"sqlite:///{home / 'platform.db'}"))
    try:
        with db.unit_of_work(write=False) as uow:
            return LedgerService().balance(uow, owner, kind, "USD").micros
    finally:
        db.dispose()


def test_a_refund_is_reflected_in_the_ledger_and_verify_passes(home: Path, caster: str) -> None:
    part = run_cli(
        "refunds", "create", "--cast", "cast_cli", "--amount", "0.25", "--reason", "slow", "--json"
    )
    assert part.exit_code == 0, part.stderr
    assert (part.json()["amount_micros"], part.json()["maker_micros"], part.json()["replay"]) == (
        250_000,
        200_000,
        False,
    )
    again = run_cli(
        "refunds", "create", "--cast", "cast_cli", "--amount", "0.25", "--reason", "slow", "--json"
    )
    assert again.exit_code == 0, again.stderr
    assert again.json()["id"] == part.json()["id"]  # the same command replays, never refunds twice
    human = run_cli("refunds", "create", "--cast", "cast_cli", "--amount", "0.25", "--reason", "slow")
    assert "already refunded" in human.stdout
    other = run_cli(
        "refunds", "create", "--cast", "cast_cli", "--amount", "0.25", "--reason", "other", "--json"
    )
    assert (other.exit_code, other.error()["code"]) == (7, "IDEMPOTENCY_CONFLICT")
    assert _wallet(home, caster) == 4_250_000
    assert "refunded" in run_cli("refunds", "create", "--cast", "cast_cli").stdout  # the rest
    assert _wallet(home, caster) == 5_000_000
    verified = run_cli("ledger", "verify", "--json")
    assert verified.exit_code == 0, verified.stderr
    assert verified.json()["ok"] is True
    assert run_cli("audit", "verify", "--json").exit_code == 0
    listed = run_cli("refunds", "list", "--cast", "cast_cli", "--json").json()["items"]
    assert [r["amount_micros"] for r in listed] == [750_000, 250_000]
    assert "cast_cli" in run_cli("refunds", "list").stdout


def test_refund_refusals_exit_with_their_codes(home: Path, caster: str) -> None:
    cases = [
        (("--cast", "cast_cli", "--amount", "2"), 6, "REFUND_EXCEEDS_CHARGE"),
        (("--cast", "cast_nope"), 3, "CHARGE_NOT_FOUND"),
        (("--amount", "1"), 6, "VALIDATION_ERROR"),
        (("--cast", "cast_cli", "--amount", "ten"), 6, "VALIDATION_ERROR"),
    ]
    for args, exit_code, code in cases:
        result = run_cli("refunds", "create", *args, "--json")
        assert (result.exit_code, result.error()["code"]) == (exit_code, code), args
    assert run_cli("refunds", "create", "--cast", "cast_cli", "--json").exit_code == 0
    twice = run_cli("refunds", "create", "--cast", "cast_cli", "--key", "other", "--json")
    assert (twice.exit_code, twice.error()["code"]) == (7, "ALREADY_REFUNDED")


def test_payouts_run_records_a_manual_payout_then_nothing_is_owed(home: Path, caster: str) -> None:
    dry = run_cli("payouts", "run", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.stderr
    assert [(o["maker_id"], o["publisher"], o["amount_micros"]) for o in dry.json()["owed"]] == [
        ("ten_acme", "acme", 800_000)
    ]
    assert "acme" in run_cli("payouts", "run", "--dry-run").stdout
    paid = run_cli("payouts", "run", "--publisher", "acme", "--json")
    assert paid.exit_code == 0, paid.stderr
    assert [(p["method"], p["amount_micros"]) for p in paid.json()["payouts"]] == [("manual", 800_000)]
    assert (_wallet(home, "ten_acme", "earnings"), _wallet(home, "ten_acme", "payouts")) == (0, 800_000)
    nothing = run_cli("payouts", "run", "--publisher", "acme", "--json")
    assert (nothing.exit_code, nothing.error()["code"]) == (7, "NOTHING_OWED")
    assert "nothing owed" in run_cli("payouts", "run").stdout
    assert run_cli("ledger", "verify", "--json").exit_code == 0


def test_payouts_account_sets_and_clears_the_connected_account(home: Path, caster: str) -> None:
    set_ = run_cli("payouts", "account", "acme", "acct_123abc", "--json")
    assert set_.json() == {"publisher": "acme", "stripe_account_id": "acct_123abc"}
    assert "manual payment" in run_cli("payouts", "account", "acme").stdout
    bad = run_cli("payouts", "account", "acme", "not-an-account", "--json")
    assert (bad.exit_code, bad.error()["code"]) == (6, "VALIDATION_ERROR")
    missing = run_cli("payouts", "account", "ghost", "acct_1", "--json")
    assert (missing.exit_code, missing.error()["code"]) == (3, "PUBLISHER_NOT_FOUND")


def test_refund_and_payout_commands_teach_in_their_help(home: Path) -> None:
    for args in (("refunds", "create"), ("refunds", "list"), ("payouts", "run"), ("payouts", "account")):
        result = run_cli(*args, "--help")
        assert result.exit_code == 0
        assert "Example" in result.stdout
