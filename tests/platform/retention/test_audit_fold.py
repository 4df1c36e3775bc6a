"""Audit records past their period fold into a signed checkpoint: ``verify`` still passes, and fails when
a kept record or the checkpoint is tampered with; money records stay for the ledger period."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, update

from spell.kit.clock import FakeClock
from spell.kit.money import Money
from spell.models import AuditCheckpoint, AuditRecord
from spell.platform.audit.chain import record_hash
from spell.platform.audit.checkpoint import CheckpointKey, signed_body
from spell.platform.audit.errors import AuditChainBroken
from spell.platform.server import Platform
from tests.platform.audit.lanes import lane_zero_held, postgres_only
from tests.platform.retention.helpers import DAY, audit_at

NOT_MONEY = "webhook_secret.rotated"


def _fold(platform: Platform, clock: FakeClock, *, before: int = 0) -> None:
    """After ``before`` money records: records 1-5 (not money) and 6-7 (money) made 450 days ago,
    8-10 made 350 days ago (all shifted by ``before``), one run."""
    audit_at(platform, NOT_MONEY, count=5)
    audit_at(platform, "charge.captured", actor_id="usr_payer", count=2)
    clock.advance(100 * DAY)
    audit_at(platform, NOT_MONEY, count=3)
    clock.advance(350 * DAY)
    report = platform.retention.run(platform.db)
    assert (report.audit_folded, report.audit_checkpoint_seq) == (5, 7 + before)


def _seqs(platform: Platform) -> list[int]:
    with platform.db.unit_of_work(write=False) as uow:
        return list(uow.session.scalars(select(AuditRecord.seq).order_by(AuditRecord.seq)))


def _broken(platform: Platform) -> dict[str, object]:
    with pytest.raises(AuditChainBroken) as broken, platform.db.unit_of_work(write=False) as uow:
        platform.audit.verify(uow)
    assert broken.value.code == "AUDIT_CHAIN_BROKEN"
    return broken.value.details


def _tamper(platform: Platform, seq: int, **values: object) -> None:
    with platform.db.unit_of_work() as uow:
        uow.session.execute(update(AuditRecord).where(AuditRecord.seq == seq).values(**values))


def test_old_records_fold_into_a_signed_checkpoint_and_the_chain_still_verifies(
    platform: Platform, clock: FakeClock
) -> None:
    _fold(platform, clock)

    assert _seqs(platform) == [6, 7, 8, 9, 10, 11]  # money kept; 11 records the run
    with platform.db.unit_of_work(write=False) as uow:
        check = platform.audit.verify(uow)
        (checkpoint,) = uow.session.scalars(select(AuditCheckpoint))
    assert check.records == 6
    assert (checkpoint.last_seq, checkpoint.folded, checkpoint.kept) == (7, 5, 2)
    assert checkpoint.key_id == CheckpointKey.from_secret(platform.secret).key_id
    assert CheckpointKey.from_secret(platform.secret).is_valid(checkpoint)


def test_verify_fails_when_a_kept_record_below_the_checkpoint_is_edited(
    platform: Platform, clock: FakeClock
) -> None:
    _fold(platform, clock)
    _tamper(platform, 6, data={"i": 99})
    assert _broken(platform)["problem"] == "edited"


def test_verify_fails_when_a_kept_record_is_rewritten_with_a_fresh_hash(
    platform: Platform, clock: FakeClock
) -> None:
    _fold(platform, clock)
    with platform.db.unit_of_work() as uow:
        record = uow.session.get(AuditRecord, 6)
        assert record is not None
        record.data = {"i": 99}
        record.hash = record_hash(record)
    assert _broken(platform)["problem"] == "checkpoint_mismatch"


def test_verify_fails_when_a_kept_record_is_deleted(platform: Platform, clock: FakeClock) -> None:
    _fold(platform, clock)
    with platform.db.unit_of_work() as uow:
        uow.session.execute(delete(AuditRecord).where(AuditRecord.seq == 7))
    assert _broken(platform)["problem"] == "checkpoint_mismatch"


def test_verify_fails_when_a_record_after_the_checkpoint_is_edited(
    platform: Platform, clock: FakeClock
) -> None:
    _fold(platform, clock)
    _tamper(platform, 8, subject="someone else")
    details = _broken(platform)
    assert (details["problem"], details["seq"]) == ("edited", 8)


def test_verify_fails_when_the_checkpoint_is_edited(platform: Platform, clock: FakeClock) -> None:
    _fold(platform, clock)
    with platform.db.unit_of_work() as uow:
        uow.session.execute(update(AuditCheckpoint).values(folded=AuditCheckpoint.folded - 1))
    assert _broken(platform)["problem"] == "checkpoint_signature"


def test_verify_fails_for_a_checkpoint_signed_with_another_key(platform: Platform, clock: FakeClock) -> None:
    _fold(platform, clock)
    with platform.db.unit_of_work() as uow:
        (checkpoint,) = uow.session.scalars(select(AuditCheckpoint))
        checkpoint.head_hash = "sha256:" + "f" * 64  # moved, then signed by a key of the forger's own
        CheckpointKey.from_secret("not the deployment's secret").sign(checkpoint)
    assert _broken(platform)["problem"] == "checkpoint_signature"


def test_verify_fails_when_the_newest_checkpoint_is_deleted(platform: Platform, clock: FakeClock) -> None:
    _fold(platform, clock)
    with platform.db.unit_of_work() as uow:
        uow.session.execute(delete(AuditCheckpoint))
    assert _broken(platform)["problem"] == "deleted"


def test_money_records_fold_after_the_ledger_period_and_the_ledger_still_verifies(
    platform: Platform, clock: FakeClock
) -> None:
    with platform.db.unit_of_work() as uow:
        user = platform.auth.create_user(uow, email="payer@example.com", roles=["caster"])
        platform.wallet.grant(uow, user.id, Money(5_000_000, "USD"), reference="r1")
    _fold(platform, clock, before=1)
    clock.advance(7 * 365 * DAY)  # every record is now past the ledger period

    report = platform.retention.run(platform.db)

    assert report.audit_folded == 7  # the grant, the two charges, the three younger ones, the first run's
    with platform.db.unit_of_work(write=False) as uow:
        check = platform.audit.verify(uow)
        platform.ledger.verify(uow)
        (checkpoint,) = uow.session.scalars(select(AuditCheckpoint))  # only the newest is kept
    assert check.records == 1  # the second run's own record
    assert (checkpoint.kept, checkpoint.folded) == (0, 12)


@postgres_only
def test_retention_folds_and_checkpoints_each_lane(platform: Platform, clock: FakeClock) -> None:
    with lane_zero_held(platform.db, platform.audit):  # lane 0: 1 record; lane 1: 5, 2 of them money
        audit_at(platform, "webhook_secret.rotated", count=2)
        audit_at(platform, "charge.captured", actor_id="usr_payer", count=2)
        clock.advance(450 * DAY)
        audit_at(platform, "webhook_secret.rotated", count=1)  # young: lane 1, number 5

    report = platform.retention.run(platform.db)

    assert report.audit_folded == 3  # lane 0's record and lane 1's two old ones not about money
    assert report.audit_checkpoints == {0: 1, 1: 4}
    assert report.audit_checkpoint_seq == 1
    with platform.db.unit_of_work(write=False) as uow:
        check = platform.audit.verify(uow)
        checkpoints = {c.lane: c for c in uow.session.scalars(select(AuditCheckpoint))}
        kept = list(uow.session.scalars(select(AuditRecord.lane_seq).where(AuditRecord.lane == 1)))
    assert sorted(checkpoints) == [0, 1]
    assert (checkpoints[0].last_seq, checkpoints[0].folded, checkpoints[0].kept) == (1, 1, 0)
    assert (checkpoints[1].last_seq, checkpoints[1].folded, checkpoints[1].kept) == (4, 2, 2)
    assert {3, 4, 5} <= set(kept)
    assert check.records == 4  # the two kept, the young one and the run's own record
    key = CheckpointKey.from_secret(platform.secret)
    assert all(key.is_valid(c) for c in checkpoints.values())
    assert b'"lane":1' in signed_body(checkpoints[1])

    with platform.db.unit_of_work() as uow:  # a kept money record of lane 1, edited
        uow.session.execute(
            update(AuditRecord).where(AuditRecord.lane == 1, AuditRecord.lane_seq == 3).values(data={})
        )
    details = _broken(platform)
    assert (details["lane"], details["lane_seq"], details["problem"]) == (1, 3, "edited")
