"""The orphan sweep: it keeps going after a failed round, and re-queues only casts queued past the grace."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from spell.config.server import ServerSettings
from spell.kit.clock import FakeClock
from spell.models import Cast, CastStatus, Publisher, Spell, Tenant, User
from spell.platform.cast.recovery import ORPHAN_GRACE_S
from spell.platform.server import Platform
from spell.storage.engine import make_engine
from spell.storage.migrate import upgrade
from spell.storage.session import Database


def test_a_failed_sweep_is_logged_and_the_next_round_still_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    upgrade(url)
    settings = ServerSettings.for_home(tmp_path, database_url=url, secret_key="k", sweep_seconds=0.01)
    platform = Platform.build(settings, runtimes={}, database=Database(make_engine(url)))
    rounds: list[int] = []
    second = threading.Event()

    def sweep() -> int:
        rounds.append(1)
        if len(rounds) == 1:
            raise RuntimeError("database went away")
        second.set()
        return 0

    monkeypatch.setattr(platform.recovery, "sweep_orphans", sweep)
    platform.start()
    try:
        assert second.wait(5)
    finally:
        platform.stop()
    assert "sweeping orphaned casts failed" in caplog.text


def _queued_cast(platform: Platform, cast_id: str, created_at: datetime) -> None:
    with platform.db.unit_of_work() as uow:
        if uow.session.get(User, "usr_1") is None:
            uow.session.add(Tenant(id="ten_1", name="acme", created_at=created_at))
            uow.session.flush()
            uow.session.add(Publisher(name="acme", tenant_id="ten_1", created_at=created_at))
            uow.session.add(
                User(id="usr_1", tenant_id="ten_1", email="a@example.com", roles=[], created_at=created_at)
            )
            uow.session.flush()
            uow.session.add(
                Spell(
                    id="acme/x",
                    publisher="acme",
                    tenant_id="ten_1",
                    name="x",
                    tags=[],
                    latest_version="1",
                    created_at=created_at,
                    updated_at=created_at,
                )
            )
            uow.session.flush()
        uow.session.add(
            Cast(
                id=cast_id,
                tenant_id="ten_1",
                user_id="usr_1",
                spell_id="acme/x",
                version="1",
                spell_digest="sha256:x",
                status=CastStatus.QUEUED,
                idempotency_key=cast_id,
                request_digest="d",
                input={},
                input_digest="d",
                cancel_requested=False,
                created_at=created_at,
            )
        )


def test_a_sibling_process_takes_casts_a_dead_one_left_queued_and_not_fresh_ones(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    upgrade(url)
    settings = ServerSettings.for_home(tmp_path, database_url=url, secret_key="k", processes=2)
    clock = FakeClock(datetime(2026, 3, 1, tzinfo=UTC))
    platform = Platform.build(settings, runtimes={}, database=Database(make_engine(url)), clock=clock)
    published: list[str] = []
    platform.queue.publish = lambda job: published.append(job.id)  # type: ignore[method-assign]
    try:
        _queued_cast(platform, "cast_old", clock.now())
        clock.advance(ORPHAN_GRACE_S - 1)
        _queued_cast(platform, "cast_new", clock.now())
        platform.sweep()
        assert published == []  # both may still be waiting in a live sibling's queue
        clock.advance(2)
        platform.sweep()
        assert published == ["cast_old"]
    finally:
        platform.db.dispose()
