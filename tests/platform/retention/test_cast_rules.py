"""The cast rules: inputs become their digest, outputs and logs go, each after its period, in batches."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from spell.kit.canonical_json import canonical_sha256
from spell.kit.clock import FakeClock
from spell.models import Cast, CastEvent
from spell.platform.server import Platform
from tests.platform.retention.helpers import DAY, ended_cast, seed_caster


def _cast(platform: Platform, cast_id: str) -> Cast:
    with platform.db.unit_of_work(write=False) as uow:
        row = uow.session.get(Cast, cast_id)
        assert row is not None
        uow.session.expunge(row)
        return row


def _event_types(platform: Platform, cast_id: str) -> list[str]:
    with platform.db.unit_of_work(write=False) as uow:
        query = select(CastEvent.type).where(CastEvent.cast_id == cast_id).order_by(CastEvent.seq)
        return list(uow.session.scalars(query))


def test_inputs_of_casts_ended_past_the_period_are_reduced_to_their_digest(
    platform: Platform, clock: FakeClock
) -> None:
    caster = seed_caster(platform, "ana")
    old = [ended_cast(platform, caster, clock.now(), data={"n": n, "name": "Ana"}) for n in range(5)]
    clock.advance(25 * DAY)
    young = ended_cast(platform, caster, clock.now())
    running = ended_cast(platform, caster, None)
    clock.advance(6 * DAY)  # the first five ended 31 days ago, the young one 6

    report = platform.retention.run(platform.db)

    assert report.inputs_reduced == 5
    assert report.batches >= 3  # five casts in batches of two: no single long transaction
    for n, cast_id in enumerate(old):
        row = _cast(platform, cast_id)
        assert row.input == canonical_sha256({"n": n, "name": "Ana"}) == row.input_digest
        assert row.input_reduced_at == clock.now()
    assert _cast(platform, young).input == {"secret": "the caster's words", "n": 1}
    assert _cast(platform, running).input == {"secret": "the caster's words", "n": 1}
    assert _cast(platform, running).input_reduced_at is None


def test_outputs_and_error_messages_are_deleted_after_the_output_period(
    platform: Platform, clock: FakeClock
) -> None:
    caster = seed_caster(platform, "ben")
    old = ended_cast(platform, caster, clock.now())
    clock.advance(60 * DAY)
    young = ended_cast(platform, caster, clock.now())
    clock.advance(31 * DAY)

    report = platform.retention.run(platform.db)

    assert (report.inputs_reduced, report.outputs_pruned) == (2, 1)
    pruned, kept = _cast(platform, old), _cast(platform, young)
    assert (pruned.output, pruned.error_message, pruned.status) == (None, None, "succeeded")
    assert pruned.output_pruned_at == clock.now()
    assert kept.output == {"echo": {"secret": "the caster's words", "n": 1}}
    assert kept.output_pruned_at is None


def test_log_and_progress_events_go_after_the_log_period_and_the_lifecycle_stays(
    platform: Platform, clock: FakeClock
) -> None:
    caster = seed_caster(platform, "cy")
    old = ended_cast(platform, caster, clock.now(), logs=3)
    clock.advance(80 * DAY)
    young = ended_cast(platform, caster, clock.now(), logs=3)
    clock.advance(11 * DAY)

    report = platform.retention.run(platform.db)

    assert (report.logs_pruned, report.log_events_deleted) == (1, 4)
    assert _event_types(platform, old) == ["queued", "running", "succeeded"]
    assert _event_types(platform, young) == [
        "queued",
        "running",
        "log",
        "log",
        "log",
        "progress",
        "succeeded",
    ]


def test_a_second_run_changes_nothing_and_a_dry_run_only_counts(platform: Platform, clock: FakeClock) -> None:
    caster = seed_caster(platform, "dee")
    cast_ids = [ended_cast(platform, caster, clock.now()) for _ in range(3)]
    clock.advance(100 * DAY)

    dry = platform.retention.run(platform.db, dry_run=True)
    assert (dry.dry_run, dry.inputs_reduced, dry.outputs_pruned, dry.logs_pruned) == (True, 3, 3, 3)
    assert _cast(platform, cast_ids[0]).input == {"secret": "the caster's words", "n": 1}

    first = platform.retention.run(platform.db)
    clock.advance(60)
    second = platform.retention.run(platform.db)

    assert (first.inputs_reduced, first.outputs_pruned, first.logs_pruned) == (3, 3, 3)
    assert (second.inputs_reduced, second.outputs_pruned, second.logs_pruned, second.log_events_deleted) == (
        0,
        0,
        0,
        0,
    )
    assert _cast(platform, cast_ids[0]).input_reduced_at == clock.now() - timedelta(seconds=60)


def test_a_cast_whose_input_was_reduced_cannot_be_retried(platform: Platform, clock: FakeClock) -> None:
    from sqlalchemy import update

    from spell.platform.auth.schemas import Principal
    from spell.platform.cast.errors import NotRetryable

    caster = seed_caster(platform, "eve")
    cast_id = ended_cast(platform, caster, clock.now())
    with platform.db.unit_of_work() as uow:
        uow.session.execute(update(Cast).where(Cast.id == cast_id).values(status="failed"))
    clock.advance(31 * DAY)
    platform.retention.run(platform.db)
    principal = Principal(caster.user_id, caster.tenant_id, ("caster",), ("cast:invoke",))
    with pytest.raises(NotRetryable) as refused:
        platform.casts.retry(principal, cast_id)
    assert refused.value.code == "NOT_RETRYABLE"
    assert "input_reduced_at" in refused.value.details
