"""The delivery worker on both databases: one claim per due delivery however many workers look, a claim
whose worker died lapses, progress milestones and refunds go through the same outbox."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from spell.config.server import ServerSettings
from spell.config.webhooks import WebhookSettings
from spell.kit.clock import FakeClock
from spell.models import Cast, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from spell.platform.server import Platform
from spell.platform.webhook.delivery import DeliveryWorker
from spell.platform.webhook.service import Answer, WebhookSender
from spell.runtimes.egress import EgressPolicy
from tests.fakes.webhook_receiver import Receiver
from tests.fixtures.server import Caller, seed_user

SETTINGS = WebhookSettings(retry_schedule=(60, 300))


class Counting(WebhookSender):
    """Answers as a receiver would, without the network, and counts the attempts."""

    def __init__(self, status: int = 200) -> None:
        super().__init__(egress=EgressPolicy.unsafe_private_allowed())
        self.status = status
        self.sent: list[str] = []

    def attempt(self, url: str, msg_id: str, event: str, body: bytes, *, secrets: Sequence[str]) -> Answer:
        self.sent.append(msg_id)
        return Answer(self.status, None, 1)


@pytest.fixture
def server_settings(tmp_path: Path, database_url: str) -> ServerSettings:
    return ServerSettings.for_home(tmp_path / "home", database_url=database_url, allow_private_webhooks=True)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 1, 1, tzinfo=UTC))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    served = Receiver()
    yield served
    served.close()


def _worker(platform: Platform, clock: FakeClock, sender: WebhookSender) -> DeliveryWorker:
    return DeliveryWorker(
        platform.db, platform.webhooks, platform.webhook_secrets, sender, SETTINGS, clock=clock
    )


def _quiet(platform: Platform, clock: FakeClock) -> Caller:
    """A tenant with one endpoint taking every event; the platform's own worker sends nothing."""
    platform.casts.webhooks = None
    platform.webhooks.clock = clock
    platform.webhooks.endpoints.clock = clock
    caller = seed_user(platform, "a@example.com", ["caster"])
    with platform.db.unit_of_work() as uow:
        platform.webhooks.endpoints.add(uow, caller.tenant_id, "http://127.0.0.1:9/hook")
    return caller


def _emit(platform: Platform, tenant_id: str, event: str = "cast.refunded") -> str:
    with platform.db.unit_of_work() as uow:
        (delivery_id,) = platform.webhooks.emit(uow, tenant_id, event, {"id": "cast_1"})
    return delivery_id


def _row(platform: Platform, delivery_id: str) -> WebhookDelivery:
    with platform.db.unit_of_work(write=False) as uow:
        row = uow.session.get(WebhookDelivery, delivery_id)
        assert row is not None
        uow.session.expunge(row)
        return row


def test_two_workers_never_send_the_same_attempt(platform: Platform, clock: FakeClock) -> None:
    caller = _quiet(platform, clock)
    delivery_id = _emit(platform, caller.tenant_id)
    first, second = Counting(), Counting()
    one, other = _worker(platform, clock, first), _worker(platform, clock, second)
    claimed = one._claim()
    assert [job.id for job in claimed] == [delivery_id]
    assert other._claim() == []  # held by the first worker's claim
    assert other.run_due() == 0
    one._attempt(first, claimed[0])
    assert (first.sent, second.sent) == ([delivery_id], [])
    assert _row(platform, delivery_id).status == "delivered"


def test_a_claim_whose_worker_died_lapses_and_the_delivery_is_tried_again(
    platform: Platform, clock: FakeClock
) -> None:
    caller = _quiet(platform, clock)
    delivery_id = _emit(platform, caller.tenant_id)
    dead = _worker(platform, clock, Counting())
    assert len(dead._claim()) == 1  # and then nothing: its process is gone
    sender = Counting()
    alive = _worker(platform, clock, sender)
    assert alive.run_due() == 0
    clock.advance(dead.lease.total_seconds())
    assert alive.run_due() == 1
    assert sender.sent == [delivery_id]


def test_failures_follow_the_schedule_and_the_last_one_fails_the_delivery(
    platform: Platform, clock: FakeClock
) -> None:
    caller = _quiet(platform, clock)
    delivery_id = _emit(platform, caller.tenant_id)
    sender = Counting(status=502)
    worker = _worker(platform, clock, sender)
    start = clock.now()
    assert worker.run_due() == 1
    assert _row(platform, delivery_id).next_attempt_at == start + timedelta(seconds=60)
    clock.advance(60)
    assert worker.run_due() == 1
    assert _row(platform, delivery_id).next_attempt_at == start + timedelta(seconds=360)
    clock.advance(300)
    assert worker.run_due() == 1
    row = _row(platform, delivery_id)
    assert (row.status, row.attempt_count, row.next_attempt_at, row.last_status_code) == (
        "failed",
        3,
        None,
        502,
    )
    clock.advance(86_400)
    assert worker.run_due() == 0
    with platform.db.unit_of_work(write=False) as uow:
        numbers = uow.session.scalars(
            select(WebhookAttempt.number).where(WebhookAttempt.delivery_id == delivery_id)
        )
        assert list(numbers) == [1, 2, 3]


def test_an_unreachable_receiver_is_logged_as_an_error_without_its_url(
    platform: Platform, clock: FakeClock
) -> None:
    caller = _quiet(platform, clock)
    delivery_id = _emit(platform, caller.tenant_id)
    worker = _worker(
        platform, clock, WebhookSender(egress=EgressPolicy.unsafe_private_allowed(), timeout_s=1)
    )
    assert worker.run_due() == 1
    row = _row(platform, delivery_id)
    assert row.status == "pending"
    assert row.last_status_code is None
    assert row.last_error is not None
    assert "127.0.0.1" not in row.last_error


def test_a_progress_milestone_of_a_running_cast_is_an_event(
    platform: Platform, clock: FakeClock, receiver: Receiver
) -> None:
    caller = _quiet(platform, clock)
    with platform.db.unit_of_work() as uow:
        cast_id = _running_cast(uow.session, caller)
    assert platform.casts.add_running_event(
        cast_id, "progress", {"event": "step_end", "step": "a", "detail": ""}
    )
    assert platform.casts.add_running_event(cast_id, "log", {"step": "a", "stream": "stdout", "text": "hi"})
    with platform.db.unit_of_work(write=False) as uow:
        rows = list(uow.session.scalars(select(WebhookDelivery)))
    assert [(row.event_type, row.payload["data"]) for row in rows] == [
        ("cast.progress", {"cast_id": cast_id, "event": "step_end", "step": "a", "detail": ""})
    ]
    with platform.db.unit_of_work() as uow:
        uow.session.execute(update(Cast).where(Cast.id == cast_id).values(status="succeeded"))
    assert not platform.casts.add_running_event(
        cast_id, "progress", {"event": "x", "step": "a", "detail": ""}
    )


def _running_cast(session: object, caller: Caller) -> str:
    """A bare running cast row of ``caller``'s tenant (no spell run: only its events matter here)."""
    from sqlalchemy.orm import Session

    from spell.kit.ids import new_id
    from spell.models import Publisher, Spell, SpellVersion

    assert isinstance(session, Session)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    session.add(Publisher(name="acme", tenant_id=caller.tenant_id, created_at=now))
    session.flush()
    session.add(
        Spell(
            id="acme/s",
            publisher="acme",
            tenant_id=caller.tenant_id,
            name="s",
            tags=[],
            latest_version="1.0.0",
            created_at=now,
            updated_at=now,
        )
    )
    session.flush()
    session.add(
        SpellVersion(
            id="ver_s",
            spell_id="acme/s",
            version="1.0.0",
            digest="sha256:" + "0" * 64,
            execution="wasm",
            manifest={},
            input_schema={},
            archive_size=1,
            created_at=now,
        )
    )
    session.flush()
    cast_id = new_id("cast")
    session.add(
        Cast(
            id=cast_id,
            tenant_id=caller.tenant_id,
            user_id=caller.user_id,
            spell_id="acme/s",
            version="1.0.0",
            spell_digest="sha256:" + "0" * 64,
            status="running",
            idempotency_key="k",
            request_digest="d",
            input={},
            input_digest="d",
            cancel_requested=False,
            created_at=now,
            started_at=now,
        )
    )
    session.flush()
    return cast_id


def test_a_round_drains_more_than_one_batch(platform: Platform, clock: FakeClock) -> None:
    caller = _quiet(platform, clock)
    ids = {_emit(platform, caller.tenant_id) for _ in range(3)}
    sender = Counting()
    worker = DeliveryWorker(
        platform.db,
        platform.webhooks,
        platform.webhook_secrets,
        sender,
        WebhookSettings(batch=2),
        clock=clock,
    )
    assert worker.run_due() == 3
    assert set(sender.sent) == ids


def test_an_endpoints_previous_secret_signs_only_within_the_grace(
    platform: Platform, clock: FakeClock
) -> None:
    caller = _quiet(platform, clock)
    endpoints = platform.webhooks.endpoints
    with platform.db.unit_of_work() as uow:
        row, first = endpoints.add(uow, caller.tenant_id, "http://127.0.0.1:9/other")
        endpoint_id = row.id
        assert endpoints.signing_secrets(uow, endpoint_id) == [first]
    with platform.db.unit_of_work() as uow:
        _, second = endpoints.rotate(uow, caller.tenant_id, endpoint_id)
        assert endpoints.signing_secrets(uow, endpoint_id) == [second, first]
    clock.advance(24 * 3600)
    with platform.db.unit_of_work() as uow:
        assert endpoints.signing_secrets(uow, endpoint_id) == [second]
        stored = uow.session.get(WebhookEndpoint, endpoint_id)
        assert stored is not None
        assert second.encode() not in stored.sealed
        other = uow.session.get(WebhookEndpoint, _other_endpoint(platform, caller))
        assert other is not None
        other.sealed = stored.sealed  # copied onto another endpoint, a sealed secret does not open
        uow.session.flush()
        assert endpoints.signing_secrets(uow, other.id) is None
        uow.session.rollback()


def _other_endpoint(platform: Platform, caller: Caller) -> str:
    with platform.db.unit_of_work(write=False) as uow:
        (first, *_) = platform.webhooks.endpoints.list_for(uow, caller.tenant_id)
        return first.id


def test_workers_racing_on_the_same_outbox_send_each_delivery_once(
    platform: Platform, clock: FakeClock
) -> None:
    caller = _quiet(platform, clock)
    ids = [_emit(platform, caller.tenant_id) for _ in range(6)]
    senders = [Counting(), Counting()]
    workers = [_worker(platform, clock, sender) for sender in senders]
    start = threading.Barrier(len(workers))

    def race(worker: DeliveryWorker) -> None:
        start.wait(5)
        worker.run_due()

    threads = [threading.Thread(target=race, args=(worker,)) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    sent = senders[0].sent + senders[1].sent
    assert sorted(sent) == sorted(ids)
    assert {_row(platform, delivery_id).attempt_count for delivery_id in ids} == {1}
