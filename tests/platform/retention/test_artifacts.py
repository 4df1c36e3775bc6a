"""Expired artifacts: their blobs are deleted from the store (local files or S3), their rows marked
deleted, and a download still answers 410; bytes another live artifact shares stay."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from spell.config.server import ServerSettings
from spell.kit.clock import FakeClock
from spell.models import Artifact
from spell.platform.artifact.errors import ArtifactExpired
from spell.platform.server import Platform
from spell.storage.session import Database
from tests.fixtures.s3 import S3Bucket
from tests.platform.retention.helpers import DAY, add_artifact, build, ended_cast, seed_caster

DAY_ = timedelta(days=1)


def _deleted_at(platform: Platform, artifact_id: str) -> object:
    with platform.db.unit_of_work(write=False) as uow:
        row = uow.session.get(Artifact, artifact_id)
        assert row is not None
        return row.deleted_at


def _sha(platform: Platform, artifact_id: str) -> str:
    with platform.db.unit_of_work(write=False) as uow:
        row = uow.session.get(Artifact, artifact_id)
        assert row is not None
        return row.sha256


def _expired_blobs_go(platform: Platform, clock: FakeClock, tmp_path: Path) -> None:
    caster = seed_caster(platform, "eve")
    cast_id = ended_cast(platform, caster, clock.now())
    now = clock.now()
    gone = [
        add_artifact(platform, cast_id, caster.tenant_id, f"old {n}".encode(), now + DAY_, tmp_path)
        for n in range(3)
    ]
    shared_old = add_artifact(platform, cast_id, caster.tenant_id, b"shared", now + DAY_, tmp_path)
    shared_live = add_artifact(platform, cast_id, caster.tenant_id, b"shared", now + 10 * DAY_, tmp_path)
    live = add_artifact(platform, cast_id, caster.tenant_id, b"live", now + 10 * DAY_, tmp_path)
    clock.advance(2 * DAY)

    report = platform.retention.run(platform.db)

    blobs = platform.artifacts.blobs
    assert (report.artifacts_deleted, report.blobs_deleted) == (4, 3)
    for artifact_id in gone:
        assert _deleted_at(platform, artifact_id) == clock.now()
        assert not blobs.exists(_sha(platform, artifact_id))
    assert _deleted_at(platform, shared_old) == clock.now()
    assert blobs.exists(_sha(platform, shared_live))  # still backs an artifact that has not expired
    assert _deleted_at(platform, live) is None
    assert blobs.exists(_sha(platform, live))
    expires = int((clock.now() + timedelta(minutes=5)).timestamp())
    with pytest.raises(ArtifactExpired) as refused, platform.db.unit_of_work(write=False) as uow:
        platform.artifacts.open_signed(uow, gone[0], expires, platform.artifacts.sign(gone[0], expires))
    assert refused.value.code == "ARTIFACT_EXPIRED"

    clock.advance(9 * DAY)
    later = platform.retention.run(platform.db)
    assert (later.artifacts_deleted, later.blobs_deleted) == (2, 2)
    assert not blobs.exists(_sha(platform, shared_live))


def test_expired_artifacts_lose_their_local_blobs(
    platform: Platform, clock: FakeClock, tmp_path: Path
) -> None:
    _expired_blobs_go(platform, clock, tmp_path)


def test_expired_artifacts_lose_their_blobs_in_s3(
    server_settings: ServerSettings, database: Database, clock: FakeClock, s3_bucket: S3Bucket, tmp_path: Path
) -> None:
    settings = replace(server_settings, blob_url=s3_bucket.url, blob_s3_endpoint_url=s3_bucket.endpoint_url)
    platform = build(settings, database, clock)
    try:
        _expired_blobs_go(platform, clock, tmp_path)
        listed = s3_bucket.client.list_objects_v2(Bucket=s3_bucket.name, Prefix="artifacts/sha256/")
        assert listed.get("KeyCount", 0) == 0
    finally:
        platform.stop()
