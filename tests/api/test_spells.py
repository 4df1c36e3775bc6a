"""Publishing and reading the grimoire through the HTTP API."""

from __future__ import annotations

import asyncio
import io
import json
import tarfile
from pathlib import Path

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState

from spell.errors import SpellError
from spell.models import Spell
from spell.platform.server import Platform
from tests.fixtures.bundles import archive_of, host_bundle, new_publisher, wasm_bundle
from tests.fixtures.server import publish, seed_maker, seed_user

pytestmark = pytest.mark.anyio


async def test_publishing_records_digest_signer_and_schema(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    version = await publish(client, maker, tmp_path)
    assert version["spell_id"] == "acme/hello"
    assert version["signer_key_id"] == "k1"
    assert version["execution"] == "wasm"
    assert version["input_schema"]["required"] == ["name"]
    got = (await client.get("/v1/spells/acme/hello", headers=maker.headers)).json()
    assert got["latest"]["digest"] == version["digest"]


async def test_republishing_the_same_bundle_is_idempotent_but_other_bytes_conflict(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    bundle = wasm_bundle(tmp_path / "b", "acme/hello", signer=maker.publisher)
    first = await client.post("/v1/spells", headers=maker.headers, content=archive_of(bundle))
    again = await client.post("/v1/spells", headers=maker.headers, content=archive_of(bundle))
    assert again.json()["digest"] == first.json()["digest"]
    other = wasm_bundle(tmp_path / "c", "acme/hello", signer=maker.publisher, schema={"type": "object"})
    response = await client.post("/v1/spells", headers=maker.headers, content=archive_of(other))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "ALREADY_EXISTS"


async def test_an_unsigned_bundle_is_refused(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    bundle = wasm_bundle(tmp_path / "b", "acme/hello")
    response = await client.post("/v1/spells", headers=maker.headers, content=archive_of(bundle))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "SIGNATURE_MISSING"


async def test_a_bundle_changed_after_signing_is_refused(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    bundle = wasm_bundle(tmp_path / "b", "acme/hello", signer=maker.publisher)
    (bundle / "schema.json").write_text('{"type": "object"}', encoding="utf-8")
    response = await client.post("/v1/spells", headers=maker.headers, content=archive_of(bundle))
    assert response.json()["error"]["code"] == "SIGNATURE_INVALID"


async def test_a_key_the_publisher_never_registered_is_untrusted(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    stranger = new_publisher("acme", key_id="k2")
    bundle = wasm_bundle(tmp_path / "b", "acme/hello", signer=stranger)
    response = await client.post("/v1/spells", headers=maker.headers, content=archive_of(bundle))
    assert response.json()["error"]["code"] == "SIGNATURE_UNTRUSTED"


async def test_a_revoked_publisher_key_no_longer_publishes(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    revoked = await client.delete("/v1/publishers/acme/keys/k1", headers=maker.headers)
    assert revoked.status_code == 200
    bundle = wasm_bundle(tmp_path / "b", "acme/hello", signer=maker.publisher)
    response = await client.post("/v1/spells", headers=maker.headers, content=archive_of(bundle))
    assert response.json()["error"]["code"] == "SIGNATURE_UNTRUSTED"
    missing = await client.delete("/v1/publishers/acme/keys/nope", headers=maker.headers)
    assert missing.json()["error"]["code"] == "KEY_NOT_FOUND"


@pytest.mark.parametrize(("field", "value"), [("version", "v2"), ("algorithm", "rsa")])
async def test_a_signature_file_spell_verify_refuses_is_refused_at_publish_too(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, field: str, value: str
) -> None:
    maker = await seed_maker(client, platform)
    bundle = wasm_bundle(tmp_path / "b", "acme/hello", signer=maker.publisher)
    path = bundle / "spell.sig.json"
    path.write_text(
        json.dumps({**json.loads(path.read_text(encoding="utf-8")), field: value}), encoding="utf-8"
    )
    response = await client.post("/v1/spells", headers=maker.headers, content=archive_of(bundle))
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["code"], error["details"]["status"]) == ("SIGNATURE_INVALID", "invalid")


async def test_an_unregistered_key_is_reported_as_spell_verify_reports_it(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    bundle = wasm_bundle(tmp_path / "b", "acme/hello", signer=new_publisher("acme", key_id="k2"))
    error = (await client.post("/v1/spells", headers=maker.headers, content=archive_of(bundle))).json()[
        "error"
    ]
    assert (error["code"], error["message"]) == (
        "SIGNATURE_UNTRUSTED",
        "signature required: trusted key_id not found: k2",
    )
    assert (error["details"]["status"], error["details"]["key_id"]) == ("untrusted", "k2")
    assert error["hint"] == "register the signing key: POST /v1/publishers/acme/keys"


async def test_publisher_keys_are_validated_and_unique(client: httpx.AsyncClient, platform: Platform) -> None:
    maker = await seed_maker(client, platform)
    bad = await client.post(
        "/v1/publishers/acme/keys", headers=maker.headers, json={"key_id": "k9", "public_key": "bm90LWEta2V5"}
    )
    assert bad.json()["error"]["code"] == "SIGNATURE_INVALID"
    again = await client.post(
        "/v1/publishers/acme/keys",
        headers=maker.headers,
        json={"key_id": "k1", "public_key": maker.publisher.public_key if maker.publisher else ""},
    )
    assert again.status_code == 409


async def test_another_tenant_cannot_use_a_claimed_publisher(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    rival = seed_user(platform, "rival@example.com", ["maker"])
    other_key = new_publisher("acme", key_id="k2")
    claim = await client.post(
        "/v1/publishers/acme/keys",
        headers=rival.headers,
        json={"key_id": "k2", "public_key": other_key.public_key},
    )
    assert claim.json()["error"]["code"] == "TENANT_FORBIDDEN"
    bundle = wasm_bundle(tmp_path / "b", "acme/hello", signer=maker.publisher)
    response = await client.post("/v1/spells", headers=rival.headers, content=archive_of(bundle))
    assert response.json()["error"]["code"] == "TENANT_FORBIDDEN"


async def test_a_caster_without_the_publish_scope_cannot_publish(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    caster = seed_user(platform, "c@example.com", ["caster"], scopes=["cast:invoke"])
    response = await client.post("/v1/spells", headers=caster.headers, content=b"")
    assert response.status_code == 403


async def test_a_hostile_archive_is_refused_and_nothing_is_recorded(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    maker = await seed_maker(client, platform)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    response = await client.post("/v1/spells", headers=maker.headers, content=buffer.getvalue())
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "UNSAFE_ARCHIVE"
    assert (await client.get("/v1/spells", headers=maker.headers)).json()["items"] == []


async def test_an_unknown_visibility_on_publish_is_refused(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    maker = await seed_maker(client, platform)
    response = await client.post("/v1/spells?visibility=secret", headers=maker.headers, content=b"")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


async def test_a_body_that_is_not_a_tar_is_an_invalid_bundle(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    maker = await seed_maker(client, platform)
    response = await client.post("/v1/spells", headers=maker.headers, content=b"hello")
    assert response.json()["error"]["code"] == "INVALID_BUNDLE"


async def test_host_spells_are_refused_unless_the_operator_enables_them(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    assert maker.publisher is not None
    bundle = host_bundle(tmp_path / "h", "acme/host", script="#!/bin/sh\necho '{}'\n", signer=maker.publisher)
    response = await client.post("/v1/spells", headers=maker.headers, content=archive_of(bundle))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "POLICY_DENIED"


async def test_listing_searches_sorts_and_pages(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    for name in ("alpha", "beta", "gamma"):
        await publish(client, maker, tmp_path, spell_id=f"acme/{name}")
    first = (await client.get("/v1/spells?limit=2&sort=popular", headers=maker.headers)).json()
    assert len(first["items"]) == 2
    second = (
        await client.get(f"/v1/spells?limit=2&cursor={first['next_cursor']}", headers=maker.headers)
    ).json()
    assert len(second["items"]) == 1
    assert second["next_cursor"] is None
    found = (await client.get("/v1/spells?q=BET&sort=price", headers=maker.headers)).json()["items"]
    assert [s["id"] for s in found] == ["acme/beta"]
    tagged = (await client.get("/v1/spells?tag=none", headers=maker.headers)).json()["items"]
    assert tagged == []


@pytest.mark.parametrize("query", ["sort=loud", "limit=0", "limit=101", "cursor=%%%", "cursor=eDox"])
async def test_bad_listing_parameters_are_validation_errors(
    client: httpx.AsyncClient, platform: Platform, query: str
) -> None:
    caller = seed_user(platform, "c@example.com", ["caster"])
    response = await client.get(f"/v1/spells?{query}", headers=caller.headers)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


async def test_versions_are_listed_newest_first_and_yanked_ones_are_not_the_default(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path, version="1.0.0")
    await publish(client, maker, tmp_path, version="1.2.0")
    versions = (await client.get("/v1/spells/acme/hello/versions", headers=maker.headers)).json()["items"]
    assert [v["version"] for v in versions] == ["1.2.0", "1.0.0"]
    yanked = await client.post("/v1/spells/acme/hello/versions/1.2.0/yank", headers=maker.headers)
    assert yanked.json()["is_yanked"] is True
    caster = seed_user(platform, "c@example.com", ["caster"])
    cast = await client.post(
        "/v1/spells/acme/hello/cast",
        json={"input": {"name": "x"}},
        headers={**caster.headers, "Idempotency-Key": "a", "Prefer": "wait=10"},
    )
    assert cast.json()["version"] == "1.0.0"
    restored = await client.post("/v1/spells/acme/hello/versions/1.2.0/yank?undo=true", headers=maker.headers)
    assert restored.json()["is_yanked"] is False
    missing = await client.post("/v1/spells/acme/hello/versions/9.9.9/yank", headers=maker.headers)
    assert missing.json()["error"]["code"] == "VERSION_NOT_FOUND"


async def test_private_spells_are_invisible_to_other_tenants(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path)
    changed = await client.patch(
        "/v1/spells/acme/hello", headers=maker.headers, json={"visibility": "private"}
    )
    assert changed.json()["visibility"] == "private"
    other = seed_user(platform, "c@example.com", ["caster"])
    assert (await client.get("/v1/spells/acme/hello", headers=other.headers)).status_code == 404
    assert (await client.get("/v1/spells", headers=other.headers)).json()["items"] == []
    assert len((await client.get("/v1/spells", headers=maker.headers)).json()["items"]) == 1
    bad = await client.patch("/v1/spells/acme/hello", headers=maker.headers, json={"visibility": "loud"})
    assert bad.status_code == 422


async def test_a_suspended_spell_refuses_casts_until_unsuspended(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path)
    operator = seed_user(platform, "ops@example.com", ["operator"])
    forbidden = await client.post("/v1/admin/spells/acme/hello/suspend", headers=maker.headers, json={})
    assert forbidden.status_code == 403
    suspended = await client.post(
        "/v1/admin/spells/acme/hello/suspend", headers=operator.headers, json={"reason": "malware"}
    )
    assert suspended.json()["is_suspended"] is True
    headers = {**maker.headers, "Idempotency-Key": "s1"}
    cast = await client.post("/v1/spells/acme/hello/cast", headers=headers, json={"input": {"name": "x"}})
    assert cast.status_code == 403
    assert cast.json()["error"]["code"] == "SPELL_SUSPENDED"
    await client.post("/v1/admin/spells/acme/hello/suspend?undo=true", headers=operator.headers, json={})
    cast = await client.post(
        "/v1/spells/acme/hello/cast",
        headers={**headers, "Idempotency-Key": "s2"},
        json={"input": {"name": "x"}},
    )
    assert cast.status_code in {200, 202}
    missing = await client.post("/v1/admin/spells/acme/nope/suspend", headers=operator.headers, json={})
    assert missing.json()["error"]["code"] == "SPELL_NOT_FOUND"


async def test_unknown_spells_are_not_found(client: httpx.AsyncClient, platform: Platform) -> None:
    caller = seed_user(platform, "c@example.com", ["caster"])
    for path in ("/v1/spells/acme/nope", "/v1/spells/acme/nope/versions"):
        response = await client.get(path, headers=caller.headers)
        assert response.json()["error"]["code"] == "SPELL_NOT_FOUND"


async def test_a_bundle_with_a_broken_manifest_is_an_invalid_manifest(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    bundle = wasm_bundle(tmp_path / "b", "acme/hello", signer=maker.publisher)
    (bundle / "spell.yaml").write_text("id: acme/hello\nversion: one\n", encoding="utf-8")
    response = await client.post("/v1/spells", headers=maker.headers, content=archive_of(bundle))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "INVALID_MANIFEST"


async def test_concurrent_publishes_of_one_version_all_succeed_with_one_digest(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    archive = archive_of(wasm_bundle(tmp_path / "b", "acme/hello", signer=maker.publisher))
    responses = await asyncio.gather(
        *(client.post("/v1/spells", headers=maker.headers, content=archive) for _ in range(5))
    )
    assert [r.status_code for r in responses] == [201] * 5, [r.text for r in responses]
    assert len({r.json()["digest"] for r in responses}) == 1
    versions = (await client.get("/v1/spells/acme/hello/versions", headers=maker.headers)).json()["items"]
    assert len(versions) == 1


@pytest.mark.parametrize("other_digest", [False, True], ids=["same-bundle", "other-bundle"])
async def test_a_publish_that_loses_the_race_for_its_version_answers_as_a_republish(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, database_url: str, other_digest: bool
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite queues writers: two publishes never insert at once")
    maker = await seed_maker(client, platform)
    mine = archive_of(wasm_bundle(tmp_path / "a", "acme/hello", signer=maker.publisher))
    theirs = archive_of(wasm_bundle(tmp_path / "b", "acme/hello", signer=maker.publisher, timeout_ms=9_000))
    with platform.db.unit_of_work(write=False) as uow:
        principal = platform.auth.authenticate_key(uow, maker.token)
    winner: list[str] = []

    def publish_first(state: ORMExecuteState) -> None:
        # After this publish found no such version and before it writes one (it loads the spell
        # between the two), another publish commits the version.
        if not winner and state.is_select and any(m.class_ is Spell for m in state.all_mappers):
            with platform.db.unit_of_work() as other:
                winner.append(platform.spells.publish(other, principal, theirs if other_digest else mine).id)

    with platform.db.unit_of_work() as uow:
        event.listen(uow.session, "do_orm_execute", publish_first)
        if other_digest:
            with pytest.raises(SpellError) as lost:
                platform.spells.publish(uow, principal, mine)
            assert lost.value.code == "ALREADY_EXISTS"
        else:
            assert platform.spells.publish(uow, principal, mine).id == winner[0]
    versions = (await client.get("/v1/spells/acme/hello/versions", headers=maker.headers)).json()["items"]
    assert len(versions) == 1


async def test_a_bundle_whose_schema_no_cast_could_use_is_refused_at_publish(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    bundle = wasm_bundle(tmp_path / "bad", "acme/bad", signer=maker.publisher, schema={"type": "nonsense"})
    response = await client.post("/v1/spells", headers=maker.headers, content=archive_of(bundle))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "INVALID_BUNDLE"
    assert response.json()["error"]["details"]["errors"]
    assert (await client.get("/v1/spells", headers=maker.headers)).json()["items"] == []


@pytest.mark.parametrize("roles", [["caster"], ["admin"], ["operator", "auditor"]])
async def test_registering_a_publisher_and_publishing_need_the_maker_role(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, roles: list[str]
) -> None:
    caller = seed_user(platform, "c@example.com", roles)
    signer = new_publisher("acme")
    registered = await client.post(
        "/v1/publishers/acme/keys",
        headers=caller.headers,
        json={"key_id": signer.key_id, "public_key": signer.public_key},
    )
    assert registered.status_code == 403
    assert registered.json()["error"]["code"] == "ROLE_REQUIRED"
    bundle = wasm_bundle(tmp_path / "b", "acme/hello", signer=signer)
    published = await client.post("/v1/spells", headers=caller.headers, content=archive_of(bundle))
    assert published.status_code == 403
    assert published.json()["error"]["code"] == "ROLE_REQUIRED"
    listed = (await client.get("/v1/spells", headers=caller.headers)).json()["items"]
    assert listed == []


async def test_suspending_needs_the_operator_scope(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path)
    narrow = seed_user(platform, "ops@example.com", ["operator"], scopes=["spell:read", "audit:read"])
    refused = await client.post("/v1/admin/spells/acme/hello/suspend", headers=narrow.headers, json={})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "FORBIDDEN"
    assert refused.json()["error"]["details"]["required_scope"] == "operator"
    assert (await client.get("/v1/spells/acme/hello", headers=maker.headers)).json()["is_suspended"] is False


async def test_suspending_another_tenants_private_spell_shows_nothing_private_and_audits_the_actor(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path, spell_id="acme/secret")
    await client.patch("/v1/spells/acme/secret", headers=maker.headers, json={"visibility": "private"})
    operator = seed_user(platform, "ops@example.com", ["operator"])
    suspended = await client.post(
        "/v1/admin/spells/acme/secret/suspend", headers=operator.headers, json={"reason": "malware"}
    )
    assert suspended.status_code == 200, suspended.text
    assert suspended.json() == {"spell_id": "acme/secret", "is_suspended": True, "reason": "malware"}
    with platform.db.unit_of_work(write=False) as uow:
        records = platform.audit.list(uow, action="spell.suspended")
        assert [(r.subject, r.actor_id) for r in records] == [("acme/secret", operator.user_id)]
