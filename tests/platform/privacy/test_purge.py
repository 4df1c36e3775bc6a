"""The purge after the grace period: cast content, events and artifacts go; the rows money names stay."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from spell.kit.clock import FakeClock
from spell.kit.ids import new_id
from spell.models import Artifact, Cast, CastEvent, ErasureRequest, PrivacyPreference, TransferConsent
from spell.platform.privacy.schemas import PreferencesUpdate, TransferConsentIn
from spell.platform.server import Platform
from tests.api.money_helpers import FLAT, credit, publish_priced
from tests.fixtures.server import Caller, seed_maker, seed_user

pytestmark = pytest.mark.anyio


async def _succeeded_cast(client: httpx.AsyncClient, caller: Caller, key: str) -> str:
    response = await client.post(
        "/v1/spells/acme/paid/cast",
        headers={**caller.headers, "Idempotency-Key": key, "Prefer": "wait=10"},
        json={"input": {"name": f"input of {key}"}},
    )
    assert response.json()["status"] == "succeeded", response.text
    cast_id: str = response.json()["id"]
    return cast_id


def _artifact(platform: Platform, cast_id: str, tenant_id: str, blob: Path, clock: FakeClock) -> str:
    digest, size = platform.artifacts.blobs.put_file(blob)
    now = clock.now()
    with platform.db.unit_of_work() as uow:
        uow.session.add(
            Artifact(
                id=new_id("art"),
                cast_id=cast_id,
                tenant_id=tenant_id,
                name=blob.name,
                sha256=digest,
                size=size,
                media_type="text/plain",
                created_at=now,
                expires_at=now + timedelta(days=365),
            )
        )
    return digest


async def test_the_purge_waits_for_the_grace_period_then_removes_content_once(
    client: httpx.AsyncClient, platform: Platform, clock: FakeClock, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish_priced(client, maker, tmp_path, FLAT)
    alice = seed_user(platform, "alice@example.com", ["caster"])
    bob = seed_user(platform, "bob@example.com", ["caster"])
    credit(platform, alice.user_id, 1_000_000)
    credit(platform, bob.user_id, 1_000_000, key="bob")
    mine, theirs = await _succeeded_cast(client, alice, "a"), await _succeeded_cast(client, bob, "b")
    (tmp_path / "own.txt").write_text("alice's file")
    (tmp_path / "shared.txt").write_text("the same bytes in both")
    own_blob = _artifact(platform, mine, alice.tenant_id, tmp_path / "own.txt", clock)
    shared = _artifact(platform, mine, alice.tenant_id, tmp_path / "shared.txt", clock)
    _artifact(platform, theirs, bob.tenant_id, tmp_path / "shared.txt", clock)
    with platform.db.unit_of_work() as uow:
        platform.privacy.set_preferences(
            uow, alice.user_id, PreferencesUpdate(do_not_sell_or_share=True), actor_id=alice.user_id
        )
        platform.privacy.grant_transfer(
            uow, alice.user_id, TransferConsentIn(region="US", purpose="storage"), actor_id=alice.user_id
        )
    with platform.db.unit_of_work() as uow:
        platform.privacy.erase(uow, alice.user_id, actor_id=None, confirmed=True)

    clock.advance(timedelta(days=89).total_seconds())
    with platform.db.unit_of_work() as uow:
        early = platform.privacy.purge_due(uow)
    assert early.users == []
    with platform.db.unit_of_work(write=False) as uow:
        kept = uow.session.get(Cast, mine)
        assert kept is not None
        assert kept.input == {"name": "input of a"}

    clock.advance(timedelta(days=1).total_seconds())
    with platform.db.unit_of_work() as uow:
        report = platform.privacy.purge_due(uow)
    assert report.users == [alice.user_id]
    assert (report.casts, report.artifacts) == (1, 2)
    assert report.events >= 3
    with platform.db.unit_of_work(write=False) as uow:
        session = uow.session
        purged = session.get(Cast, mine, populate_existing=True)
        assert purged is not None
        assert (purged.input, purged.output, purged.webhook_url) == ({"erased": True}, None, None)
        assert purged.status == "succeeded"  # the row stays: the ledger names it
        assert purged.usage is not None
        assert session.query(CastEvent).filter(CastEvent.cast_id == mine).count() == 0
        assert session.query(Artifact).filter(Artifact.cast_id == mine).count() == 0
        assert session.query(Artifact).filter(Artifact.cast_id == theirs).count() == 1
        assert session.query(CastEvent).filter(CastEvent.cast_id == theirs).count() > 0
        other = session.get(Cast, theirs)
        assert other is not None
        assert other.input == {"name": "input of b"}
        assert session.get(PrivacyPreference, alice.user_id) is None
        assert session.query(TransferConsent).filter(TransferConsent.user_id == alice.user_id).count() == 0
        request = session.get(ErasureRequest, alice.user_id)
        assert request is not None
        assert request.purged_at == clock.now()
        [record] = platform.audit.list(uow, action="privacy.purged")
        assert record.subject == alice.user_id
        platform.audit.verify(uow)
        platform.ledger.verify(uow)
        assert platform.ledger.balance(uow, alice.user_id, "wallet", "USD").micros == 750_000
    assert not platform.artifacts.blobs.exists(own_blob)
    assert platform.artifacts.blobs.exists(shared)  # bob's artifact still uses these bytes

    with platform.db.unit_of_work() as uow:
        assert platform.privacy.purge_due(uow).users == []  # purged once


async def test_a_legal_hold_keeps_an_erased_users_data_until_it_is_released(
    client: httpx.AsyncClient, platform: Platform, clock: FakeClock, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish_priced(client, maker, tmp_path, FLAT)
    alice = seed_user(platform, "alice@example.com", ["caster"])
    credit(platform, alice.user_id, 1_000_000)
    mine = await _succeeded_cast(client, alice, "a")
    with platform.db.unit_of_work() as uow:
        platform.privacy.erase(uow, alice.user_id, actor_id=None, confirmed=True)
        platform.legal_holds.hold(uow, "user", alice.user_id, "litigation 42", actor_id=None)
    clock.advance(timedelta(days=91).total_seconds())

    report = platform.retention.run(platform.db)
    assert report.erasures_purged == 0
    with platform.db.unit_of_work(write=False) as uow:
        held = uow.session.get(Cast, mine)
        assert held is not None
        assert held.input == {"name": "input of a"}

    with platform.db.unit_of_work() as uow:
        platform.legal_holds.release(uow, "user", alice.user_id, actor_id=None)
    assert platform.retention.run(platform.db).erasures_purged == 1
    with platform.db.unit_of_work(write=False) as uow:
        purged = uow.session.get(Cast, mine, populate_existing=True)
        assert purged is not None
        assert purged.input == {"erased": True}
