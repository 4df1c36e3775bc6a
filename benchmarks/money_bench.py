"""Money benchmark: reservation + capture latency on an empty ledger vs one seeded with 1 000 000 entries.

Run: .venv/bin/python benchmarks/money_bench.py [--entries N] [--cycles N] [--backend sqlite|postgresql|both]

One cycle is what every paid cast does: a write unit of work that reserves the estimate against the
caster's monthly cap and wallet (budget row lock, window totals, guarded wallet debit, hold, ledger
transaction), then a second one that captures the charge, splits it and releases the rest.
Both databases are measured in the same run, cycles interleaved, so machine noise hits both alike.
The seeded database holds ``--entries`` ledger postings (half of them on the measured caster's own
accounts), their transactions, and a hold per seeded cast. Target: seeded / empty median <= 1.2.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from _scratch import scratch_database
from sqlalchemy import insert, text

from spell.kit.money import Money
from spell.kit.time import utcnow
from spell.models.budget import Hold
from spell.models.ledger import LedgerPosting, LedgerTransaction
from spell.platform.audit.service import AuditService
from spell.platform.budget.schemas import BudgetCaps
from spell.platform.budget.service import BudgetService
from spell.platform.ledger.service import PLATFORM, LedgerService
from spell.storage.session import Database

CASTER, MAKER, PRICE = "usr_bench", "ten_maker", 1_000
CHUNK = 50_000
LEDGER = LedgerService()
BUDGETS = BudgetService(LEDGER, AuditService())


def _prepare(db: Database) -> None:
    with db.unit_of_work() as uow:
        LEDGER.credit(uow, CASTER, Money(10**15, "USD"), idempotency_key="bench:fund", memo={})
        BUDGETS.set_caps(uow, CASTER, BudgetCaps(monthly_micros=10**14, daily_micros=10**14))


def _seed(db: Database, entries: int) -> float:
    """Append ``entries`` postings (pairs of transfer legs), keeping running balances consistent."""
    started = time.perf_counter()
    with db.unit_of_work() as uow:
        accounts, session = LEDGER.repo, uow.session
        wallet = accounts.account_id(session, CASTER, "wallet", "USD")
        holds = accounts.account_id(session, CASTER, "holds", "USD")
        other = accounts.account_id(session, "usr_seed", "holds", "USD")
        revenue = accounts.account_id(session, PLATFORM, "revenue", "USD")
    now = utcnow() - timedelta(days=40)  # last month: the measured windows stay small
    pairs = entries // 2
    moved: dict[str, int] = {wallet: 0, holds: 0, other: 0, revenue: 0}
    for start in range(0, pairs, CHUNK):
        txns: list[dict[str, Any]] = []
        postings: list[dict[str, Any]] = []
        holds_rows: list[dict[str, Any]] = []
        for i in range(start, min(start + CHUNK, pairs)):
            txn_id = f"txn_seed{i:010d}"
            mine = i % 2 == 0
            # Half the history is the measured caster's own: wallet -> holds; the rest holds -> revenue.
            source, sink = (wallet, holds) if mine else (other, revenue)
            moved[source] -= 1
            moved[sink] += 1
            txns.append(
                {
                    "id": txn_id,
                    "idempotency_key": f"seed:{i}",
                    "kind": "seed",
                    "cast_id": f"cast_seed{i}",
                    "currency": "USD",
                    "memo": {},
                    "created_at": now,
                }
            )
            postings.append(
                {"transaction_id": txn_id, "account_id": sink, "amount_micros": 1, "created_at": now}
            )
            postings.append(
                {"transaction_id": txn_id, "account_id": source, "amount_micros": -1, "created_at": now}
            )
            holds_rows.append(
                {
                    "cast_id": f"cast_seed{i}",
                    "caster_id": CASTER if mine else "usr_seed",
                    "spell_id": "acme/seed",
                    "maker_id": MAKER,
                    "currency": "USD",
                    "amount_micros": 1,
                    "captured_micros": 1,
                    "maker_share_bps": 8000,
                    "status": "captured",
                    "day_start": now,
                    "month_start": now,
                    "created_at": now,
                    "settled_at": now,
                }
            )
        with db.unit_of_work() as uow:
            uow.session.execute(insert(LedgerTransaction), txns)
            uow.session.execute(insert(LedgerPosting), postings)
            uow.session.execute(insert(Hold), holds_rows)
    with db.unit_of_work() as uow:  # balances follow the seeded postings, so `ledger verify` stays green
        # The seeded "other" account is credited first so it never dips below zero.
        moved[other] += pairs
        moved[revenue] -= pairs
        uow.session.execute(
            insert(LedgerTransaction),
            [
                {
                    "id": "txn_seedfund",
                    "idempotency_key": "seed:fund",
                    "kind": "seed",
                    "cast_id": None,
                    "currency": "USD",
                    "memo": {},
                    "created_at": now,
                }
            ],
        )
        uow.session.execute(
            insert(LedgerPosting),
            [
                {
                    "transaction_id": "txn_seedfund",
                    "account_id": other,
                    "amount_micros": pairs,
                    "created_at": now,
                },
                {
                    "transaction_id": "txn_seedfund",
                    "account_id": revenue,
                    "amount_micros": -pairs,
                    "created_at": now,
                },
            ],
        )
        for account_id, delta in moved.items():
            uow.session.execute(
                text("UPDATE ledger_accounts SET balance_micros = balance_micros + :d WHERE id = :id"),
                {"d": delta, "id": account_id},
            )
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    return time.perf_counter() - started


def _cycle(db: Database, cast_id: str) -> float:
    started = time.perf_counter()
    with db.unit_of_work() as uow:
        BUDGETS.reserve(
            uow,
            cast_id=cast_id,
            caster_id=CASTER,
            spell_id="acme/bench",
            maker_id=MAKER,
            estimate=Money(PRICE, "USD"),
            maker_share_bps=8000,
        )
    with db.unit_of_work() as uow:
        BUDGETS.capture(uow, cast_id, Money(PRICE // 2, "USD"))
    return (time.perf_counter() - started) * 1000


def _count(db: Database) -> int:
    with db.unit_of_work(write=False) as uow:
        return int(uow.session.execute(text("SELECT count(*) FROM ledger_postings")).scalar_one())


def run(backend: str, entries: int, cycles: int) -> tuple[dict[str, list[float]], dict[str, int], float]:
    """Measure both databases of one backend, interleaved; also check both ledgers still verify."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        scratch_database(backend, Path(tmp), "money_bench_empty") as empty,
        scratch_database(backend, Path(tmp), "money_bench_seeded") as seeded,
    ):
        for db in (empty, seeded):
            _prepare(db)
        seed_seconds = _seed(seeded, entries)
        for i in range(50):  # warm-up: connections, statement caches
            _cycle(empty, f"cast_warm_e{i}")
            _cycle(seeded, f"cast_warm_s{i}")
        times: dict[str, list[float]] = {"empty": [], "seeded": []}
        for i in range(cycles):
            times["empty"].append(_cycle(empty, f"cast_e{i}"))
            times["seeded"].append(_cycle(seeded, f"cast_s{i}"))
        counts = {"empty": _count(empty), "seeded": _count(seeded)}
        for db in (empty, seeded):
            with db.unit_of_work(write=False) as uow:
                LEDGER.verify(uow)
    return times, counts, seed_seconds


def _p99(values: list[float]) -> float:
    return sorted(values)[max(0, int(len(values) * 0.99) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--cycles", type=int, default=1_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    print("| backend | ledger | postings | reserve+capture median ms | p99 ms | ratio to empty |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    verdicts = []
    for backend in backends:
        times, counts, seed_seconds = run(backend, args.entries, args.cycles)
        base = statistics.median(times["empty"])
        for name in ("empty", "seeded"):
            median = statistics.median(times[name])
            print(
                f"| {backend} | {name} | {counts[name]:,} | {median:.2f} | {_p99(times[name]):.2f} |"
                f" {median / base:.2f} |"
            )
        ratio = statistics.median(times["seeded"]) / base
        verdicts.append(
            f"{backend}: ratio {ratio:.2f} ({'met' if ratio <= 1.2 else 'MISSED'}; target <= 1.2),"
            f" seeding took {seed_seconds:.0f} s"
        )
    for verdict in verdicts:
        print(verdict)


if __name__ == "__main__":
    main()
