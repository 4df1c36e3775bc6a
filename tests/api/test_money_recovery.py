"""A worker that dies between running and capturing a cast: after restart it is charged at most once."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest

from spell.api import create_app
from spell.config.server import ServerSettings
from spell.models import Cast, Hold
from spell.platform.ledger.service import LedgerService
from spell.platform.server import Platform
from spell.queue.base import Job
from spell.runtimes.base import CastRequest, CastResult, Runtime
from spell.storage.session import Database
from tests.api.money_helpers import FLAT, credit, publish_priced
from tests.fixtures.server import seed_maker, seed_user

pytestmark = pytest.mark.anyio


class WorkerKilled(BaseException):
    """Stands for the process dying after the sandbox returned (not an ``Exception``: a fault the
    process survives ends the cast right away; only the process's death leaves it running)."""


class DiesAfterRunning:
    """Runs the cast for real, then dies before the worker can record the end."""

    def __init__(self, inner: Runtime) -> None:
        self.inner = inner
        self.ran = threading.Event()

    def run(self, request: CastRequest) -> CastResult:
        self.inner.run(request)
        self.ran.set()
        raise WorkerKilled


async def _queue_paid_cast(platform: Platform, settings: ServerSettings, tmp_path: Path) -> tuple[str, str]:
    app = create_app(settings, platform=platform, manage=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://spell.test"
    ) as client:
        maker = await seed_maker(client, platform)
        await publish_priced(client, maker, tmp_path, FLAT)
        caster = seed_user(platform, "c@example.com", ["caster"])
        credit(platform, caster.user_id, 1_000_000)
        response = await client.post(
            "/v1/spells/acme/paid/cast",
            headers={**caster.headers, "Idempotency-Key": "k1"},
            json={"input": {"name": "x"}},
        )
    assert response.status_code == 202, response.text
    return str(response.json()["id"]), caster.user_id


def _state(db: Database, cast_id: str, user_id: str) -> tuple[str, str, int]:
    with db.unit_of_work(write=False) as uow:
        cast = uow.session.get(Cast, cast_id)
        hold = uow.session.get(Hold, cast_id)
        assert cast is not None
        assert hold is not None
        ledger = LedgerService()
        ledger.verify(uow)
        return cast.status, hold.status, ledger.balance(uow, user_id, "wallet", "USD").micros


# the worker thread dies with the process it stands for
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
async def test_a_cast_lost_after_running_is_released_not_charged(
    server_settings: ServerSettings, database: Database, runtimes: dict[str, Runtime], tmp_path: Path
) -> None:
    dying = DiesAfterRunning(runtimes["wasm"])
    first = Platform.build(server_settings, runtimes={"wasm": dying}, database=database)
    first.start()
    cast_id, user_id = await _queue_paid_cast(first, server_settings, tmp_path)
    assert dying.ran.wait(timeout=30)
    first.stop()
    assert _state(database, cast_id, user_id) == ("running", "held", 750_000)

    restarted = Platform.build(server_settings, runtimes=runtimes, database=database)
    restarted.start()
    try:
        assert _state(database, cast_id, user_id) == ("aborted", "released", 1_000_000)
        restarted.runner(Job(name="cast.run", id=cast_id, payload={"cast_id": cast_id}))  # a late redelivery
        assert _state(database, cast_id, user_id) == ("aborted", "released", 1_000_000)
    finally:
        restarted.stop()


async def test_a_cast_queued_when_the_worker_died_is_rerun_and_charged_once(
    server_settings: ServerSettings, database: Database, runtimes: dict[str, Runtime], tmp_path: Path
) -> None:
    never_started = Platform.build(server_settings, runtimes=runtimes, database=database)
    cast_id, user_id = await _queue_paid_cast(never_started, server_settings, tmp_path)
    assert _state(database, cast_id, user_id) == ("queued", "held", 750_000)

    restarted = Platform.build(server_settings, runtimes=runtimes, database=database)
    restarted.start()
    restarted.stop()  # drains the re-published job, joins the workers, ends the sweep
    try:
        assert _state(database, cast_id, user_id) == ("succeeded", "captured", 750_000)
        restarted.runner(Job(name="cast.run", id=cast_id, payload={"cast_id": cast_id}))
        assert _state(database, cast_id, user_id) == ("succeeded", "captured", 750_000)
    finally:
        restarted.db.engine.dispose()
