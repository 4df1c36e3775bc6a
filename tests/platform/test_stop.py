"""A stopped platform lets go of what its runtimes hold between casts (``runtimes.base.Closes``)."""

from __future__ import annotations

from pathlib import Path

from spell.config.server import ServerSettings
from spell.platform.server import Platform
from spell.runtimes.base import CastRequest, CastResult, Closes, Outcome
from spell.storage.session import Database


class _Holding:
    """A runtime that keeps something between casts."""

    def __init__(self) -> None:
        self.closed = 0

    def run(self, request: CastRequest) -> CastResult:
        return CastResult(outcome=Outcome.SUCCEEDED)

    def close(self) -> None:
        self.closed += 1


class _Plain:
    """A runtime that holds nothing: it has no ``close``."""

    def run(self, request: CastRequest) -> CastResult:
        return CastResult(outcome=Outcome.SUCCEEDED)


def test_stop_closes_each_runtime_that_holds_something_once(tmp_path: Path, database: Database) -> None:
    settings = ServerSettings.for_home(tmp_path / "home", secret_key="s")
    holding, plain = _Holding(), _Plain()
    assert isinstance(holding, Closes)
    assert not isinstance(plain, Closes)
    platform = Platform.build(settings, runtimes={"wasm": holding, "host": plain}, database=database)
    platform.start()
    assert holding.closed == 0
    platform.stop()
    assert holding.closed == 1
