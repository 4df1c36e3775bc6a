"""A legal hold on a user or a tenant exempts its data from every rule until it is released."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from spell.kit.clock import FakeClock
from spell.models import Artifact, AuditRecord, Cast
from spell.platform.retention.errors import LegalHoldTargetNotFound
from spell.platform.server import Platform
from tests.platform.retention.helpers import DAY, Caster, add_artifact, audit_at, ended_cast, seed_caster


def _untouched(platform: Platform, cast_id: str, artifact_id: str) -> bool:
    with platform.db.unit_of_work(write=False) as uow:
        cast = uow.session.get(Cast, cast_id)
        artifact = uow.session.get(Artifact, artifact_id)
        assert cast is not None
        assert artifact is not None
        return (
            cast.input == {"secret": "the caster's words", "n": 1}
            and cast.output is not None
            and cast.logs_pruned_at is None
            and artifact.deleted_at is None
            and platform.artifacts.blobs.exists(artifact.sha256)
        )


def _actors(platform: Platform) -> set[str | None]:
    with platform.db.unit_of_work(write=False) as uow:
        return set(uow.session.scalars(select(AuditRecord.actor_id)))


def _old_data(platform: Platform, clock: FakeClock, caster: Caster, tmp_path: Path) -> tuple[str, str]:
    cast_id = ended_cast(platform, caster, clock.now())
    artifact_id = add_artifact(
        platform,
        cast_id,
        caster.tenant_id,
        caster.user_id.encode(),
        clock.now() + timedelta(days=1),
        tmp_path,
    )
    audit_at(platform, "cast.created", actor_id=caster.user_id, tenant_id=caster.tenant_id)
    return cast_id, artifact_id


@pytest.mark.parametrize("kind", ["user", "tenant"])
def test_held_data_is_exempt_from_every_rule_until_released(
    platform: Platform, clock: FakeClock, tmp_path: Path, kind: str
) -> None:
    held, free = seed_caster(platform, "hal"), seed_caster(platform, "fay")
    held_cast, held_artifact = _old_data(platform, clock, held, tmp_path)
    free_cast, free_artifact = _old_data(platform, clock, free, tmp_path)
    target = held.user_id if kind == "user" else held.tenant_id
    with platform.db.unit_of_work() as uow:
        out = platform.legal_holds.hold(
            uow, "user" if kind == "user" else "tenant", target, "case 17", actor_id=None
        )
    assert (out.legal_hold, out.reason) == (True, "case 17")
    clock.advance(500 * DAY)

    report = platform.retention.run(platform.db)

    assert (report.inputs_reduced, report.artifacts_deleted) == (1, 1)
    assert _untouched(platform, held_cast, held_artifact)
    assert not _untouched(platform, free_cast, free_artifact)
    assert held.user_id in _actors(platform)
    assert free.user_id not in _actors(platform)
    with platform.db.unit_of_work(write=False) as uow:
        platform.audit.verify(uow)
        assert platform.legal_holds.is_held(uow, held.user_id)
        assert not platform.legal_holds.is_held(uow, free.user_id)

    with platform.db.unit_of_work() as uow:
        platform.legal_holds.release(uow, "user" if kind == "user" else "tenant", target, actor_id=None)
    clock.advance(60)
    after = platform.retention.run(platform.db)

    assert (after.inputs_reduced, after.artifacts_deleted) == (1, 1)
    assert not _untouched(platform, held_cast, held_artifact)
    assert held.user_id not in _actors(platform)
    with platform.db.unit_of_work(write=False) as uow:
        platform.audit.verify(uow)
        assert not platform.legal_holds.is_held(uow, held.user_id)


def test_setting_and_releasing_a_hold_is_audited_once(platform: Platform) -> None:
    caster = seed_caster(platform, "ivy")
    with platform.db.unit_of_work() as uow:
        platform.legal_holds.hold(uow, "user", caster.user_id, "case 1", actor_id="usr_ops")
        platform.legal_holds.hold(uow, "user", caster.user_id, "case 1", actor_id="usr_ops")  # no change
        platform.legal_holds.release(uow, "user", caster.user_id, actor_id="usr_ops")
        platform.legal_holds.release(uow, "user", caster.user_id, actor_id="usr_ops")  # not held: no change
    with platform.db.unit_of_work(write=False) as uow:
        records = [r for r in platform.audit.list(uow) if r.action.startswith("legal_hold.")]
    assert [(r.action, r.subject, r.data, r.actor_id) for r in records] == [
        ("legal_hold.set", f"user:{caster.user_id}", {"reason": "case 1"}, "usr_ops"),
        ("legal_hold.released", f"user:{caster.user_id}", {"reason": "case 1"}, "usr_ops"),
    ]


def test_a_hold_on_someone_unknown_is_refused(platform: Platform) -> None:
    with pytest.raises(LegalHoldTargetNotFound) as refused, platform.db.unit_of_work() as uow:
        platform.legal_holds.hold(uow, "tenant", "ten_nobody", "case", actor_id=None)
    assert refused.value.code == "LEGAL_HOLD_TARGET_NOT_FOUND"
    with platform.db.unit_of_work(write=False) as uow:
        assert not platform.legal_holds.is_held(uow, "usr_nobody")
