"""Security events land in the audit chain in the same transaction as the change."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from spell.platform.audit.service import AuditService
from spell.platform.server import Platform
from tests.fixtures.server import publish, seed_maker, seed_user

pytestmark = pytest.mark.anyio


def _actions(platform: Platform) -> list[tuple[str, str | None]]:
    with platform.db.unit_of_work(write=False) as uow:
        audit = AuditService()
        audit.verify(uow)
        return [(r.action, r.subject) for r in audit.list(uow, limit=1000)]


async def test_keys_publishing_suspension_and_bans_are_audited(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path)
    admin = seed_user(platform, "root@example.com", ["admin"], scopes=["admin", "keys:manage"])
    target = seed_user(platform, "bad@example.com", ["caster"])
    yank = await client.post("/v1/spells/acme/hello/versions/1.0.0/yank", headers=maker.headers)
    assert yank.status_code == 200, yank.text
    suspend = await client.post(
        "/v1/admin/spells/acme/hello/suspend", headers=admin.headers, json={"reason": "x"}
    )
    assert suspend.status_code == 200, suspend.text
    banned = await client.post("/v1/admin/bans", headers=admin.headers, json={"user_id": target.user_id})
    assert banned.status_code == 201, banned.text
    revoked = await client.delete(
        f"/v1/publishers/acme/keys/{maker.publisher.key_id if maker.publisher else ''}", headers=maker.headers
    )
    assert revoked.status_code == 200, revoked.text
    actions = _actions(platform)
    names = [a for a, _ in actions]
    for expected in (
        "key.created",
        "publisher_key.added",
        "spell.published",
        "spell.yanked",
        "spell.suspended",
        "user.banned",
        "publisher_key.revoked",
    ):
        assert expected in names, expected
    assert ("user.banned", target.user_id) in actions
    assert ("spell.published", "acme/hello@1.0.0") in actions


async def test_key_rotation_and_revocation_are_audited(client: httpx.AsyncClient, platform: Platform) -> None:
    user = seed_user(platform, "k@example.com", ["caster"])
    created = await client.post("/v1/keys", headers=user.headers, json={"name": "laptop"})
    assert created.status_code == 201, created.text
    key_id = created.json()["id"]
    rotated = await client.post(f"/v1/keys/{key_id}/rotate", headers=user.headers)
    assert rotated.status_code == 201, rotated.text
    revoked = await client.delete(f"/v1/keys/{rotated.json()['id']}", headers=user.headers)
    assert revoked.status_code == 200, revoked.text
    actions = _actions(platform)
    assert ("key.rotated", key_id) in actions
    assert ("key.revoked", rotated.json()["id"]) in actions
    assert sum(1 for a, _ in actions if a == "key.created") == 3
