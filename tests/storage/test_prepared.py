"""Prepared statements on the cursor: same values, same errors and same defaults as the full path."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

import pytest
from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from spell.models.audit import AuditHead, AuditRecord
from spell.storage.prepared import Prepared
from spell.storage.session import Database

_RECORDS = cast(Table, AuditRecord.__table__)
_HEAD = cast(Table, AuditHead.__table__)
_INSERT = Prepared(insert(_RECORDS))
_BUMP = Prepared(update(_HEAD).where(_HEAD.c.lane == 1).values(seq=_HEAD.c.seq + 1).returning(_HEAD.c.seq))
_SET = Prepared(update(_HEAD).where(_HEAD.c.lane == bindparam("hid")).values(hash=bindparam("h")))
AT = datetime(2026, 12, 4, 12, 30, 15, 123456, tzinfo=UTC)


def _record(seq: int, **extra: object) -> dict[str, object]:
    return {
        "seq": seq,
        "id": f"aud_{seq}",
        "at": AT,
        "action": "cast.created",
        "actor_id": None,
        "tenant_id": "ten_1",
        "subject": "cast_1",
        "data": {"spell_id": "acme/hello", "n": [1, 2], "ok": True},
        "lane": 0,
        "lane_seq": seq,
        "prev_hash": "p",
        "hash": f"h{seq}",
        **extra,
    }


def test_values_are_converted_by_the_column_types_and_read_back_through_the_orm(database: Database) -> None:
    with database.unit_of_work() as uow:
        _INSERT.run(uow.session, _record(1))
    with database.unit_of_work(write=False) as uow:
        stored = uow.session.get(AuditRecord, 1)
        assert stored is not None
        assert stored.data == {"spell_id": "acme/hello", "n": [1, 2], "ok": True}
        assert stored.at.replace(tzinfo=UTC) == AT
        assert stored.actor_id is None


def test_returning_rows_and_rowcounts_come_from_the_cursor(database: Database) -> None:
    with database.unit_of_work() as uow:
        uow.session.add(AuditHead(lane=1, seq=5, hash="g"))
        uow.session.flush()
        assert _BUMP.run(uow.session).fetchone()[0] == 6
        assert _SET.run(uow.session, {"hid": 1, "h": "new"}).rowcount == 1
        assert _SET.run(uow.session, {"hid": 2, "h": "none"}).rowcount == 0
    with database.unit_of_work(write=False) as uow:
        head = uow.session.get(AuditHead, 1)
        assert head is not None
        assert (head.seq, head.hash) == (6, "new")


def test_a_constraint_violation_is_sqlalchemys_integrity_error_and_nothing_is_kept(
    database: Database,
) -> None:
    with database.unit_of_work() as uow:
        _INSERT.run(uow.session, _record(1))
    with database.unit_of_work() as uow:
        _INSERT.run(uow.session, _record(2))
        with pytest.raises(IntegrityError):
            _INSERT.run(uow.session, _record(3, id="aud_1"))  # ids are unique
        uow.session.rollback()  # what the unit of work does with the error
    with database.unit_of_work() as uow:
        with pytest.raises(IntegrityError):
            _INSERT.run_many(uow.session, [_record(4), _record(5, id="aud_4")])
        uow.session.rollback()
    with database.unit_of_work(write=False) as uow:
        assert list(uow.session.scalars(select(AuditRecord.seq))) == [1]


def test_a_column_left_to_its_python_default_takes_the_full_path(database: Database) -> None:
    row = _record(1)
    del row["data"]  # ``default=dict`` is computed by SQLAlchemy's execution context
    with database.unit_of_work() as uow:
        _INSERT.run(uow.session, row)
        _INSERT.run_many(uow.session, [{**row, "seq": 2, "lane_seq": 2, "id": "aud_2"}])
    with database.unit_of_work(write=False) as uow:
        assert [r.data for r in uow.session.scalars(select(AuditRecord).order_by(AuditRecord.seq))] == [
            {},
            {},
        ]


def test_many_rows_in_one_call(database: Database) -> None:
    with database.unit_of_work() as uow:
        _INSERT.run_many(uow.session, [_record(seq) for seq in range(1, 4)])
    with database.unit_of_work(write=False) as uow:
        assert list(uow.session.scalars(select(AuditRecord.id).order_by(AuditRecord.seq))) == [
            "aud_1",
            "aud_2",
            "aud_3",
        ]
