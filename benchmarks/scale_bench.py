"""Scale benchmark: the catalog and a cast on a crowded database vs an empty one.

Run: .venv/bin/python benchmarks/scale_bench.py [--scale 1.0] [--rounds 30] [--backend sqlite|postgresql|both]
                                               [--sqlite-seed DIR]

The crowded database holds ``--scale`` x (100 000 published spells, 1 000 000 casts, 10 000 000
ledger postings), written with bulk inserts (COPY on PostgreSQL), not through the API. Both databases
also hold the same small catalog the measured calls look at (61 spells: 40 ``helper`` ones and 21
whose common word, ``report``, fills a page on the empty database as it does in the crowd). Each
round times, on the empty database and then the crowded one: the first page of the listing, the sixth
page reached by cursor, a rare word search, two common word searches (one finding a single spell on
the empty database, one a full page), a word search with a tag, a spell's detail, and a cast's
database path (budget reservation and capture with its ledger postings, the cast row, the spell's cast
count). Target: crowded / empty median <= 1.2 for every row.

Besides wall time each call's CPU time in this process is kept (``time.process_time``): on SQLite that
is all of the call's work, and on a machine shared with other jobs it moves far less than the wall time.
``--sqlite-seed DIR`` keeps the SQLite pair: the first run seeds it into DIR, later runs (of this or
another checkout's ``src``) copy it from there instead of seeding again (minutes at full scale).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from _scratch import scratch_database
from sqlalchemy import Table, insert, text, update

from spell.kit.money import Money
from spell.kit.time import utcnow
from spell.models import (
    Cast,
    Publisher,
    Spell,
    SpellVersion,
    Tenant,
    User,
)
from spell.platform.audit.service import AuditService
from spell.platform.auth.schemas import Principal
from spell.platform.budget.schemas import BudgetCaps
from spell.platform.budget.service import BudgetService
from spell.platform.ledger.service import LedgerService
from spell.platform.spell.service import GrimoirePolicy, SpellService
from spell.storage.engine import make_engine
from spell.storage.session import Database

TENANT, OTHER, CASTER = "ten_bench", "ten_other", "usr_bench"
CHUNK = 20_000
SQL_CHUNK = 1_000_000  # rows per INSERT ... SELECT
LEDGER = LedgerService()
BUDGETS = BudgetService(LEDGER, AuditService())
WORDS = [
    "pdf",
    "image",
    "resize",
    "merge",
    "split",
    "translate",
    "summarize",
    "invoice",
    "receipt",
    "audio",
    "video",
    "transcribe",
    "chart",
    "table",
    "csv",
    "json",
    "yaml",
    "markdown",
    "email",
    "calendar",
    "weather",
    "map",
    "route",
    "ocr",
    "scan",
    "barcode",
    "qr",
    "compress",
    "encrypt",
    "sign",
    "verify",
    "hash",
    "diff",
    "lint",
    "format",
    "test",
    "deploy",
    "backup",
    "sync",
    "report",
]
NOW = utcnow() - timedelta(days=40)


def _bulk(db: Database, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows``: COPY on PostgreSQL, one executemany on SQLite."""
    if not rows:
        return
    if db.engine.dialect.name != "postgresql":
        with db.unit_of_work() as uow:
            uow.session.execute(insert(table), rows)
        return
    columns = list(rows[0])
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([json.dumps(v) if isinstance(v, (dict, list)) else v for v in row.values()])
        raw.commit()
    finally:
        raw.close()


def _spell_row(
    spell_id: str, tenant: str, summary: str, visibility: str, rng: random.Random
) -> dict[str, Any]:
    return {
        "id": spell_id,
        "publisher": spell_id.split("/")[0],
        "tenant_id": tenant,
        "name": spell_id.split("/")[1],
        "summary": summary,
        "tags": [rng.choice(WORDS)],
        "visibility": visibility,
        "is_suspended": False,
        "latest_version": "1.0.0",
        "price_amount": rng.randrange(0, 10_000),
        "cast_count": rng.randrange(0, 1_000),
        "created_at": NOW,
        "updated_at": NOW + timedelta(seconds=rng.randrange(0, 3_000_000)),
    }


def _version_row(spell_id: str, delisted: bool) -> dict[str, Any]:
    return {
        "id": "ver_" + spell_id.replace("/", "_"),
        "spell_id": spell_id,
        "version": "1.0.0",
        "digest": "sha256:" + "0" * 64,
        "execution": "wasm",
        "manifest": {},
        "input_schema": {},
        "is_yanked": False,
        "archive_size": 1,
        "created_at": NOW,
        "delisted_at": NOW if delisted else None,
    }


def _prepare(db: Database) -> None:
    """What both databases hold: tenants, the caster, publishers and a small catalog of 40 spells."""
    rng = random.Random(1)
    with db.unit_of_work() as uow:
        uow.session.add_all([Tenant(id=t, name=t, created_at=NOW) for t in (TENANT, OTHER)])
        uow.session.flush()
        uow.session.add(
            User(id=CASTER, email="b@example.com", tenant_id=TENANT, roles=["caster"], created_at=NOW)
        )
        uow.session.add_all(
            [Publisher(name=p, tenant_id=t, created_at=NOW) for p, t in (("acme", TENANT), ("zeta", OTHER))]
        )
        uow.session.flush()
        LEDGER.credit(uow, CASTER, Money(10**15, "USD"), idempotency_key="bench:fund", memo={})
        BUDGETS.set_caps(uow, CASTER, BudgetCaps(monthly_micros=10**14, daily_micros=10**14))
    spells = [
        _spell_row(f"acme/tool-{i}", TENANT, f"{WORDS[i % len(WORDS)]} helper", "public", rng)
        for i in range(40)
    ]
    # a common word that fills a page on the empty database too, so its row compares a page of 21
    # spells with a page of 21 (``pdf`` finds one spell there and 21 in the crowd)
    spells += [_spell_row(f"acme/report-{i}", TENANT, "report maker", "public", rng) for i in range(21)]
    _bulk(db, Spell.__table__, spells)  # type: ignore[arg-type]
    _bulk(db, SpellVersion.__table__, [_version_row(s["id"], False) for s in spells])  # type: ignore[arg-type]


class _Raw:
    """One driver connection that seeds by ``INSERT ... SELECT`` over a generated series of numbers.

    Rows are made by the database itself (a recursive CTE on SQLite, ``generate_series`` on
    PostgreSQL), a million at a time, so ten million postings take minutes rather than the hours that
    building them in Python and sending them through the ORM took. Foreign keys are not checked while
    seeding (SQLite ``foreign_keys=OFF``, PostgreSQL ``session_replication_role=replica``): the rows
    refer to what ``_prepare`` and the spell seed wrote, by construction.
    """

    def __init__(self, connection: Any, sqlite: bool, now: str) -> None:
        self.connection = connection
        self.sqlite = sqlite
        self.now = now  # NOW as a SQL literal in the form the ORM stores it

    def series(self, start: int, stop: int) -> tuple[str, str]:
        """A ``WITH`` prefix and a ``FROM`` item naming the numbers ``start`` .. ``stop - 1`` as ``n``."""
        if self.sqlite:
            step = f"SELECT n + 1 FROM seq WHERE n < {stop - 1}"  # noqa: S608
            return f"WITH RECURSIVE seq(n) AS (SELECT {start} UNION ALL {step}) ", "seq"
        return "", f"generate_series({start}, {stop - 1}) AS seq(n)"

    def padded(self, width: int) -> str:
        """``n`` as text zero-padded to ``width``, so ids ascend as the numbers do and every index
        takes each new row at its end."""
        return f"printf('%0{width}d', n)" if self.sqlite else f"lpad(n::text, {width}, '0')"

    def run(self, sql: str) -> None:
        began = time.perf_counter()
        cursor = self.connection.cursor()
        if self.sqlite:  # autocommit connection: one explicit transaction per chunk
            cursor.execute("BEGIN")
            before = self.connection.total_changes
        cursor.execute(sql)
        rows = self.connection.total_changes - before if self.sqlite else cursor.rowcount
        self.connection.commit()
        print(
            f"<!-- seeded {rows} rows in {time.perf_counter() - began:.1f} s -->", file=sys.stderr, flush=True
        )


@contextmanager
def _raw(db: Database) -> Iterator[_Raw]:
    """A driver connection set up for bulk seeding (see ``_Raw``)."""
    if db.engine.dialect.name == "sqlite":
        path = db.engine.url.database
        assert path  # noqa: S101 - the scratch SQLite databases are files
        with db.engine.connect() as conn:  # the stored form of NOW, as the ORM wrote it for the tenants
            stored = conn.execute(
                text("SELECT created_at FROM tenants WHERE id = :t"), {"t": TENANT}
            ).scalar_one()
        db.engine.dispose()  # the pool's connections would keep the database in WAL mode
        connection = sqlite3.connect(path, isolation_level=None)
        try:
            for pragma in ("journal_mode=OFF", "synchronous=OFF", "foreign_keys=OFF", "cache_size=-262144"):
                connection.execute(f"PRAGMA {pragma}")
            yield _Raw(connection, True, f"'{stored}'")
            connection.execute("PRAGMA journal_mode=WAL")
        finally:
            connection.close()
        return
    raw = db.engine.raw_connection()
    try:
        raw.cursor().execute("SET session_replication_role = replica")
        raw.commit()
        yield _Raw(raw, False, f"TIMESTAMPTZ '{NOW.isoformat()}'")
        raw.cursor().execute("SET session_replication_role = origin")
        raw.commit()
    finally:
        raw.close()


# The seed statements are built from this script's own constants and numbers, never from input.


def _casts_sql(raw: _Raw, start: int, stop: int, n_spells: int) -> str:
    cte, numbers = raw.series(start, stop)
    spell = f"'zeta/crowd-' || (n % {max(n_spells, 1)})"
    return (
        f"{cte}INSERT INTO casts (id, tenant_id, user_id, spell_id, version, spell_digest, status, "  # noqa: S608
        "idempotency_key, request_digest, input, input_digest, cancel_requested, created_at, finished_at) "
        f"SELECT 'cast_seed' || {raw.padded(9)}, '{TENANT}', '{CASTER}', {spell}, "
        f"'1.0.0', 'sha256:0', 'succeeded', 'seed:' || {raw.padded(9)}, '0', '{{}}', '0', false, "
        f"{raw.now}, {raw.now} FROM {numbers}"
    )


def _transactions_sql(raw: _Raw, start: int, stop: int) -> str:
    cte, numbers = raw.series(start, stop)
    return (
        f"{cte}INSERT INTO ledger_transactions "  # noqa: S608
        "(id, idempotency_key, kind, cast_id, currency, memo, created_at) "
        f"SELECT 'txn_seed' || {raw.padded(10)}, 'seed:' || {raw.padded(10)}, 'seed', NULL, 'USD', '{{}}', "
        f"{raw.now} FROM {numbers}"
    )


def _postings_sql(raw: _Raw, start: int, stop: int, a: str, b: str) -> str:
    """Two postings per transaction: one micro from a to b on even ones and back on odd ones, so both
    balances stay zero."""
    cte, numbers = raw.series(start, stop)
    return (
        f"{cte}INSERT INTO ledger_postings (transaction_id, account_id, amount_micros, created_at) "  # noqa: S608
        f"SELECT 'txn_seed' || {raw.padded(10)}, CASE WHEN (n + leg) % 2 = 0 THEN '{b}' ELSE '{a}' END, "
        f"CASE WHEN leg = 0 THEN 1 ELSE -1 END, {raw.now} "
        f"FROM {numbers} CROSS JOIN (SELECT 0 AS leg UNION ALL SELECT 1) AS legs"
    )


def _seed(db: Database, scale: float) -> dict[str, int]:
    """The crowd: spells (mostly public; some private to either tenant; 1 % delisted), casts, postings."""
    rng = random.Random(2)
    n_spells, n_casts, n_postings = int(100_000 * scale), int(1_000_000 * scale), int(10_000_000 * scale)
    for start in range(0, n_spells, CHUNK):
        spells, versions = [], []
        for i in range(start, min(start + CHUNK, n_spells)):
            roll = rng.random()
            tenant, visibility = (
                (OTHER, "private")
                if roll < 0.05
                else (TENANT, "private")
                if roll < 0.1
                else (OTHER, "public")
            )
            summary = " ".join(rng.sample(WORDS, 4)) + f" number {i}"
            spells.append(_spell_row(f"zeta/crowd-{i}", tenant, summary, visibility, rng))
            versions.append(_version_row(f"zeta/crowd-{i}", rng.random() < 0.01))
        _bulk(db, Spell.__table__, spells)  # type: ignore[arg-type]
        _bulk(db, SpellVersion.__table__, versions)  # type: ignore[arg-type]
    with db.unit_of_work() as uow:
        a = LEDGER.repo.account_id(uow.session, "usr_seed_a", "holds", "USD")
        b = LEDGER.repo.account_id(uow.session, "usr_seed_b", "holds", "USD")
    with _raw(db) as raw:
        for start in range(0, n_casts, SQL_CHUNK):
            raw.run(_casts_sql(raw, start, min(start + SQL_CHUNK, n_casts), n_spells))
        for start in range(0, n_postings // 2, SQL_CHUNK // 2):
            stop = min(start + SQL_CHUNK // 2, n_postings // 2)
            raw.run(_transactions_sql(raw, start, stop))
            raw.run(_postings_sql(raw, start, stop, a, b))
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    return {"spells": n_spells, "casts": n_casts, "postings": n_postings}


class Calls:
    """The measured calls on one database."""

    def __init__(self, db: Database, tmp: Path) -> None:
        self.db = db
        self.spells = SpellService(tmp / "bundles", GrimoirePolicy())
        self.reader = Principal(CASTER, TENANT, ("caster",), ("spell:read",))
        self.casts = 0
        with db.unit_of_work(write=False) as uow:
            cursor = None
            for _ in range(5):
                cursor = self.spells.search(uow, self.reader, limit=20, cursor=cursor).next_cursor
        self.cursor = cursor

    def _search(self, **query: Any) -> None:
        with self.db.unit_of_work(write=False) as uow:
            assert self.spells.search(uow, self.reader, limit=20, **query).items  # noqa: S101

    def first_page(self) -> None:
        self._search()

    def sixth_page(self) -> None:
        self._search(cursor=self.cursor)

    def word(self) -> None:
        self._search(q="helper", sort="popular")

    def common_word(self) -> None:
        self._search(q="pdf", sort="popular")

    def common_word_full_page(self) -> None:
        self._search(q="report", sort="popular")

    def word_and_tag(self) -> None:
        self._search(q="helper", tag="pdf")

    def detail(self) -> None:
        with self.db.unit_of_work(write=False) as uow:
            self.spells.detail(uow, self.reader, "acme/tool-7")

    def cast(self) -> None:
        self.casts += 1
        cast_id = f"cast_bench{self.casts:08d}"
        with self.db.unit_of_work() as uow:
            uow.session.add(
                Cast(
                    id=cast_id,
                    tenant_id=TENANT,
                    user_id=CASTER,
                    spell_id="acme/tool-7",
                    version="1.0.0",
                    spell_digest="sha256:0",
                    status="running",
                    idempotency_key=cast_id,
                    request_digest="0",
                    input={},
                    input_digest="0",
                    created_at=utcnow(),
                )
            )
            uow.session.flush()
            BUDGETS.reserve(
                uow,
                cast_id=cast_id,
                caster_id=CASTER,
                spell_id="acme/tool-7",
                maker_id=TENANT,
                estimate=Money(1_000, "USD"),
                maker_share_bps=8000,
            )
        with self.db.unit_of_work() as uow:
            BUDGETS.capture(uow, cast_id, Money(500, "USD"))
            uow.session.execute(
                update(Cast).where(Cast.id == cast_id).values(status="succeeded", finished_at=utcnow())
            )
            uow.session.execute(
                update(Spell).where(Spell.id == "acme/tool-7").values(cast_count=Spell.cast_count + 1)
            )


OPS: tuple[tuple[str, Callable[[Calls], None]], ...] = (
    ("search: first page", Calls.first_page),
    ("search: page 6 by cursor", Calls.sixth_page),
    ("search: q=helper, popular", Calls.word),
    ("search: q=pdf (10 % of the crowd), popular", Calls.common_word),
    ("search: q=report (10 % of the crowd, a full page on both), popular", Calls.common_word_full_page),
    ("search: q=helper, tag=pdf", Calls.word_and_tag),
    ("spell detail", Calls.detail),
    ("cast (database path)", Calls.cast),
)


def _sqlite_pair(seed: Path, tmp: Path, scale: float) -> tuple[Database, Database, dict[str, int], float]:
    """The empty and the crowded SQLite databases copied from ``seed`` (seeded there first if missing)."""
    marker = seed / f"counts-{scale}.json"
    seed_seconds = 0.0
    if not marker.exists():
        seed.mkdir(parents=True, exist_ok=True)
        with (
            scratch_database("sqlite", seed, "empty") as empty,
            scratch_database("sqlite", seed, "crowded") as crowded,
        ):
            for db in (empty, crowded):
                _prepare(db)
            started = time.perf_counter()
            marker.write_text(json.dumps(_seed(crowded, scale)), encoding="utf-8")
            seed_seconds = time.perf_counter() - started
    made = []
    for name in ("empty", "crowded"):
        shutil.copyfile(seed / f"{name}.db", tmp / f"{name}.db")
        made.append(Database(make_engine(f"sqlite:///{tmp / name}.db")))
    return made[0], made[1], json.loads(marker.read_text(encoding="utf-8")), seed_seconds


Times = dict[str, dict[str, list[tuple[float, float]]]]


def _measure(empty: Database, crowded: Database, tmp: Path, rounds: int) -> Times:
    """(wall ms, CPU ms) of every call on both databases, interleaved so load hits both alike."""
    calls = {"empty": Calls(empty, tmp), "crowded": Calls(crowded, tmp)}
    times: Times = {name: {"empty": [], "crowded": []} for name, _ in OPS}
    for warm in range(rounds + 5):
        for name, op in OPS:
            for which, target in calls.items():
                began, cpu = time.perf_counter(), time.process_time()
                op(target)
                if warm >= 5:  # the first rounds warm connections and statement caches
                    wall_ms = (time.perf_counter() - began) * 1000
                    times[name][which].append((wall_ms, (time.process_time() - cpu) * 1000))
    for db in (empty, crowded):
        with db.unit_of_work(write=False) as uow:
            LEDGER.verify(uow)
    return times


def run(
    backend: str, scale: float, rounds: int, sqlite_seed: Path | None = None
) -> tuple[Times, dict[str, int], float]:
    """Time every call on both databases of one backend."""
    with tempfile.TemporaryDirectory() as tmp:
        if backend == "sqlite" and sqlite_seed is not None:
            empty, crowded, counts, seed_seconds = _sqlite_pair(sqlite_seed, Path(tmp), scale)
            try:
                return _measure(empty, crowded, Path(tmp), rounds), counts, seed_seconds
            finally:
                empty.dispose()
                crowded.dispose()
        with (
            # named per run: two runs side by side must not drop each other's databases
            scratch_database(backend, Path(tmp), f"scale_bench_empty_{os.getpid()}") as empty,
            scratch_database(backend, Path(tmp), f"scale_bench_crowded_{os.getpid()}") as crowded,
        ):
            for db in (empty, crowded):
                _prepare(db)
            started = time.perf_counter()
            counts = _seed(crowded, scale)
            seed_seconds = time.perf_counter() - started
            return _measure(empty, crowded, Path(tmp), rounds), counts, seed_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale", type=float, default=1.0, help="fraction of 100k spells / 1M casts / 10M postings"
    )
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--sqlite-seed",
        type=Path,
        help="keep the seeded SQLite pair in this folder and reuse it (copied) on later runs at this scale",
    )
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    print(
        "| backend | call | empty median ms | crowded median ms | ratio | rounds <= 1.2 "
        "| empty CPU ms | crowded CPU ms | CPU ratio | rounds <= 1.2 by CPU |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for backend in backends:
        times, counts, seed_seconds = run(backend, args.scale, args.rounds, args.sqlite_seed)
        for name, _ in OPS:
            cells = []
            for kind in (0, 1):  # wall time, then CPU time
                empty_ms = [t[kind] for t in times[name]["empty"]]
                crowded_ms = [t[kind] for t in times[name]["crowded"]]
                empty, crowded = statistics.median(empty_ms), statistics.median(crowded_ms)
                # each round times both databases back to back, so its own ratio sees the same load
                met = sum(c <= 1.2 * e for e, c in zip(empty_ms, crowded_ms, strict=True))
                ratio = crowded / empty if empty else float("inf")
                cells.append(f"{empty:.2f} | {crowded:.2f} | {ratio:.2f} | {met}/{len(empty_ms)}")
            print(f"| {backend} | {name} | {' | '.join(cells)} |")
        print(f"<!-- {backend}: seeded {counts} in {seed_seconds:.0f} s -->", flush=True)


if __name__ == "__main__":
    main()
