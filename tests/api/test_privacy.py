"""Data-subject rights over HTTP: each right of /v1/users/me, its audit record and its error codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from spell.platform.audit.service import AuditService
from spell.platform.server import Platform
from tests.api.money_helpers import FLAT, credit, publish_priced
from tests.fixtures.server import Caller, seed_maker, seed_user

pytestmark = pytest.mark.anyio


def _actions(platform: Platform, subject: str) -> list[tuple[str, dict[str, Any]]]:
    with platform.db.unit_of_work(write=False) as uow:
        audit = AuditService()
        audit.verify(uow)
        return [(r.action, r.data) for r in audit.list(uow, limit=1000) if r.subject == subject]


async def _cast(client: httpx.AsyncClient, caller: Caller, key: str, name: str = "world") -> httpx.Response:
    return await client.post(
        "/v1/spells/acme/paid/cast",
        headers={**caller.headers, "Idempotency-Key": key, "Prefer": "wait=10"},
        json={"input": {"name": name}},
    )


async def _paying_caster(client: httpx.AsyncClient, platform: Platform, tmp_path: Path) -> Caller:
    maker = await seed_maker(client, platform)
    await publish_priced(client, maker, tmp_path, FLAT)
    caster = seed_user(platform, "alice@example.com", ["caster"])
    credit(platform, caster.user_id, 1_000_000)
    return caster


async def test_the_export_holds_the_callers_data_and_nobody_elses(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    alice = await _paying_caster(client, platform, tmp_path)
    bob = seed_user(platform, "bob@example.com", ["caster"])
    credit(platform, bob.user_id, 1_000_000, key="bob-credit")
    assert (await _cast(client, alice, "a1", "alice-input")).json()["status"] == "succeeded"
    assert (await _cast(client, bob, "b1", "bob-input")).json()["status"] == "succeeded"
    response = await client.get("/v1/users/me/export", headers=alice.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert "attachment" in response.headers["content-disposition"]
    document = response.json()
    assert document["format"] == "spell.privacy-export/1"
    assert document["profile"]["user_id"] == alice.user_id
    assert document["profile"]["email"] == "alice@example.com"
    assert [key["name"] for key in document["keys"]] == ["test"]
    assert all("secret" not in json.dumps(key) and "token" not in key for key in document["keys"])
    [cast] = document["casts"]
    assert cast["input"] == {"name": "alice-input"}
    assert cast["output"]["input"] == {"name": "alice-input"}
    assert [event["type"] for event in cast["events"]][-1] == "succeeded"
    assert cast["artifacts"] == []
    assert {entry["kind"] for entry in document["ledger"]} >= {"credit", "reserve", "capture"}
    assert document["budget"]["balance_micros"] == 750_000
    assert {record["action"] for record in document["audit"]} >= {"key.created", "cast.created"}
    assert "bob" not in response.text
    assert ("privacy.exported", {}) in _actions(platform, alice.user_id)


async def test_a_cast_only_key_cannot_exercise_account_rights(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    narrow = seed_user(platform, "narrow@example.com", ["caster"], scopes=["cast:invoke"])
    for method, path in (
        ("GET", "/v1/users/me/export"),
        ("GET", "/v1/users/me/privacy/report"),
        ("POST", "/v1/users/me/erase"),
    ):
        response = await client.request(method, path, headers=narrow.headers, json={"confirm": True})
        assert response.status_code == 403, (path, response.text)
        assert response.json()["error"]["code"] == "FORBIDDEN"


async def test_rectifying_the_email_changes_it_and_audits_the_field_not_its_value(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    alice = seed_user(platform, "alice@example.com", ["caster"])
    seed_user(platform, "taken@example.com", ["caster"])
    changed = await client.patch("/v1/users/me", headers=alice.headers, json={"email": "alice@new.example"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["email"] == "alice@new.example"
    assert (await client.get("/v1/me", headers=alice.headers)).json()["email"] == "alice@new.example"
    tenant = (await client.get("/v1/tenant", headers=alice.headers)).json()
    assert tenant["name"] == "alice@new.example"  # the personal tenant follows the email it was named by
    taken = await client.patch("/v1/users/me", headers=alice.headers, json={"email": "taken@example.com"})
    assert taken.status_code == 409
    assert taken.json()["error"]["code"] == "ALREADY_EXISTS"
    bad = await client.patch("/v1/users/me", headers=alice.headers, json={"email": "not an email"})
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "VALIDATION_ERROR"
    records = _actions(platform, alice.user_id)
    assert ("privacy.rectified", {"fields": ["email"]}) in records
    assert "alice@new.example" not in json.dumps(records)


async def test_restricting_processing_refuses_new_casts_until_it_is_lifted(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    alice = await _paying_caster(client, platform, tmp_path)
    restricted = await client.patch(
        "/v1/users/me/privacy", headers=alice.headers, json={"restrict_processing": True}
    )
    assert restricted.status_code == 200, restricted.text
    assert restricted.json()["restrict_processing"] is True
    assert restricted.json()["restricted_at"] is not None
    refused = await _cast(client, alice, "r1")
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "PROCESSING_RESTRICTED"
    # the data is kept and still the user's to read
    assert (await client.get("/v1/users/me/export", headers=alice.headers)).status_code == 200
    balance = (await client.get("/v1/budget", headers=alice.headers)).json()["balance_micros"]
    assert balance == 1_000_000  # nothing was held for the refused cast
    lifted = await client.patch(
        "/v1/users/me/privacy", headers=alice.headers, json={"restrict_processing": False}
    )
    assert lifted.json()["restrict_processing"] is False
    assert (await _cast(client, alice, "r2")).json()["status"] == "succeeded"
    actions = [action for action, _ in _actions(platform, alice.user_id)]
    assert actions.count("privacy.restricted") == 1
    assert actions.count("privacy.unrestricted") == 1


async def test_do_not_sell_is_recorded_reported_and_audited(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    alice = seed_user(platform, "alice@example.com", ["caster"])
    before = (await client.get("/v1/users/me/privacy", headers=alice.headers)).json()
    assert before == {
        "restrict_processing": False,
        "restricted_at": None,
        "do_not_sell_or_share": False,
        "updated_at": None,
    }
    opted = await client.patch(
        "/v1/users/me/privacy", headers=alice.headers, json={"do_not_sell_or_share": True}
    )
    assert opted.json()["do_not_sell_or_share"] is True
    again = await client.patch(
        "/v1/users/me/privacy", headers=alice.headers, json={"do_not_sell_or_share": True}
    )
    assert again.status_code == 200
    not_bool = await client.patch(
        "/v1/users/me/privacy", headers=alice.headers, json={"do_not_sell_or_share": 1}
    )
    assert not_bool.json()["error"]["code"] == "VALIDATION_ERROR"
    report = (await client.get("/v1/users/me/privacy/report", headers=alice.headers)).json()
    assert report["preferences"]["do_not_sell_or_share"] is True
    assert report["sold"] is False
    assert report["shared_for_advertising"] is False
    assert ("privacy.do_not_sell", {"opted_out": True}) in _actions(platform, alice.user_id)
    assert [a for a, _ in _actions(platform, alice.user_id)].count("privacy.do_not_sell") == 1


async def test_the_privacy_report_counts_what_is_held_per_category(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    alice = await _paying_caster(client, platform, tmp_path)
    assert (await _cast(client, alice, "a1")).json()["status"] == "succeeded"
    report = (await client.get("/v1/users/me/privacy/report", headers=alice.headers)).json()
    records = {category["category"]: category["records"] for category in report["categories"]}
    assert records["identifiers"] == 2  # the user and one key
    assert records["usage: casts"] == 1
    assert records["commercial information"] == 4  # credit, reserve (wallet and holds), capture
    assert records["security records"] >= 3
    assert report["erasure_grace_days"] == 90


async def test_transfer_consents_are_granted_listed_and_withdrawn(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    alice = seed_user(platform, "alice@example.com", ["caster"])
    bob = seed_user(platform, "bob@example.com", ["caster"])
    path = "/v1/users/me/privacy/data-transfers"
    granted = await client.post(path, headers=alice.headers, json={"region": "JP", "purpose": "processing"})
    assert granted.status_code == 201, granted.text
    consent = granted.json()
    same = await client.post(path, headers=alice.headers, json={"region": "JP", "purpose": "processing"})
    assert same.json()["id"] == consent["id"]
    for bad in ({"region": "japan", "purpose": "processing"}, {"region": "JP", "purpose": "ads"}):
        refused = await client.post(path, headers=alice.headers, json=bad)
        assert refused.status_code == 422
        assert refused.json()["error"]["code"] == "VALIDATION_ERROR"
    not_bobs = await client.delete(f"{path}/{consent['id']}", headers=bob.headers)
    assert not_bobs.status_code == 404
    assert not_bobs.json()["error"]["code"] == "CONSENT_NOT_FOUND"
    withdrawn = await client.delete(f"{path}/{consent['id']}", headers=alice.headers)
    assert withdrawn.status_code == 200
    assert withdrawn.json()["withdrawn_at"] is not None
    listed = (await client.get(path, headers=alice.headers)).json()["items"]
    assert [(c["id"], c["withdrawn_at"] is not None) for c in listed] == [(consent["id"], True)]
    assert (await client.get(path, headers=bob.headers)).json()["items"] == []
    report = (await client.get("/v1/users/me/privacy/report", headers=alice.headers)).json()
    assert report["transfers"] == []
    actions = [a for a, _ in _actions(platform, alice.user_id)]
    assert actions.count("privacy.transfer_consented") == 1
    assert actions.count("privacy.transfer_withdrawn") == 1


async def test_erasure_needs_confirmation_then_anonymises_at_once_and_keeps_the_chains_true(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    alice = await _paying_caster(client, platform, tmp_path)
    assert (await _cast(client, alice, "a1", "alice-secret-input")).json()["status"] == "succeeded"
    unconfirmed = await client.post("/v1/users/me/erase", headers=alice.headers, json={})
    assert unconfirmed.status_code == 422
    assert unconfirmed.json()["error"]["code"] == "ERASURE_NOT_CONFIRMED"
    erased = await client.post("/v1/users/me/erase", headers=alice.headers, json={"confirm": True})
    assert erased.status_code == 202, erased.text
    body = erased.json()
    assert body["user_id"] == alice.user_id
    assert body["keys_revoked"] == 1
    assert body["purged_at"] is None
    after = await client.get("/v1/me", headers=alice.headers)
    assert after.status_code == 401  # every key revoked
    with platform.db.unit_of_work(write=False) as uow:
        user = platform.auth.get_user(uow, alice.user_id)
        assert (user.email, user.subject) == (None, None)
        platform.audit.verify(uow)
        platform.ledger.verify(uow)
        assert platform.ledger.balance(uow, alice.user_id, "wallet", "USD").micros == 750_000
    assert [a for a, _ in _actions(platform, alice.user_id)].count("privacy.erased") == 1
