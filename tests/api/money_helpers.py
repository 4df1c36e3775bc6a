"""Shared steps of the money API tests: priced spells, wallet credit."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import httpx

from spell.kit.money import Money
from spell.models import Hold
from spell.platform.server import Platform
from spell.signing.signature import sign_bundle
from tests.fixtures.bundles import archive_of, wasm_bundle
from tests.fixtures.server import Caller


async def publish_priced(
    client: httpx.AsyncClient,
    maker: Caller,
    tmp_path: Path,
    pricing: str,
    spell_id: str = "acme/paid",
    wat: str | None = None,
    **bundle_options: Any,
) -> dict[str, Any]:
    """Publish a signed hello (or ``wat``) spell whose manifest carries the given ``pricing:`` YAML block
    (``bundle_options`` go to ``wasm_bundle``, e.g. ``timeout_ms``)."""
    assert maker.publisher is not None
    folder = tmp_path / f"b-{secrets.token_hex(4)}"
    if wat is not None:
        bundle_options["wat"] = wat
    bundle = wasm_bundle(folder, spell_id, **bundle_options)
    with (bundle / "spell.yaml").open("a", encoding="utf-8") as manifest:
        manifest.write(pricing)
    sign_bundle(bundle, maker.publisher.private_key, key_id=maker.publisher.key_id)
    response = await client.post("/v1/spells", headers=maker.headers, content=archive_of(bundle))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def hold_and_balance(platform: Platform, cast_id: str, user_id: str) -> tuple[str, int]:
    """A cast's hold status and its caster's USD wallet balance (the ledger verified first)."""
    with platform.db.unit_of_work(write=False) as uow:
        hold = uow.session.get(Hold, cast_id)
        assert hold is not None
        platform.ledger.verify(uow)
        return hold.status, platform.ledger.balance(uow, user_id, "wallet", "USD").micros


def credit(platform: Platform, user_id: str, micros: int, key: str = "test-credit") -> None:
    """Put ``micros`` USD into a user's wallet."""
    with platform.db.unit_of_work() as uow:
        platform.ledger.credit(uow, user_id, Money(micros, "USD"), idempotency_key=key, memo={})


FLAT = "pricing:\n  model: flat\n  amount_micros: 250000\n"

# Writes {"spell_events":{"page":3,"bogus":9}} to stdout, whatever the input.
EVENTS_WAT = """
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "{\\"spell_events\\":{\\"page\\":3,\\"bogus\\":9}}")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 37))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))))
"""
PER_EVENT = (
    "pricing:\n  model: per_event\n  amount_micros: 10\n  events:\n    page: 100\n    image: 500\n"
    "  max_events: 5\n"
)
