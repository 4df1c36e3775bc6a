"""The audit chain: appends link by hash; any edit, deletion or swap is found and named."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from spell.models.audit import AuditHead, AuditRecord
from spell.platform.audit.chain import GENESIS
from spell.platform.audit.errors import AuditChainBroken
from spell.platform.audit.service import AuditService
from spell.storage.session import Database, UnitOfWork


def _append(db: Database, count: int) -> None:
    for i in range(count):
        with db.unit_of_work() as uow:
            AuditService().append(
                uow, "charge.captured", actor_id="usr_a", subject=f"cast_{i}", data={"n": i}
            )


def _broken(db: Database) -> dict[str, object]:
    with pytest.raises(AuditChainBroken) as exc, db.unit_of_work(write=False) as uow:
        AuditService().verify(uow)
    assert exc.value.code == "AUDIT_CHAIN_BROKEN"
    return exc.value.details


def test_records_chain_by_hash_and_verify(database: Database) -> None:
    _append(database, 3)
    with database.unit_of_work(write=False) as uow:
        service = AuditService()
        records = service.list(uow)
        assert [r.seq for r in records] == [1, 2, 3]
        assert records[0].prev_hash == GENESIS
        assert records[1].prev_hash == records[0].hash
        assert [(r.lane, r.lane_seq) for r in records] == [(0, 1), (0, 2), (0, 3)]  # one connection
        check = service.verify(uow).model_dump()
        assert (check["records"], check["head_hash"]) == (3, records[2].hash)
        assert check["lanes"] == [{"lane": 0, "records": 3, "head_seq": 3, "head_hash": records[2].hash}]


def test_list_filters_and_pages(database: Database) -> None:
    _append(database, 3)
    with database.unit_of_work() as uow:
        AuditService().append(uow, "user.banned", actor_id="usr_admin", tenant_id="ten_1", subject="usr_x")
    with database.unit_of_work(write=False) as uow:
        service = AuditService()
        assert [r.seq for r in service.list(uow, action="user.banned")] == [4]
        assert [r.seq for r in service.list(uow, actor_id="usr_a", after_seq=1, limit=1)] == [2]
        assert [r.subject for r in service.list(uow, tenant_id="ten_1")] == ["usr_x"]


def test_unknown_actions_are_refused(database: Database) -> None:
    with pytest.raises(ValueError, match="audit action"), database.unit_of_work() as uow:
        AuditService().append(uow, "cast.exploded", actor_id=None)


def test_an_edited_record_is_named(database: Database) -> None:
    _append(database, 4)
    with database.unit_of_work() as uow:
        uow.session.execute(update(AuditRecord).where(AuditRecord.seq == 3).values(data={"n": 999}))
    details = _broken(database)
    assert (details["lane"], details["lane_seq"], details["seq"], details["problem"]) == (0, 3, 3, "edited")


def test_a_deleted_record_is_named(database: Database) -> None:
    _append(database, 4)
    with database.unit_of_work() as uow:
        uow.session.execute(delete(AuditRecord).where(AuditRecord.seq == 2))
    details = _broken(database)
    assert (details["lane"], details["lane_seq"], details["problem"]) == (0, 2, "deleted")
    assert (details["next_lane_seq"], details["next_seq"]) == (3, 3)


def test_a_deleted_last_record_is_found_through_the_head(database: Database) -> None:
    _append(database, 3)
    with database.unit_of_work() as uow:
        uow.session.execute(delete(AuditRecord).where(AuditRecord.seq == 3))
    details = _broken(database)
    assert (details["lane"], details["lane_seq"], details["problem"]) == (0, 3, "deleted")


def test_swapped_records_are_named(database: Database) -> None:
    _append(database, 4)
    with database.unit_of_work() as uow:
        for number, to in ((2, -2), (3, 2), (-2, 3)):
            uow.session.execute(
                update(AuditRecord).where(AuditRecord.lane_seq == number).values(lane_seq=to, seq=to)
            )
    details = _broken(database)
    assert (details["lane"], details["lane_seq"], details["problem"]) == (0, 2, "reordered")


def test_concurrent_appends_never_fork_the_chain(database: Database) -> None:
    def one(i: int) -> None:
        with database.unit_of_work() as uow:
            AuditService().append(uow, "cast.created", actor_id=f"usr_{i}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, range(60)))
    with database.unit_of_work(write=False) as uow:
        assert AuditService().verify(uow).records == 60


def test_an_empty_log_verifies(database: Database) -> None:
    with database.unit_of_work(write=False) as uow:
        assert AuditService().verify(uow).model_dump() == {"records": 0, "head_hash": GENESIS, "lanes": []}


def test_several_appends_in_one_transaction_chain_and_move_the_head_once(database: Database) -> None:
    def three(i: int) -> None:
        with database.unit_of_work() as uow:
            audit = AuditService()
            for n in range(3):
                audit.append(uow, "cast.created", actor_id=f"usr_{i}", data={"n": n})

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(three, range(12)))
    with database.unit_of_work(write=False) as uow:
        service = AuditService()
        assert service.verify(uow).records == 36
        heads = uow.session.scalars(select(AuditHead)).all()
        ends = {r.lane: r for r in service.list(uow)}  # each lane's last record, in listing order
        assert sum(head.seq for head in heads) == 36
        assert all(head.seq % 3 == 0 for head in heads)  # the three records of a transaction stay together
        assert {head.lane: head.hash for head in heads} == {lane: r.hash for lane, r in ends.items()}


def test_an_append_from_inside_a_flush_follows_the_pending_ones(database: Database) -> None:
    with database.unit_of_work() as uow:
        audit = AuditService()
        audit.append(uow, "cast.created", actor_id="usr_a")
        audit.append_in_flush(
            uow.session, "key.created", {"actor_id": "usr_a"}
        )  # as the before_flush hook does
        audit.append(uow, "cast.terminal", actor_id="usr_a")
    with database.unit_of_work(write=False) as uow:
        service = AuditService()
        assert [r.action for r in service.list(uow)] == ["cast.created", "key.created", "cast.terminal"]
        assert service.verify(uow).records == 3


def test_appends_rolled_back_leave_nothing_pending_for_the_next_transaction(database: Database) -> None:
    _append(database, 1)

    def failing() -> None:
        with database.unit_of_work() as uow:
            AuditService().append(uow, "cast.created", actor_id="usr_b")
            raise RuntimeError("the cast failed to start")

    with pytest.raises(RuntimeError):
        failing()
    with Session(database.engine) as session:  # one session across a rollback and a commit
        AuditService().append(UnitOfWork(session), "cast.created", actor_id="usr_c")
        session.rollback()
        AuditService().append(UnitOfWork(session), "cast.created", actor_id="usr_d")
        session.commit()
    with database.unit_of_work(write=False) as uow:
        service = AuditService()
        assert [r.actor_id for r in service.list(uow)] == ["usr_a", "usr_d"]
        assert service.verify(uow).records == 2


@pytest.mark.parametrize("count", [1, 2, 9])  # 9: more than one statement chains, hashed here
def test_records_of_any_text_hash_the_same_wherever_they_are_chained(database: Database, count: int) -> None:
    # On PostgreSQL the server hashes the canonical bytes around prev_hash and seq; floats, non-ASCII
    # text, nested data, NULLs and a record quoting the stand-ins must hash as verify recomputes them.
    datas: list[dict[str, object]] = [
        {"amount": 1.5, "name": "Zoë ✓ 雪", "nested": {"b": [1, None, True], "a": 'x\ny"z'}},
        {"note": "~spell-audit-prev~", "also": "~spell-audit-seq~"},
        {},
    ]
    with database.unit_of_work() as uow:
        audit = AuditService()
        for n in range(count):
            audit.append(
                uow,
                "charge.captured",
                actor_id=None if n % 2 else "usr_ä",
                tenant_id="ten_1",
                subject=None,
                data=datas[n % len(datas)],
                personal={"name": "Zoë"} if n == 0 else None,
            )
    with database.unit_of_work() as uow:
        AuditService().append(uow, "cast.created", actor_id="usr_b")
    with database.unit_of_work(write=False) as uow:
        service = AuditService()
        assert service.verify(uow).records == count + 1
        records = service.list(uow)
        assert [r.seq for r in records] == list(range(1, count + 2))
        assert [r.lane_seq for r in records] == list(range(1, count + 2))
        assert records[0].data == datas[0]
        assert records[0].personal == {"name": "Zoë"}
        head = uow.session.get(AuditHead, 0)
        assert head is not None
        assert (head.seq, head.hash) == (count + 1, records[-1].hash)


def test_a_record_hashed_from_its_parts_is_the_record_hash() -> None:
    import hashlib

    from spell.kit.time import utcnow
    from spell.platform.audit.chain import fields_hash, hash_parts

    fields = {
        "seq": 0,
        "id": "aud_1",
        "at": utcnow(),
        "action": "cast.created",
        "actor_id": "usr_é",
        "tenant_id": None,
        "subject": "s",
        "data": {"f": 0.1, "big": 2**53 - 1, "e": 1e21},
        "prev_hash": GENESIS,
    }
    parts = hash_parts(fields)
    assert parts is not None
    pre, mid, post = parts
    digest = hashlib.sha256(pre + GENESIS.encode() + mid + b"12345" + post).hexdigest()
    assert "sha256:" + digest == fields_hash({**fields, "seq": 12345})
    assert hash_parts({**fields, "subject": "~spell-audit-seq~"}) is None  # hashed in Python instead
