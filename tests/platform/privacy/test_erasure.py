"""Erasing a user: open casts canceled through the cast service, keys revoked, identity removed at
once; free text beside the audit chain dropped; both chains still verify."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from spell.models import ApiKey, AuditRecord, Cast, ErasureRequest, Hold, Tenant
from spell.platform.auth.schemas import Principal
from spell.platform.cast.service import CastRequestBody
from spell.platform.privacy.errors import AlreadyErased, ErasureNotConfirmed
from spell.platform.server import Platform
from tests.api.money_helpers import FLAT, credit, publish_priced
from tests.fixtures.server import Caller, seed_maker, seed_user

pytestmark = pytest.mark.anyio


def _principal(platform: Platform, caller: Caller) -> Principal:
    with platform.db.unit_of_work(write=False) as uow:
        return platform.auth.authenticate_key(uow, caller.token)


def _personal(platform: Platform, user_id: str) -> list[tuple[str, object]]:
    with platform.db.unit_of_work(write=False) as uow:
        records = platform.audit.list(uow, limit=1000)
        return [(r.action, r.personal) for r in records if user_id in (r.actor_id, r.subject)]


async def test_erasing_cancels_open_casts_revokes_keys_and_removes_identity_at_once(
    idle_client: httpx.AsyncClient, idle_platform: Platform, tmp_path: Path
) -> None:
    platform = idle_platform
    maker = await seed_maker(idle_client, platform)
    await publish_priced(idle_client, maker, tmp_path, FLAT)
    alice = seed_user(platform, "alice@example.com", ["caster"])
    bob = seed_user(platform, "bob@example.com", ["caster"])
    credit(platform, alice.user_id, 1_000_000)
    queued = await idle_client.post(
        "/v1/spells/acme/paid/cast",
        headers={**alice.headers, "Idempotency-Key": "q"},
        json={"input": {"name": "alice"}},
    )
    assert queued.json()["status"] == "queued", queued.text
    running = platform.casts.create_claimed(
        _principal(platform, alice), CastRequestBody(spell_id="acme/paid", input={"name": "a"}), "r"
    ).cast
    with platform.db.unit_of_work() as uow:
        platform.auth.set_ban(uow, alice.user_id, banned=True, reason="spam sent from alice@example.com")
        platform.auth.set_ban(uow, alice.user_id, banned=False)
    assert ("user.banned", {"reason": "spam sent from alice@example.com"}) in _personal(
        platform, alice.user_id
    )

    with platform.db.unit_of_work() as uow:
        with pytest.raises(ErasureNotConfirmed) as refused:
            platform.privacy.erase(uow, alice.user_id, actor_id=None, confirmed=False)
        assert refused.value.code == "ERASURE_NOT_CONFIRMED"
    with platform.db.unit_of_work() as uow:
        erased = platform.privacy.erase(uow, alice.user_id, actor_id=None, confirmed=True)
    assert (erased.keys_revoked, erased.casts_canceled) == (1, 2)

    with platform.db.unit_of_work(write=False) as uow:
        session = uow.session
        casts = {cast.id: cast for cast in session.query(Cast).filter(Cast.user_id == alice.user_id)}
        assert {cast.status for cast in casts.values()} == {"canceled"}
        assert session.get(Hold, queued.json()["id"]).status == "released"  # type: ignore[union-attr]
        # the running cast's hold is its runner's to settle, for what it used
        assert session.get(Hold, running.id).status == "held"  # type: ignore[union-attr]
        assert platform.ledger.balance(uow, alice.user_id, "wallet", "USD").micros == 750_000
        user = platform.auth.get_user(uow, alice.user_id)
        assert (user.email, user.subject, user.ban_reason) == (None, None, None)
        keys = session.query(ApiKey).filter(ApiKey.user_id == alice.user_id).all()
        assert [(key.name, key.revoked_at is not None) for key in keys] == [("erased", True)]
        tenant = session.get(Tenant, alice.tenant_id)
        assert tenant is not None
        assert tenant.name == f"erased {alice.tenant_id}"
        request = session.get(ErasureRequest, alice.user_id)
        assert request is not None
        assert (request.purge_after - request.anonymised_at).days == 90
        assert request.purged_at is None
        platform.audit.verify(uow)
        platform.ledger.verify(uow)
        texts = " ".join(str(r.personal) + str(r.data) for r in session.query(AuditRecord))
    assert "alice@example.com" not in texts
    assert all(personal is None for _, personal in _personal(platform, alice.user_id))
    assert ("key.created", {"name": "test"}) in _personal(platform, bob.user_id)  # others keep theirs
    assert (await idle_client.get("/v1/me", headers=alice.headers)).status_code == 401

    with platform.db.unit_of_work() as uow, pytest.raises(AlreadyErased) as again:
        platform.privacy.erase(uow, alice.user_id, actor_id=None, confirmed=True)
    assert again.value.code == "ALREADY_ERASED"


async def test_a_shared_tenant_keeps_its_name_when_one_member_is_erased(
    idle_platform: Platform,
) -> None:
    platform = idle_platform
    with platform.db.unit_of_work() as uow:
        first = platform.auth.create_user(uow, email="a@example.com", roles=["caster"], tenant="Acme Ltd")
        platform.auth.create_user(uow, email="b@example.com", roles=["caster"], tenant="Acme Ltd")
    with platform.db.unit_of_work() as uow:
        platform.privacy.erase(uow, first.id, actor_id="usr_operator", confirmed=True)
    with platform.db.unit_of_work(write=False) as uow:
        tenant = uow.session.get(Tenant, first.tenant_id)
        assert tenant is not None
        assert tenant.name == "Acme Ltd"
        [record] = platform.audit.list(uow, action="privacy.erased")
        assert (record.actor_id, record.subject) == ("usr_operator", first.id)
