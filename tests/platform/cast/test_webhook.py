"""A cast's webhooks: its events go into the outbox in the transaction of each move, as the cast then
is; its own ``webhook_url`` hears of its end; a move that rolls back leaves nothing to send."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from spell.models import Cast, WebhookDelivery
from spell.platform.server import Platform
from tests.fixtures.server import Caller, publish, seed_maker, seed_user

pytestmark = pytest.mark.anyio

HOOK = "https://hooks.example.com/spell"


async def _ended_cast(client: httpx.AsyncClient, platform: Platform, tmp_path: Path) -> tuple[Caller, str]:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path)
    platform.casts.webhooks = None  # what is queued stays in the outbox, where the test reads it
    with platform.db.unit_of_work() as uow:
        platform.webhooks.endpoints.add(uow, maker.tenant_id, HOOK)  # every event
    response = await client.post(
        "/v1/spells/acme/hello/cast",
        headers={**maker.headers, "Idempotency-Key": "w", "Prefer": "wait=20"},
        json={"input": {"name": "w"}, "webhook_url": HOOK + "/cast"},
    )
    assert response.json()["status"] == "succeeded", response.text
    return maker, str(response.json()["id"])


def _outbox(platform: Platform) -> list[WebhookDelivery]:
    with platform.db.unit_of_work(write=False) as uow:
        rows = list(uow.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))
        for row in rows:
            uow.session.expunge(row)
        return rows


@pytest.fixture(autouse=True)
def _resolvable(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    """``hooks.example.com`` passes the URL check without a resolver on the test machine."""
    monkeypatch.setattr("spell.platform.webhook.endpoints.check_webhook_url", lambda url, egress: None)
    monkeypatch.setattr("spell.platform.cast.service.check_webhook_url", lambda url, egress: None)


async def test_every_move_of_a_cast_is_an_event_carrying_the_cast_as_it_then_was(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker, cast_id = await _ended_cast(client, platform, tmp_path)
    rows = _outbox(platform)
    to_endpoint = [row for row in rows if row.endpoint_id is not None]
    assert [row.event_type for row in to_endpoint] == ["cast.queued", "cast.running", "cast.succeeded"]
    assert {row.tenant_id for row in rows} == {maker.tenant_id}
    assert [row.payload["data"]["status"] for row in to_endpoint] == ["queued", "running", "succeeded"]
    assert all(row.payload["data"]["id"] == cast_id for row in rows)
    ended = to_endpoint[-1].payload
    assert ended["type"] == "cast.succeeded"
    assert ended["data"]["finished_at"] is not None
    assert ended["data"]["output"] is not None
    # The cast's own URL hears of its end only.
    (own,) = [row for row in rows if row.endpoint_id is None]
    assert (own.url, own.event_type, own.status) == (HOOK + "/cast", "cast.succeeded", "pending")
    assert own.payload == ended


async def test_a_cast_that_rolls_back_leaves_no_event_behind(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker, _ = await _ended_cast(client, platform, tmp_path)
    before = len(_outbox(platform))

    def refund_that_fails() -> None:
        with platform.db.unit_of_work() as uow:
            cast = uow.session.scalars(select(Cast)).first()
            assert cast is not None
            assert platform.webhooks.emit(uow, maker.tenant_id, "cast.refunded", {"id": cast.id})
            raise RuntimeError("the refund failed after its event was queued")

    with pytest.raises(RuntimeError):
        refund_that_fails()
    assert len(_outbox(platform)) == before


async def test_an_event_nobody_receives_writes_nothing_and_reads_nothing_once_cached(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    caller = seed_user(platform, "quiet@example.com", ["caster"])
    with platform.db.unit_of_work() as uow:
        assert platform.webhooks.emit(uow, caller.tenant_id, "cast.queued", {"id": "cast_x"}) == []
    built: list[bool] = []

    def payload() -> dict[str, str]:
        built.append(True)
        return {"id": "cast_x"}

    with platform.db.unit_of_work() as uow:
        monkeypatch.setattr(uow.session, "execute", None)  # any statement would fail
        monkeypatch.setattr(uow.session, "scalars", None)
        assert platform.webhooks.emit(uow, caller.tenant_id, "cast.queued", payload) == []
    assert built == []  # the payload is not even built
