"""Retention runs on a schedule in every started server and worker, on two nodes at once safely, and
gives the privacy service's erasure purge its turn."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from spell.config.server import ServerSettings
from spell.kit.clock import FakeClock
from spell.platform.retention.schemas import RetentionReport
from spell.platform.server import Platform
from spell.storage.session import Database, UnitOfWork
from tests.platform.retention.helpers import DAY, audit_at, build, ended_cast, seed_caster


def _retainers() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "spell-retention"]


def test_a_started_platform_runs_retention_on_its_interval_and_stops_with_it(
    server_settings: ServerSettings, database: Database, clock: FakeClock
) -> None:
    platform = build(server_settings, database, clock, interval_s=1)
    platform.start()
    ran = threading.Event()

    def run(db: Database) -> RetentionReport:
        assert db is platform.db
        ran.set()
        raise RuntimeError("the run fails; the schedule goes on")  # logged, not fatal

    platform.retention.run = run  # type: ignore[assignment]
    try:
        assert ran.wait(10)
        ran.clear()
        assert ran.wait(10)
        (thread,) = _retainers()
    finally:
        platform.stop()
    thread.join(10)
    assert not thread.is_alive()


def test_an_interval_of_zero_schedules_no_run(
    server_settings: ServerSettings, database: Database, clock: FakeClock
) -> None:
    platform = build(server_settings, database, clock, interval_s=0)
    platform.start()
    try:
        assert _retainers() == []
    finally:
        platform.stop()


def test_two_nodes_running_at_once_do_each_change_once(
    server_settings: ServerSettings, database: Database, clock: FakeClock
) -> None:
    nodes = [build(server_settings, database, clock, batch_size=3) for _ in range(2)]
    caster = seed_caster(nodes[0], "kim")
    for _ in range(12):
        ended_cast(nodes[0], caster, clock.now())
    audit_at(nodes[0], "webhook_secret.rotated", count=12)
    clock.advance(500 * DAY)
    try:
        with ThreadPoolExecutor(2) as pool:
            reports = list(pool.map(lambda node: node.retention.run(node.db), nodes))
        assert sum(r.inputs_reduced for r in reports) == 12
        assert sum(r.outputs_pruned for r in reports) == 12
        assert sum(r.audit_folded for r in reports) == 12
        with nodes[0].db.unit_of_work(write=False) as uow:
            nodes[0].audit.verify(uow)
    finally:
        for node in nodes:
            node.stop()


class _Purge:
    def __init__(self) -> None:
        self.calls: list[datetime] = []

    def erase_due(self, uow: UnitOfWork, now: datetime) -> int:
        self.calls.append(now)
        return 2


def test_the_erasure_hook_runs_in_each_run_and_is_reported(platform: Platform, clock: FakeClock) -> None:
    purge = _Purge()
    platform.retention.erasure = purge
    report = platform.retention.run(platform.db)
    assert purge.calls == [clock.now()]
    assert report.erasures_purged == 2
    dry = platform.retention.run(platform.db, dry_run=True)
    assert (purge.calls, dry.erasures_purged) == ([clock.now()], 0)


def test_verifying_while_folds_commit_never_reports_a_broken_chain(
    server_settings: ServerSettings, database: Database, clock: FakeClock
) -> None:
    folder = build(server_settings, database, clock, batch_size=1)
    audit_at(folder, "webhook_secret.rotated", count=30)
    clock.advance(500 * DAY)
    checks: list[int] = []
    try:
        with ThreadPoolExecutor(1) as pool:
            folding = pool.submit(folder.retention.run, folder.db)
            while not folding.done():
                with folder.db.unit_of_work(write=False) as uow:
                    checks.append(folder.audit.verify(uow).records)
            assert folding.result().audit_folded == 30
        with folder.db.unit_of_work(write=False) as uow:
            assert folder.audit.verify(uow).records == 1  # the run's own record
        assert checks  # verified at least once while folding
    finally:
        folder.stop()
