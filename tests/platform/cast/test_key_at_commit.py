"""PostgreSQL: a cast created in a unit of work read at its commit (``key_at_commit``) learns there
that its idempotency key is taken, as an error told apart from every other refusal; an attempt whose
recording meets it first raises it as it is, for a replay, not a rerun."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from spell.kit.time import utcnow
from spell.models import Tenant
from spell.platform.auth.schemas import Principal
from spell.platform.cast.repository import key_taken
from spell.platform.cast.service import CastRequestBody, Created
from spell.platform.server import Platform
from spell.storage.session import UnitOfWork
from tests.fixtures.server import Caller, seed_caster

pytestmark = pytest.mark.anyio

_BODY = CastRequestBody(spell_id="acme/hello", input={"name": "k"})


async def _cast_once(client: httpx.AsyncClient, platform: Platform, tmp_path: Path) -> tuple[Caller, str]:
    """A caster whose key ``taken`` made a cast already; its id."""
    if platform.db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite looks the key up first, under its write lock")
    caster = await seed_caster(client, platform, tmp_path)
    response = await client.post(
        "/v1/spells/acme/hello/cast",
        headers={**caster.headers, "Idempotency-Key": "taken", "Prefer": "wait=20"},
        json={"input": _BODY.input},
    )
    assert response.status_code == 200, response.text
    return caster, str(response.json()["id"])


def _principal(platform: Platform, caster: Caller) -> Principal:
    with platform.db.unit_of_work(write=False) as uow:
        return platform.auth.authenticate_key(uow, caster.token)


def _create(platform: Platform, uow: UnitOfWork, principal: Principal) -> Created:
    key, digest = platform.casts.admit(principal, _BODY, "taken")
    return platform.casts.create_in(uow, principal, _BODY, key, digest, claim=True, key_at_commit=True)


async def test_a_taken_key_fails_the_commit_and_is_told_apart_from_other_refusals(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    caster, _ = await _cast_once(client, platform, tmp_path)
    principal = _principal(platform, caster)
    created: list[Created] = []

    def create_again() -> None:
        with platform.db.unit_of_work(one_trip=True) as uow:
            created.append(_create(platform, uow, principal))

    with pytest.raises(IntegrityError) as taken:
        create_again()
    assert created[0].replay is False  # not known when it was created: the commit found out
    assert key_taken(taken.value)

    def another_refusal() -> None:
        with platform.db.unit_of_work() as uow:
            for _ in range(2):
                uow.session.add(Tenant(id="ten_twice", name="twice", created_at=utcnow()))
                uow.session.flush()
                uow.session.expunge_all()

    with pytest.raises(IntegrityError) as other:
        another_refusal()
    assert not key_taken(other.value)
    assert not key_taken(ValueError("not a database error"))


async def test_an_attempt_whose_recording_meets_a_taken_key_raises_it_for_a_replay(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    caster, _ = await _cast_once(client, platform, tmp_path)
    principal = _principal(platform, caster)
    store = platform.runner.artifacts.store

    def reading_store(uow: UnitOfWork, *args: Any) -> Any:
        uow.session.execute(text("SELECT 1"))  # a read: what the batch sent is read before it
        return store(uow, *args)

    monkeypatch.setattr(platform.runner.artifacts, "store", reading_store)

    def attempt() -> None:
        with platform.db.unit_of_work(one_trip=True) as uow:
            created = _create(platform, uow, principal)
            assert created.version is not None
            platform.runner.attempt(uow, created.cast, created.version, budget_s=20)

    with pytest.raises(IntegrityError) as raised:  # not RecordingFailed: nothing is rerun
        attempt()
    assert key_taken(raised.value)
