"""Where violations come from: a cast refused egress or out of a limit (charged to its spell, in the
transaction ending the cast), a publish refused for its signature or SBOM (charged to the maker, kept
although the publish rolled back), a rate-limit storm (charged to the caster, once per minute). A
successful cast, or one that failed on its own, adds no statement at all."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select

from spell.config.server import ServerSettings
from spell.kit.clock import FakeClock
from spell.models import Spell
from spell.platform.server import Platform
from spell.runtimes.base import Runtime
from spell.runtimes.egress import EgressPolicy
from spell.runtimes.host import EngineSettings, HostRuntime
from spell.runtimes.wasm import WasmRuntime
from spell.signing.signature import sign_bundle
from tests.fixtures.bundles import EMPTY_SBOM, SPIN_WAT, archive_of, wasm_bundle, write_sbom
from tests.fixtures.server import Caller, publish, seed_maker, seed_user
from tests.platform.abuse.helpers import violations

pytestmark = pytest.mark.anyio

TRAP_WAT = '(module (memory (export "memory") 1) (func (export "_start") unreachable))'


@pytest.fixture
def runtimes(wasm_runtime: WasmRuntime) -> dict[str, Runtime]:
    """WASM, and host steps whose egress rules refuse plain http before anything is resolved."""
    return {"wasm": wasm_runtime, "host": HostRuntime(EngineSettings(egress=EgressPolicy()))}


@pytest.fixture
def server_settings(tmp_path: Path, database_url: str) -> ServerSettings:
    """Host steps allowed; one cast a minute per credential, so a burst is refused."""
    return ServerSettings.for_home(
        tmp_path / "home",
        database_url=database_url,
        secret_key="abuse-secret",
        workers=2,
        allow_host_runtime=True,
        rate_limit_per_minute=1,
        tenant_rate_limit_per_minute=100_000,
    )


async def _cast(
    client: httpx.AsyncClient, caller: Caller, spell_id: str, key: str, **input: Any
) -> httpx.Response:
    headers = {**caller.headers, "Idempotency-Key": key, "Prefer": "wait=20"}
    return await client.post(f"/v1/spells/{spell_id}/cast", headers=headers, json={"input": input})


def _http_spell(dest: Path, maker: Caller) -> Path:
    assert maker.publisher is not None
    dest.mkdir(parents=True)
    (dest / "schema.json").write_text('{"type": "object"}', encoding="utf-8")
    (dest / "steps").mkdir()
    (dest / "steps" / "fetch.json").write_text(json.dumps({"method": "GET", "url": "{{INPUT.url}}"}))
    (dest / "spell.yaml").write_text(
        "id: acme/fetch\nversion: 1.0.0\nname: fetch\ninputs_schema: ./schema.json\n"
        "runtime:\n  execution: host\n  platforms: [linux/amd64, linux/arm64]\n"
        "  policy:\n    net_allow: [example.test]\n"
        "steps:\n  - uses: http\n    name: fetch\n    run: steps/fetch.json\n",
        encoding="utf-8",
    )
    write_sbom(dest, EMPTY_SBOM)
    sign_bundle(dest, maker.publisher.private_key, key_id=maker.publisher.key_id)
    return dest


@pytest.fixture
def statements(platform: Platform) -> Iterator[list[str]]:
    """Every SQL statement the platform sends from now on."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    engine = platform.db.engine
    event.listen(engine, "before_cursor_execute", note)
    yield seen
    event.remove(engine, "before_cursor_execute", note)


async def test_a_cast_refused_egress_is_a_violation_of_its_spell(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    published = await client.post(
        "/v1/spells", headers=maker.headers, content=archive_of(_http_spell(tmp_path / "fetch", maker))
    )
    assert published.status_code == 201, published.text
    caster = seed_user(platform, "caster@example.com", ["caster"])

    cast = (await _cast(client, caster, "acme/fetch", "egress", url="http://api.example.test/x")).json()

    assert cast["error"]["code"] == "EGRESS_DENIED"
    (row,) = violations(platform)
    assert (row.kind, row.subject_type, row.subject_id, row.cast_id, row.spell_version) == (
        "egress",
        "spell",
        "acme/fetch",
        cast["id"],
        "1.0.0",
    )
    assert row.details == {"code": "EGRESS_DENIED", "caster_id": caster.user_id}
    assert row.tenant_id == maker.tenant_id


async def test_a_cast_out_of_fuel_is_a_limit_violation_of_its_spell(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path, wat=SPIN_WAT, schema={"type": "object"}, fuel=100_000)
    caster = seed_user(platform, "caster@example.com", ["caster"])

    cast = (await _cast(client, caster, "acme/hello", "spin")).json()

    assert cast["error"]["code"] == "FUEL_EXHAUSTED"
    (row,) = violations(platform)
    assert (row.kind, row.subject_id, row.cast_id, row.details["code"]) == (
        "limit",
        "acme/hello",
        cast["id"],
        "FUEL_EXHAUSTED",
    )


async def test_a_successful_cast_or_one_failing_on_its_own_sends_no_statement_about_violations(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, statements: list[str]
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path)
    await publish(client, maker, tmp_path, spell_id="acme/trap", wat=TRAP_WAT, schema={"type": "object"})
    caster = seed_user(platform, "caster@example.com", ["caster"])
    statements.clear()

    ok = (await _cast(client, caster, "acme/hello", "ok", name="x")).json()
    trapped = (await _cast(client, maker, "acme/trap", "trap")).json()

    assert ok["status"] == "succeeded"
    assert trapped["error"]["code"] == "TRAP"
    assert not [s for s in statements if "policy_violations" in s or "FOR UPDATE" in s.upper()]
    assert violations(platform) == []
    # the listener does hear a violation being recorded
    await publish(
        client, maker, tmp_path, spell_id="acme/spin", wat=SPIN_WAT, schema={"type": "object"}, fuel=100_000
    )
    spinner = seed_user(platform, "spinner@example.com", ["caster"])  # one cast a minute each
    spun = (await _cast(client, spinner, "acme/spin", "spin")).json()
    assert spun["error"]["code"] == "FUEL_EXHAUSTED"
    assert [s for s in statements if "INSERT INTO policy_violations" in s]


async def test_a_publish_refused_for_its_signature_is_a_violation_of_the_maker_and_keeps_nothing_else(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    unsigned = wasm_bundle(tmp_path / "unsigned", "acme/hello")

    refused = await client.post("/v1/spells", headers=maker.headers, content=archive_of(unsigned))

    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "SIGNATURE_MISSING"
    (row,) = violations(platform)
    assert (row.kind, row.subject_type, row.subject_id, row.tenant_id) == (
        "signature",
        "user",
        maker.user_id,
        maker.tenant_id,
    )
    assert row.details["code"] == "SIGNATURE_MISSING"
    with platform.db.unit_of_work(write=False) as uow:
        assert uow.session.scalars(select(Spell)).all() == []


async def test_a_publish_refused_by_the_supply_chain_gate_is_a_violation_of_the_maker(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    no_sbom = wasm_bundle(tmp_path / "no-sbom", "acme/hello", signer=maker.publisher, sbom=None)

    refused = await client.post("/v1/spells", headers=maker.headers, content=archive_of(no_sbom))

    assert refused.json()["error"]["code"] == "SBOM_REQUIRED"
    (row,) = violations(platform)
    assert (row.kind, row.subject_id, row.details["code"]) == ("supply", maker.user_id, "SBOM_REQUIRED")
    with platform.db.unit_of_work(write=False) as uow:
        assert uow.session.scalars(select(Spell)).all() == []


async def test_a_publish_refused_for_another_reason_is_no_violation(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path)
    other = wasm_bundle(tmp_path / "other", "acme/hello", signer=maker.publisher, wat=TRAP_WAT)

    refused = await client.post("/v1/spells", headers=maker.headers, content=archive_of(other))

    assert refused.json()["error"]["code"] == "ALREADY_EXISTS"
    assert violations(platform) == []


async def test_a_rate_limit_storm_is_one_violation_of_the_caster_per_minute(
    client: httpx.AsyncClient, platform: Platform, clock: FakeClock, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path)
    caster = seed_user(platform, "caster@example.com", ["caster"])
    assert (await _cast(client, caster, "acme/hello", "first", name="x")).status_code in (200, 201)

    codes = [(await _cast(client, caster, "acme/hello", f"k{i}", name="x")).status_code for i in range(5)]
    assert codes == [429] * 5
    (storm,) = violations(platform)
    assert (storm.kind, storm.subject_type, storm.subject_id) == ("rate_limit_storm", "user", caster.user_id)
    assert storm.details["refusals"] == 3

    clock.advance(60)  # the storm counter's minute is the platform clock's; the limiter's is its own
    for i in range(3):
        assert (await _cast(client, caster, "acme/hello", f"m{i}", name="x")).status_code == 429
    assert [v.kind for v in violations(platform)] == ["rate_limit_storm"] * 2
