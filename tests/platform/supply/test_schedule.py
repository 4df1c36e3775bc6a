"""``spell serve`` re-scans every ``rescan_interval_s`` while it runs; 0 leaves scans to imports."""

from __future__ import annotations

import threading

from spell.config.server import ServerSettings
from spell.config.supply import SupplySettings
from spell.platform.server import Platform
from spell.platform.supply.rescan import ScanResult
from spell.storage.session import Database


def _started(settings: ServerSettings, database: Database, interval: int) -> Platform:
    platform = Platform.build(
        settings, runtimes={}, database=database, supply=SupplySettings(rescan_interval_s=interval)
    )
    platform.start()
    return platform


def _rescanners() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "spell-supply-rescan"]


def test_a_started_platform_rescans_on_its_interval_and_stops_with_it(
    server_settings: ServerSettings, database: Database
) -> None:
    platform = _started(server_settings, database, 1)
    scanned = threading.Event()

    def run(db: Database) -> ScanResult:
        assert db is platform.db
        scanned.set()
        raise RuntimeError("the scan fails; the schedule goes on")  # logged, not fatal

    platform.supply_scan.run = run  # type: ignore[method-assign]
    try:
        assert scanned.wait(10)
        scanned.clear()
        assert scanned.wait(10)  # a failed scan did not end the schedule
        (thread,) = _rescanners()
    finally:
        platform.stop()
    thread.join(10)
    assert not thread.is_alive()


def test_an_interval_of_zero_schedules_no_rescan(server_settings: ServerSettings, database: Database) -> None:
    platform = _started(server_settings, database, 0)
    try:
        assert _rescanners() == []
    finally:
        platform.stop()
