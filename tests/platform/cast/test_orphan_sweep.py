"""The orphan sweep of servers sharing a broker: it keeps going after a failed round."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import spell.platform.server as server_module
from spell.config.server import ServerSettings
from spell.platform.server import Platform
from spell.storage.engine import make_engine
from spell.storage.migrate import upgrade
from spell.storage.session import Database


def test_a_failed_sweep_is_logged_and_the_next_round_still_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    upgrade(url)
    settings = ServerSettings.for_home(tmp_path, database_url=url, secret_key="k")
    platform = Platform.build(settings, runtimes={}, database=Database(make_engine(url)))
    monkeypatch.setattr(server_module, "ORPHAN_SWEEP_SECONDS", 0.01)
    rounds: list[int] = []
    second = threading.Event()

    def sweep() -> int:
        rounds.append(1)
        if len(rounds) == 1:
            raise RuntimeError("database went away")
        second.set()
        return 0

    monkeypatch.setattr(platform.runner, "sweep_orphans", sweep)
    worker = threading.Thread(target=platform._sweep)
    worker.start()
    try:
        assert second.wait(5)
    finally:
        platform._sweeping.set()
        worker.join(5)
    assert not worker.is_alive()
    assert "sweeping orphaned casts failed" in caplog.text
    platform.db.dispose()
