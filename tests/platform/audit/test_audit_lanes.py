"""Audit lanes: concurrent transactions append to chains of their own, every lane verifies on its own and
a record tampered with in any lane is named; a log from before lanes becomes lane 0 unchanged."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import cast

import pytest
from sqlalchemy import Table, bindparam, delete, select, text, update

from spell.models import AuditCheckpoint
from spell.models.audit import AuditHead, AuditRecord
from spell.platform.audit.chain import GENESIS, fields_hash, record_hash
from spell.platform.audit.checkpoint import EMPTY_DIGEST, CheckpointKey, signed_body
from spell.platform.audit.errors import AuditChainBroken
from spell.platform.audit.service import AuditService
from spell.storage.engine import make_engine
from spell.storage.migrate import upgrade
from spell.storage.session import Database
from tests.platform.audit.lanes import lane_zero_held, postgres_only

_COLUMNS = cast(Table, AuditRecord.__table__).c


def _append(db: Database, count: int, actor: str = "usr_a") -> None:
    for i in range(count):
        with db.unit_of_work() as uow:
            AuditService().append(uow, "charge.captured", actor_id=actor, subject=f"cast_{i}", data={"n": i})


def _broken(db: Database, service: AuditService | None = None) -> dict[str, object]:
    with pytest.raises(AuditChainBroken) as exc, db.unit_of_work(write=False) as uow:
        (service or AuditService()).verify(uow)
    assert exc.value.code == "AUDIT_CHAIN_BROKEN"
    return exc.value.details


def _lane_one(db: Database) -> list[AuditRecord]:
    with db.unit_of_work(write=False) as uow:
        query = select(AuditRecord).where(AuditRecord.lane == 1).order_by(AuditRecord.lane_seq)
        return list(uow.session.scalars(query))


@postgres_only
def test_an_open_transaction_holding_a_lane_does_not_hold_up_appends_in_others(database: Database) -> None:
    with lane_zero_held(database):
        done = threading.Event()

        def others() -> None:
            _append(database, 3)
            done.set()

        worker = threading.Thread(target=others)
        worker.start()
        # One head row for every append would keep the other transaction waiting for this one.
        assert done.wait(20), "appends waited for another transaction's lane"
        worker.join()
    with database.unit_of_work(write=False) as uow:
        service = AuditService()
        check = service.verify(uow)
        records = service.list(uow)
    assert [(lane.lane, lane.records) for lane in check.lanes] == [(0, 1), (1, 3)]
    assert check.records == 4
    # Listed in the order they were written (the held one before the others committed).
    assert [(r.lane, r.lane_seq) for r in records] == [(0, 1), (1, 1), (1, 2), (1, 3)]
    assert records[0].prev_hash == GENESIS
    assert records[1].prev_hash == GENESIS


@postgres_only
def test_concurrent_appends_from_many_threads_spread_over_lanes_and_verify(database: Database) -> None:
    start = threading.Barrier(8)

    def one(i: int) -> None:
        if i < 8:
            start.wait(10)  # eight transactions at once: eight connections
        with database.unit_of_work() as uow:
            audit = AuditService()
            audit.append(uow, "cast.created", actor_id=f"usr_{i}")
            audit.append(uow, "cast.terminal", actor_id=f"usr_{i}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, range(80)))
    with database.unit_of_work(write=False) as uow:
        check = AuditService().verify(uow)
        seqs = list(uow.session.scalars(select(AuditRecord.seq).order_by(AuditRecord.seq)))
    assert check.records == 160
    assert len(check.lanes) > 1
    assert sum(lane.records for lane in check.lanes) == 160
    assert len(set(seqs)) == 160  # one numbering of the whole log, across lanes


@postgres_only
@pytest.mark.parametrize("problem", ["edited", "deleted", "reordered", "deleted_last"])
def test_a_record_tampered_with_in_a_lane_other_than_0_is_named(database: Database, problem: str) -> None:
    with lane_zero_held(database):
        _append(database, 4)
    one = _lane_one(database)
    assert [r.lane_seq for r in one] == [1, 2, 3, 4]
    with database.unit_of_work() as uow:
        rows = update(AuditRecord).where(AuditRecord.lane == 1)
        if problem == "edited":
            uow.session.execute(rows.where(AuditRecord.lane_seq == 3).values(data={"n": 999}))
        elif problem == "deleted":
            uow.session.execute(delete(AuditRecord).where(AuditRecord.seq == one[1].seq))
        elif problem == "deleted_last":
            uow.session.execute(delete(AuditRecord).where(AuditRecord.seq == one[3].seq))
        else:
            for number, to in ((2, -2), (3, 2), (-2, 3)):
                uow.session.execute(rows.where(AuditRecord.lane_seq == number).values(lane_seq=to))
    details = _broken(database)
    expected = {
        "edited": (3, "edited"),
        "deleted": (2, "deleted"),
        "deleted_last": (4, "deleted"),
        "reordered": (2, "reordered"),
    }[problem]
    assert (details["lane"], details["lane_seq"], details["problem"]) == (1, *expected)
    if problem == "edited":
        assert (details["seq"], details["id"]) == (one[2].seq, one[2].id)


@postgres_only
def test_a_record_moved_to_another_lane_is_found(database: Database) -> None:
    with lane_zero_held(database):
        _append(database, 2)
    (first, _second) = _lane_one(database)
    with database.unit_of_work() as uow:  # lane 1's first record passed off as the start of lane 5
        uow.session.execute(update(AuditRecord).where(AuditRecord.seq == first.seq).values(lane=5))
        uow.session.add(AuditHead(lane=5, seq=1, hash=first.hash))
    details = _broken(database)
    # Lane 1 comes first: its second record follows nothing there now.
    assert (details["lane"], details["lane_seq"], details["problem"]) == (1, 1, "deleted")
    with database.unit_of_work() as uow:
        uow.session.execute(delete(AuditRecord).where(AuditRecord.lane == 1))
        uow.session.execute(delete(AuditHead).where(AuditHead.lane == 1))
    details = _broken(database)  # lane 5 alone: the hash covers the lane the record was written to
    assert (details["lane"], details["lane_seq"], details["problem"]) == (5, 1, "edited")


@postgres_only
def test_records_of_a_lane_whose_head_was_deleted_are_found(database: Database) -> None:
    with lane_zero_held(database):
        _append(database, 2)
    with database.unit_of_work() as uow:
        uow.session.execute(delete(AuditHead).where(AuditHead.lane == 1))
    details = _broken(database)
    assert (details["lane"], details["problem"]) == (1, "deleted")


def test_a_log_from_before_lanes_becomes_lane_0_and_still_verifies(empty_database_url: str) -> None:
    url = empty_database_url
    upgrade(url, "0014")
    key = CheckpointKey.from_secret("s" * 32)
    at = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    records, prev = [], GENESIS
    for seq in range(1, 6):  # the single chain as it was written then: no lane in the hash
        fields = {
            "seq": seq,
            "id": f"aud_{seq}",
            "at": at,
            "action": "charge.captured",
            "actor_id": "usr_a",
            "tenant_id": None,
            "subject": f"cast_{seq}",
            "data": {"n": seq},
            "prev_hash": prev,
        }
        prev = fields_hash(fields)
        records.append({**fields, "hash": prev})
    checkpoint = AuditCheckpoint(
        number=1,
        last_seq=2,
        head_hash=records[1]["hash"],
        folded=2,
        kept=0,
        kept_digest=EMPTY_DIGEST,
        first_at=at,
        last_at=at,
        created_at=at,
        key_id="",
        signature="",
    )
    checkpoint.lane = 0
    key.sign(checkpoint)  # lane 0 is not in the signed body: the signature made before lanes
    assert b'"lane"' not in signed_body(checkpoint)
    engine = make_engine(url)
    with engine.begin() as conn:
        insert = text(
            "INSERT INTO audit_records (seq, id, at, action, actor_id, tenant_id, subject, data,"
            " prev_hash, hash) VALUES (:seq, :id, :at, :action, :actor_id, :tenant_id, :subject,"
            " :data, :prev_hash, :hash)"
        ).bindparams(bindparam("data", type_=_COLUMNS.data.type), bindparam("at", type_=_COLUMNS.at.type))
        for record in records[2:]:  # 1 and 2 folded into the checkpoint
            conn.execute(insert, record)
        conn.execute(text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 5, :h)"), {"h": prev})
        conn.execute(
            text(
                "INSERT INTO audit_checkpoints (number, last_seq, head_hash, folded, kept, kept_digest,"
                " first_at, last_at, created_at, key_id, signature) VALUES (1, 2, :head, 2, 0, :digest,"
                " :at, :at, :at, :key_id, :signature)"
            ).bindparams(bindparam("at", type_=_COLUMNS.at.type)),
            {
                "head": checkpoint.head_hash,
                "digest": EMPTY_DIGEST,
                "at": at,
                "key_id": checkpoint.key_id,
                "signature": checkpoint.signature,
            },
        )
    engine.dispose()

    upgrade(url)

    db = Database(make_engine(url))
    try:
        service = AuditService(checkpoint_key=key)
        with db.unit_of_work(write=False) as uow:
            check = service.verify(uow)
            migrated = service.list(uow)
            (moved,) = uow.session.scalars(select(AuditCheckpoint))
        assert (check.records, check.head_hash) == (3, prev)
        assert [(r.seq, r.lane, r.lane_seq, r.hash) for r in migrated] == [
            (r["seq"], 0, r["seq"], r["hash"]) for r in records[2:]
        ]
        assert all(record_hash(r) == r.hash for r in migrated)
        assert (moved.lane, moved.number) == (0, 1)
        _append(db, 2, actor="usr_after")
        with db.unit_of_work(write=False) as uow:
            check = service.verify(uow)
            after = service.list(uow, after_seq=5)
        assert check.records == 5
        assert [(r.seq, r.lane, r.lane_seq) for r in after] == [(6, 0, 6), (7, 0, 7)]
        assert after[0].prev_hash == prev
    finally:
        db.dispose()
