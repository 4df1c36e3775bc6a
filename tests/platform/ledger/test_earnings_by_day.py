"""A maker's earnings per UTC day (the console's earnings chart), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from spell.errors import InvalidInput
from spell.kit.clock import FakeClock
from spell.models.budget import Hold
from spell.platform.ledger.service import LedgerService
from spell.storage.session import Database


@pytest.fixture
def database(rolled_back_database: Database) -> Database:
    """Each test in one transaction rolled back at its end."""
    return rolled_back_database


def _hold(
    db: Database,
    cast_id: str,
    settled_at: datetime,
    micros: int,
    *,
    maker: str = "ten_m",
    status: str = "captured",
) -> None:
    with db.unit_of_work() as uow:
        uow.session.add(
            Hold(
                cast_id=cast_id,
                caster_id="usr_c",
                spell_id="acme/x",
                maker_id=maker,
                currency="USD",
                amount_micros=micros,
                captured_micros=micros,
                maker_share_bps=8_000,
                status=status,
                day_start=settled_at,
                month_start=settled_at,
                created_at=settled_at,
                settled_at=settled_at,
            )
        )


def test_earnings_per_day_are_the_makers_share_of_captured_charges_in_the_last_30_days(
    database: Database,
) -> None:
    clock = FakeClock(datetime(2026, 11, 23, 12, tzinfo=UTC))
    _hold(database, "cast_old", datetime(2026, 10, 20, tzinfo=UTC), 1_000)  # before the range
    _hold(database, "cast_a", datetime(2026, 11, 20, 1, tzinfo=UTC), 1_000)
    _hold(database, "cast_b", datetime(2026, 11, 20, 23, tzinfo=UTC), 2_001)
    _hold(database, "cast_c", datetime(2026, 11, 22, tzinfo=UTC), 500)
    _hold(database, "cast_refunded", datetime(2026, 11, 22, tzinfo=UTC), 9_000, status="refunded")
    _hold(database, "cast_other", datetime(2026, 11, 22, tzinfo=UTC), 9_000, maker="ten_x")
    ledger = LedgerService(clock=clock)
    with database.unit_of_work(write=False) as uow:
        report = ledger.earnings_by_day(uow, "ten_m")
    assert report.model_dump(by_alias=True, exclude_none=True) == {
        "from": "2026-10-24T12:00:00.000Z",
        "to": "2026-11-23T12:00:00.000Z",
        "group_by": "day",
        "items": [
            {"day": "2026-11-20", "currency": "USD", "amount_micros": 800 + 1_600, "casts": 2},
            {"day": "2026-11-22", "currency": "USD", "amount_micros": 400, "casts": 1},
        ],
    }


def test_earnings_per_day_refuse_a_range_that_ends_before_it_starts(database: Database) -> None:
    start = datetime(2026, 11, 2, tzinfo=UTC)
    with pytest.raises(InvalidInput) as exc, database.unit_of_work(write=False) as uow:
        LedgerService().earnings_by_day(uow, "ten_m", start=start, end=start)
    assert exc.value.code == "VALIDATION_ERROR"
