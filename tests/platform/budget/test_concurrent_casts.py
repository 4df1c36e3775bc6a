"""A thousand casts race for a monthly cap worth exactly a hundred: a hundred win, none overspends."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from spell.kit.money import Money
from spell.models.ledger import LedgerAccount, LedgerPosting
from spell.platform.budget.errors import BudgetCapExceeded
from spell.platform.ledger.service import LedgerService
from spell.storage.session import Database
from tests.platform.budget.helpers import budgets, fund, reserve, set_caps

PRICE = 1_000
CASTS = 1_000


def _cast(db: Database, index: int) -> str:
    """Reserve, then capture the full price: one cast's money path. Returns 'charged' or the error code."""
    cast_id = f"cast_{index:04d}"
    try:
        reserve(db, cast_id, PRICE)
    except BudgetCapExceeded as exc:
        return exc.code
    with db.unit_of_work() as uow:
        budgets().capture(uow, cast_id, Money(PRICE, "USD"))
    return "charged"


async def _race(db: Database, pool: ThreadPoolExecutor) -> list[str]:
    loop = asyncio.get_running_loop()
    # Odd casts come through the event loop (as async API handlers do), even ones from plain threads.
    sync_futures = [pool.submit(_cast, db, i) for i in range(0, CASTS, 2)]
    async_results = await asyncio.gather(
        *(loop.run_in_executor(pool, _cast, db, i) for i in range(1, CASTS, 2))
    )
    return [f.result() for f in sync_futures] + list(async_results)


def test_a_thousand_racing_casts_charge_exactly_the_cap(database: Database) -> None:
    fund(database, "usr_c", PRICE * CASTS)
    set_caps(database, "usr_c", monthly_micros=PRICE * 100)
    with ThreadPoolExecutor(max_workers=24) as pool:
        outcomes = asyncio.run(_race(database, pool))
    assert outcomes.count("charged") == 100
    assert outcomes.count("BUDGET_CAP_EXCEEDED") == 900
    with database.unit_of_work(write=False) as uow:
        ledger = LedgerService()
        ledger.verify(uow)
        assert uow.session.scalar(select(func.sum(LedgerPosting.amount_micros))) == 0
        negative = uow.session.scalar(
            select(func.count()).where(LedgerAccount.kind != "clearing", LedgerAccount.balance_micros < 0)
        )
        assert negative == 0
        assert ledger.balance(uow, "usr_c", "wallet", "USD").micros == PRICE * (CASTS - 100)
        assert ledger.balance(uow, "usr_m", "earnings", "USD").micros == PRICE * 100 * 8 // 10
        view = budgets().view(uow, "usr_c")
    monthly = next(w for w in view.windows if w.window == "monthly")
    assert (monthly.spent_micros, monthly.reserved_micros) == (PRICE * 100, 0)
