"""Shared steps of the money API tests: priced spells, wallet credit."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import httpx

from spell.kit.money import Money
from spell.platform.ledger.service import LedgerService
from spell.platform.server import Platform
from spell.signing.signature import sign_bundle
from tests.server_factories import archive_of, wasm_bundle
from tests.server_fixtures import Caller


async def publish_priced(
    client: httpx.AsyncClient, maker: Caller, tmp_path: Path, pricing: str, spell_id: str = "acme/paid"
) -> dict[str, Any]:
    """Publish a signed hello spell whose manifest carries the given ``pricing:`` YAML block."""
    assert maker.publisher is not None
    bundle = wasm_bundle(tmp_path / f"b-{secrets.token_hex(4)}", spell_id)
    with (bundle / "spell.yaml").open("a", encoding="utf-8") as manifest:
        manifest.write(pricing)
    sign_bundle(bundle, maker.publisher.private_key, key_id=maker.publisher.key_id)
    response = await client.post("/v1/spells", headers=maker.headers, content=archive_of(bundle))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def credit(platform: Platform, user_id: str, micros: int, key: str = "test-credit") -> None:
    """Put ``micros`` USD into a user's wallet."""
    with platform.db.unit_of_work() as uow:
        LedgerService(uow.session).credit(user_id, Money(micros, "USD"), idempotency_key=key, memo={})


FLAT = "pricing:\n  model: flat\n  amount_micros: 250000\n"
