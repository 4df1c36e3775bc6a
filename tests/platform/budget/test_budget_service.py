"""Caps, reservations and exactly-once settlement of holds, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from spell.errors import CastNotFound, InvalidInput
from spell.kit.money import Money
from spell.platform.audit.service import AuditService
from spell.platform.budget.errors import BudgetCapExceeded
from spell.platform.budget.schemas import BudgetCaps
from spell.platform.budget.windows import seconds_to_reset, window_start
from spell.platform.ledger.errors import InsufficientCredits
from spell.platform.ledger.service import PLATFORM, LedgerService
from spell.storage.session import Database
from tests.platform.budget.helpers import budgets, fund, reserve, set_caps


@pytest.fixture
def database(rolled_back_database: Database) -> Database:
    """Each test in one transaction rolled back at its end (several times faster than a database of its
    own): the service runs on one thread here; races between committing transactions are
    tests/platform/budget/test_concurrent_casts.py's."""
    return rolled_back_database


def _balances(db: Database) -> dict[str, int]:
    with db.unit_of_work(write=False) as uow:
        ledger = LedgerService()
        ledger.verify(uow)
        return {
            "wallet": ledger.balance(uow, "usr_c", "wallet", "USD").micros,
            "holds": ledger.balance(uow, "usr_c", "holds", "USD").micros,
            "earnings": ledger.balance(uow, "usr_m", "earnings", "USD").micros,
            "revenue": ledger.balance(uow, PLATFORM, "revenue", "USD").micros,
        }


def _view(db: Database) -> dict[str, tuple[int, int]]:
    with db.unit_of_work(write=False) as uow:
        view = budgets().view(uow, "usr_c")
    return {w.window: (w.spent_micros, w.reserved_micros) for w in view.windows}


def test_reserve_moves_the_estimate_from_wallet_to_holds(database: Database) -> None:
    fund(database, "usr_c", 1_000)
    reserve(database, "cast_1", 300)
    assert _balances(database) == {"wallet": 700, "holds": 300, "earnings": 0, "revenue": 0}
    assert _view(database)["monthly"] == (0, 300)


def test_capture_charges_splits_and_releases_the_rest_exactly_once(database: Database) -> None:
    fund(database, "usr_c", 1_000)
    reserve(database, "cast_1", 300)
    for attempt in range(3):
        with database.unit_of_work() as uow:
            result = budgets().capture(uow, "cast_1", Money(101, "USD"))
        assert result.applied is (attempt == 0)
        assert result.charged.micros == 101
    assert _balances(database) == {"wallet": 899, "holds": 0, "earnings": 80, "revenue": 21}
    assert _view(database)["daily"] == (101, 0)


def test_capture_never_takes_more_than_the_hold(database: Database) -> None:
    fund(database, "usr_c", 1_000)
    reserve(database, "cast_1", 300)
    with database.unit_of_work() as uow:
        assert budgets().capture(uow, "cast_1", Money(10_000, "USD")).charged.micros == 300
    assert _balances(database)["wallet"] == 700


def test_release_gives_everything_back_and_blocks_a_later_capture(database: Database) -> None:
    fund(database, "usr_c", 1_000)
    reserve(database, "cast_1", 300)
    with database.unit_of_work() as uow:
        assert budgets().release(uow, "cast_1", reason="aborted").applied
    with database.unit_of_work() as uow:
        service = budgets()
        assert not service.capture(uow, "cast_1", Money(300, "USD")).applied
        assert not service.release(uow, "cast_1", reason="again").applied
    assert _balances(database) == {"wallet": 1_000, "holds": 0, "earnings": 0, "revenue": 0}
    assert _view(database)["total"] == (0, 0)


def test_refund_reverses_a_capture_once(database: Database) -> None:
    fund(database, "usr_c", 1_000)
    reserve(database, "cast_1", 300)
    with database.unit_of_work() as uow:
        budgets().capture(uow, "cast_1", Money(200, "USD"))
    for attempt in range(2):
        with database.unit_of_work() as uow:
            assert budgets().refund(uow, "cast_1", reason="platform_fault").applied is (attempt == 0)
    assert _balances(database) == {"wallet": 1_000, "holds": 0, "earnings": 0, "revenue": 0}
    assert _view(database)["monthly"] == (0, 0)


def test_settling_an_unknown_cast_is_not_found(database: Database) -> None:
    with pytest.raises(CastNotFound) as exc, database.unit_of_work() as uow:
        budgets().capture(uow, "cast_nope", Money(1, "USD"))
    assert exc.value.code == "CAST_NOT_FOUND"


def test_insufficient_credits_refuses_and_writes_nothing(database: Database) -> None:
    fund(database, "usr_c", 100)
    with pytest.raises(InsufficientCredits) as exc:
        reserve(database, "cast_1", 101)
    assert exc.value.status_code == 402
    assert _balances(database)["wallet"] == 100
    with database.unit_of_work(write=False) as uow:
        assert budgets().hold(uow, "cast_1") is None


def test_a_cap_refuses_with_its_window_totals_and_reset_time(database: Database) -> None:
    fund(database, "usr_c", 10_000)
    set_caps(database, "usr_c", daily_micros=500)
    reserve(database, "cast_1", 300)
    with pytest.raises(BudgetCapExceeded) as exc:
        reserve(database, "cast_2", 201)
    error = exc.value
    assert error.code == "BUDGET_CAP_EXCEEDED"
    assert error.details == {
        "cap": 500,
        "window": "daily",
        "spent": 0,
        "reserved": 300,
        "estimate": 201,
        "currency": "USD",
    }
    assert error.retry_after == 6 * 3600 + 30 * 60
    reserve(database, "cast_3", 200)


@pytest.mark.parametrize(
    ("caps", "window"),
    [
        ({"per_cast_micros": 10}, "per_cast"),
        ({"monthly_micros": 10}, "monthly"),
        ({"total_micros": 10}, "total"),
    ],
)
def test_every_kind_of_cap_is_enforced(database: Database, caps: dict[str, int], window: str) -> None:
    fund(database, "usr_c", 10_000)
    set_caps(database, "usr_c", **caps)
    with pytest.raises(BudgetCapExceeded) as exc:
        reserve(database, "cast_1", 11)
    assert exc.value.details["window"] == window
    assert (exc.value.retry_after is None) is (window in ("per_cast", "total"))


def test_captured_spend_counts_against_the_cap(database: Database) -> None:
    fund(database, "usr_c", 10_000)
    set_caps(database, "usr_c", monthly_micros=100)
    reserve(database, "cast_1", 100)
    with database.unit_of_work() as uow:
        budgets().capture(uow, "cast_1", Money(60, "USD"))
    with pytest.raises(BudgetCapExceeded) as exc:
        reserve(database, "cast_2", 41)
    assert (exc.value.details["spent"], exc.value.details["reserved"]) == (60, 0)
    reserve(database, "cast_3", 40)


def test_a_spell_in_another_currency_than_the_budget_is_refused(database: Database) -> None:
    set_caps(database, "usr_c", monthly_micros=100)
    with pytest.raises(InvalidInput) as exc:
        reserve(database, "cast_1", 1, currency="EUR")
    assert exc.value.details == {"budget_currency": "USD", "spell_currency": "EUR"}


def test_the_budget_currency_is_fixed_while_money_is_held(database: Database) -> None:
    fund(database, "usr_c", 100)
    reserve(database, "cast_1", 10)
    with pytest.raises(InvalidInput), database.unit_of_work() as uow:
        budgets().set_caps(uow, "usr_c", BudgetCaps(currency="EUR"))
    with database.unit_of_work() as uow:
        service = budgets()
        assert service.set_caps(uow, "usr_c", BudgetCaps(daily_micros=5)).caps.daily_micros == 5
        assert service.caps(uow, "usr_nobody") == BudgetCaps()


def test_windows_are_utc_days_months_and_all_time() -> None:
    moment = datetime(2026, 12, 31, 23, 59, 59, 500_000, tzinfo=UTC)
    assert window_start("daily", moment) == datetime(2026, 12, 31, tzinfo=UTC)
    assert window_start("monthly", moment) == datetime(2026, 12, 1, tzinfo=UTC)
    assert window_start("total", moment).year == 1970
    assert seconds_to_reset("daily", moment) == 1
    assert seconds_to_reset("monthly", moment) == 1
    assert seconds_to_reset("monthly", datetime(2026, 2, 1, tzinfo=UTC)) == 28 * 86_400
    assert seconds_to_reset("total", moment) is None
    with pytest.raises(ValueError, match="window"):
        window_start("weekly", moment)


def test_a_change_of_caps_is_audited_and_a_refused_one_leaves_no_record(database: Database) -> None:
    with database.unit_of_work() as uow:
        budgets().set_caps(uow, "usr_c", BudgetCaps(daily_micros=5), tenant_id="ten_c")
    fund(database, "usr_c", 100)
    reserve(database, "cast_1", 1)
    with pytest.raises(InvalidInput), database.unit_of_work() as uow:  # money is held: no new currency
        budgets().set_caps(uow, "usr_c", BudgetCaps(currency="EUR"), tenant_id="ten_c")
    with database.unit_of_work(write=False) as uow:
        audit = AuditService()
        audit.verify(uow)
        records = audit.list(uow, action="budget.changed")
    assert [(r.actor_id, r.tenant_id, r.subject, r.data["daily_micros"]) for r in records] == [
        ("usr_c", "ten_c", "usr_c", 5)
    ]
