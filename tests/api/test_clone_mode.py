"""Clone mode through the HTTP API: a ``one_time`` spell with ``pricing.clone`` is bought once (retried
or raced), and its archive goes to buyers only, with a licence the local licence store accepts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from spell.bundle.loaders import load_manifest
from spell.errors import InvalidManifest
from spell.platform.ledger.service import LedgerService
from spell.platform.server import Platform
from spell.signing.entitlement import verify_token
from spell.signing.trust import TrustStore
from tests.api.money_helpers import FLAT, credit, publish_priced
from tests.fixtures.bundles import wasm_bundle
from tests.fixtures.server import Caller, seed_maker, seed_user

pytestmark = pytest.mark.anyio
PRICE = 3_000_000
CLONE = f"pricing:\n  model: one_time\n  amount_micros: {PRICE}\n  clone: true\n"
ARCHIVE = "/v1/spells/acme/clone/versions/1.0.0/archive"


async def _buy(
    client: httpx.AsyncClient, caster: Caller, key: str, spell: str = "acme/clone"
) -> httpx.Response:
    return await client.post(
        f"/v1/spells/{spell}/purchase", headers={**caster.headers, "Idempotency-Key": key}
    )


def _wallet(platform: Platform, user_id: str) -> int:
    with platform.db.unit_of_work(write=False) as uow:
        LedgerService().verify(uow)
        return LedgerService().balance(uow, user_id, "wallet", "USD").micros


async def _setup(client: httpx.AsyncClient, platform: Platform, tmp_path: Path) -> tuple[Caller, Caller]:
    maker = await seed_maker(client, platform)
    await publish_priced(client, maker, tmp_path, CLONE, spell_id="acme/clone")
    caster = seed_user(platform, "c@example.com", ["caster"])
    credit(platform, caster.user_id, 10 * PRICE)
    return maker, caster


async def test_a_purchase_charges_once_however_often_it_is_retried(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker, caster = await _setup(client, platform, tmp_path)
    first = await _buy(client, caster, "k1")
    assert first.status_code == 200, first.text
    assert first.json()["charged"] is True
    assert first.json()["clone"] is True
    assert first.json()["entitlement"]["price_micros"] == PRICE
    again = await _buy(client, caster, "k1")
    other_key = await _buy(client, caster, "k2")
    assert again.json()["charged"] is False
    assert other_key.json()["charged"] is False
    assert again.json()["entitlement"] == first.json()["entitlement"]
    assert _wallet(platform, caster.user_id) == 9 * PRICE
    with platform.db.unit_of_work(write=False) as uow:
        assert platform.ledger.balance(uow, maker.tenant_id, "earnings", "USD").micros == PRICE * 8 // 10
        platform.audit.verify(uow)
        charges = platform.audit.list(uow, action="charge.captured", actor_id=caster.user_id)
    assert [(c.subject, c.data["amount_micros"]) for c in charges] == [
        (first.json()["entitlement"]["cast_id"], PRICE)
    ]
    owned = (await client.get("/v1/entitlements", headers=caster.headers)).json()["items"]
    assert [e["spell_id"] for e in owned] == ["acme/clone"]
    quote = await client.post("/v1/spells/acme/clone/estimate", headers=caster.headers, json={})
    assert quote.json()["estimate"]["amount_micros"] == 0  # casting a bought spell is free


async def test_racing_purchases_charge_once(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    _, caster = await _setup(client, platform, tmp_path)
    answers = await asyncio.gather(*(_buy(client, caster, f"race-{i % 3}") for i in range(8)))
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    assert sum(a.json()["charged"] for a in answers) == 1
    assert _wallet(platform, caster.user_id) == 9 * PRICE
    with platform.db.unit_of_work(write=False) as uow:
        assert platform.ledger.balance(uow, caster.user_id, "holds", "USD").micros == 0


async def test_a_purchase_needs_a_key_money_and_a_one_time_spell(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker, caster = await _setup(client, platform, tmp_path)
    keyless = await client.post("/v1/spells/acme/clone/purchase", headers=caster.headers)
    assert keyless.status_code == 422
    assert keyless.json()["error"]["code"] == "IDEMPOTENCY_KEY_REQUIRED"
    await publish_priced(client, maker, tmp_path, FLAT, spell_id="acme/flat")
    flat = await _buy(client, caster, "k", spell="acme/flat")
    assert flat.status_code == 409
    assert flat.json()["error"]["code"] == "NOT_PURCHASABLE"
    poor = seed_user(platform, "poor@example.com", ["caster"])
    broke = await _buy(client, poor, "k")
    assert broke.status_code == 402
    assert broke.json()["error"]["code"] == "INSUFFICIENT_CREDITS"
    assert (await client.get("/v1/entitlements", headers=poor.headers)).json()["items"] == []
    missing = await _buy(client, caster, "k", spell="acme/nope")
    assert missing.json()["error"]["code"] == "SPELL_NOT_FOUND"


async def test_the_archive_of_a_clone_spell_goes_to_buyers_with_their_licence(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker, caster = await _setup(client, platform, tmp_path)
    refused = await client.get(ARCHIVE, headers=caster.headers)
    assert refused.status_code == 402
    assert refused.json()["error"]["code"] == "PURCHASE_REQUIRED"
    assert "purchase" in refused.json()["error"]["hint"]
    own = await client.get(ARCHIVE, headers=maker.headers)  # the maker's own spell: no purchase
    assert own.status_code == 200
    assert "x-spell-license" not in own.headers
    await _buy(client, caster, "k1")
    bought = await client.get(ARCHIVE, headers=caster.headers)
    assert bought.status_code == 200, bought.text
    assert bought.content == own.content
    issuer = bought.headers["x-spell-license-issuer"]
    assert issuer.startswith("platform:")
    key_id, _, public_key = bought.headers["x-spell-license-key"].partition(":")
    trust = TrustStore(tmp_path / "trust")
    trust.add_key(issuer, public_key, key_id=key_id)
    claims = verify_token(bought.headers["x-spell-license"], trust, now=datetime.now(UTC)).claims
    assert (claims.mode, claims.currency, claims.max_amount) == ("upfront", "USD", PRICE / 1_000_000)


async def test_a_refunded_purchase_no_longer_opens_the_archive_and_is_bought_again_once(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    _, caster = await _setup(client, platform, tmp_path)
    purchase_id = (await _buy(client, caster, "k1")).json()["entitlement"]["cast_id"]
    admin = seed_user(platform, "ops@example.com", ["admin"], scopes=["admin"])
    refund = await client.post(
        "/v1/admin/refunds",
        headers={**admin.headers, "Idempotency-Key": "r1"},
        json={"cast_id": purchase_id, "reason": "changed my mind"},
    )
    assert refund.status_code == 201, refund.text
    assert _wallet(platform, caster.user_id) == 10 * PRICE
    assert (await client.get("/v1/entitlements", headers=caster.headers)).json()["items"] == []
    refused = await client.get(ARCHIVE, headers=caster.headers)
    assert refused.json()["error"]["code"] == "PURCHASE_REQUIRED"
    reused = await _buy(client, caster, "k1")
    assert reused.status_code == 409
    assert reused.json()["error"]["code"] == "IDEMPOTENCY_CONFLICT"
    again = await _buy(client, caster, "k2")
    assert again.json()["charged"] is True
    assert (await _buy(client, caster, "k3")).json()["charged"] is False
    assert _wallet(platform, caster.user_id) == 9 * PRICE
    assert (await client.get(ARCHIVE, headers=caster.headers)).status_code == 200


async def test_a_non_clone_spell_archive_is_still_open_to_every_reader(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    once = f"pricing:\n  model: one_time\n  amount_micros: {PRICE}\n"
    await publish_priced(client, maker, tmp_path, once, spell_id="acme/once")
    caster = seed_user(platform, "c@example.com", ["caster"])
    response = await client.get("/v1/spells/acme/once/versions/1.0.0/archive", headers=caster.headers)
    assert response.status_code == 200
    assert "x-spell-license" not in response.headers


def test_clone_mode_needs_one_time_pricing_so_such_a_bundle_never_signs_nor_publishes(tmp_path: Path) -> None:
    bundle = wasm_bundle(tmp_path / "b", "acme/bad")
    with (bundle / "spell.yaml").open("a", encoding="utf-8") as manifest:
        manifest.write("pricing:\n  model: flat\n  amount_micros: 5\n  clone: true\n")
    with pytest.raises(InvalidManifest) as refused:
        load_manifest(bundle)  # what signing and the publish route read the bundle with
    assert refused.value.code == "INVALID_MANIFEST"
    assert refused.value.details["errors"][0]["path"] == "pricing.clone"
