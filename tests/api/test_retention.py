"""The retention routes: an operator runs the rules and reads the newest report, and sets legal holds;
everyone else is refused."""

from __future__ import annotations

import httpx
import pytest

from spell.platform.server import Platform
from tests.fixtures.server import seed_user

pytestmark = pytest.mark.anyio


async def test_an_operator_runs_retention_and_reads_the_newest_report(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    ops = seed_user(platform, "ops@example.com", ["operator"])
    before = await client.get("/v1/admin/retention", headers=ops.headers)
    assert before.status_code == 200, before.text
    assert before.json()["last_run"] is None
    assert before.json()["periods"] == {
        "input_days": 30,
        "output_days": 90,
        "log_days": 90,
        "audit_days": 400,
        "ledger_audit_days": 2557,
    }

    dry = await client.post("/v1/admin/retention/run?dry_run=true", headers=ops.headers)
    assert (dry.status_code, dry.json()["dry_run"]) == (200, True)
    ran = await client.post("/v1/admin/retention/run", headers=ops.headers)
    assert ran.status_code == 200, ran.text
    assert ran.json()["dry_run"] is False
    assert ran.json()["checkpoint_key"] == before.json()["checkpoint_key"]

    after = (await client.get("/v1/admin/retention", headers=ops.headers)).json()
    assert after["last_run"]["started_at"] == ran.json()["started_at"]
    assert after["last_run"]["dry_run"] is False


async def test_legal_holds_are_set_listed_and_released_by_an_operator(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    ops = seed_user(platform, "ops@example.com", ["operator"])
    caster = seed_user(platform, "cas@example.com", ["caster"])
    put = await client.put(
        f"/v1/admin/legal-holds/tenant/{caster.tenant_id}", headers=ops.headers, json={"reason": "case 9"}
    )
    assert put.status_code == 200, put.text
    assert put.json() == {"kind": "tenant", "id": caster.tenant_id, "legal_hold": True, "reason": "case 9"}
    listed = await client.get("/v1/admin/legal-holds", headers=ops.headers)
    assert listed.json()["items"] == [put.json()]
    with platform.db.unit_of_work(write=False) as uow:
        assert platform.legal_holds.is_held(uow, caster.user_id)
        (record,) = platform.audit.list(uow, action="legal_hold.set")
    assert (record.actor_id, record.subject) == (ops.user_id, f"tenant:{caster.tenant_id}")

    released = await client.delete(f"/v1/admin/legal-holds/tenant/{caster.tenant_id}", headers=ops.headers)
    assert (released.status_code, released.json()["legal_hold"]) == (200, False)
    assert (await client.get("/v1/admin/legal-holds", headers=ops.headers)).json()["items"] == []


async def test_retention_routes_refuse_anyone_but_an_operator(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    caster = seed_user(platform, "cas@example.com", ["caster"])
    for response in (
        await client.post("/v1/admin/retention/run", headers=caster.headers),
        await client.get("/v1/admin/retention", headers=caster.headers),
        await client.get("/v1/admin/legal-holds", headers=caster.headers),
        await client.put(
            f"/v1/admin/legal-holds/user/{caster.user_id}", headers=caster.headers, json={"reason": "mine"}
        ),
        await client.delete(f"/v1/admin/legal-holds/user/{caster.user_id}", headers=caster.headers),
    ):
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "ROLE_REQUIRED"
    assert (await client.post("/v1/admin/retention/run")).json()["error"]["code"] == "UNAUTHORIZED"
    with platform.db.unit_of_work(write=False) as uow:
        assert not platform.legal_holds.is_held(uow, caster.user_id)


async def test_a_hold_on_an_unknown_id_or_kind_or_without_a_reason_is_refused(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    ops = seed_user(platform, "ops@example.com", ["operator"])
    unknown = await client.put(
        "/v1/admin/legal-holds/user/usr_nobody", headers=ops.headers, json={"reason": "x"}
    )
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "LEGAL_HOLD_TARGET_NOT_FOUND")
    gone = await client.delete("/v1/admin/legal-holds/tenant/ten_nobody", headers=ops.headers)
    assert (gone.status_code, gone.json()["error"]["code"]) == (404, "LEGAL_HOLD_TARGET_NOT_FOUND")
    for path, body in (
        (f"/v1/admin/legal-holds/spell/{ops.user_id}", {"reason": "x"}),
        (f"/v1/admin/legal-holds/user/{ops.user_id}", {"reason": ""}),
        (f"/v1/admin/legal-holds/user/{ops.user_id}", {}),
    ):
        refused = await client.put(path, headers=ops.headers, json=body)
        assert (refused.status_code, refused.json()["error"]["code"]) == (422, "VALIDATION_ERROR"), path
