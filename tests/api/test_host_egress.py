"""Host ``http`` steps on a server: the egress rules of WASM, whatever URL the caster supplies.

The step's URL comes from the input, as in the ``samples/http-call`` example. A local server on
127.0.0.1 is what must stay unreachable; names resolve through a pretend DNS (tests.runtimes.egress.world)
whose public answers are answered by that same server, so nothing leaves the machine.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from spell.config.abuse import AbuseSettings
from spell.config.server import ServerSettings
from spell.platform.server import Platform, host_egress
from spell.runtimes.base import Runtime
from spell.runtimes.egress import EgressPolicy
from spell.runtimes.host import EngineSettings, HostRuntime
from spell.runtimes.wasm import WasmRuntime
from spell.signing.signature import sign_bundle
from spell.storage.session import Database
from tests.fixtures.bundles import EMPTY_SBOM, Publisher, archive_of, write_sbom
from tests.fixtures.server import Caller, seed_maker
from tests.runtimes.egress.world import PUBLIC, Local, World, local_server

pytestmark = pytest.mark.anyio

LOOPBACK_URLS = [
    "http://127.0.0.1:{port}/x",
    "https://127.0.0.1:{port}/x",
    "http://2130706433:{port}/x",
    "http://127.1:{port}/x",
    "http://0x7f.1:{port}/x",
    "http://0177.0.0.1:{port}/x",
    "http://[::1]:{port}/x",
    "http://[::ffff:127.0.0.1]:{port}/x",
    "http://localhost:{port}/x",
    "https://localhost:{port}/x",
    "https://internal.example.test:{port}/x",  # allow-listed, but resolves to loopback
]


@pytest.fixture
def local() -> Iterator[Local]:
    with local_server() as served:
        yield served


@pytest.fixture
def world(local: Local) -> World:
    return World(
        {
            "api.example.test": [[PUBLIC]],
            "internal.example.test": [["127.0.0.1"]],
            "localhost": [["127.0.0.1"]],
        },
        public_port=local.port,
    )


def _host(egress: EgressPolicy) -> Runtime:
    return HostRuntime(EngineSettings(egress=egress))


@pytest.fixture
def server_settings(tmp_path: Path, database_url: str) -> ServerSettings:
    return ServerSettings.for_home(
        tmp_path / "home", database_url=database_url, secret_key="s", workers=2, allow_host_runtime=True
    )


@pytest.fixture
def platform(
    server_settings: ServerSettings, database: Database, runtimes: dict[str, Runtime]
) -> Iterator[Platform]:
    # Every refusal here is a policy violation: with the default threshold the eleventh spelling would
    # meet a spell suspended for abuse (tests/platform/abuse covers that), not the egress rule.
    built = Platform.build(
        server_settings, runtimes=runtimes, database=database, abuse=AbuseSettings(suspend_threshold=0)
    )
    built.start()
    yield built
    built.stop()


@pytest.fixture
def runtimes(wasm_runtime: WasmRuntime, world: World) -> dict[str, Runtime]:
    # The operator allows plain http here so that the address rules, not the scheme, are what refuse.
    return {
        "wasm": wasm_runtime,
        "host": _host(EgressPolicy(allow_http=True, resolver=world.resolve, dial=world.dial)),
    }


def _http_spell(dest: Path, spell_id: str, signer: Publisher) -> Path:
    dest.mkdir(parents=True)
    (dest / "schema.json").write_text('{"type": "object"}', encoding="utf-8")
    (dest / "steps").mkdir()
    (dest / "steps" / "fetch.json").write_text(json.dumps({"method": "GET", "url": "{{INPUT.url}}"}))
    (dest / "spell.yaml").write_text(
        f"id: {spell_id}\nversion: 1.0.0\nname: fetch\ninputs_schema: ./schema.json\n"
        "runtime:\n  execution: host\n  platforms: [linux/amd64, linux/arm64]\n"
        "  policy:\n    net_allow: [example.test]\n"
        "steps:\n  - uses: http\n    name: fetch\n    run: steps/fetch.json\n",
        encoding="utf-8",
    )
    write_sbom(dest, EMPTY_SBOM)
    sign_bundle(dest, signer.private_key, key_id=signer.key_id)
    return dest


async def _maker(client: httpx.AsyncClient, platform: Platform, tmp_path: Path) -> Caller:
    maker = await seed_maker(client, platform)
    assert maker.publisher is not None
    bundle = _http_spell(tmp_path / "fetch", "acme/fetch", maker.publisher)
    published = await client.post("/v1/spells", headers=maker.headers, content=archive_of(bundle))
    assert published.status_code == 201, published.text
    return maker


async def _fetch(client: httpx.AsyncClient, caller: Caller, url: str, key: str) -> dict[str, Any]:
    response = await client.post(
        "/v1/spells/acme/fetch/cast",
        json={"input": {"url": url}},
        headers={**caller.headers, "Idempotency-Key": key, "Prefer": "wait=20"},
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_every_spelling_of_loopback_is_refused_to_a_host_http_step(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, local: Local
) -> None:
    maker = await _maker(client, platform, tmp_path)
    for n, template in enumerate(LOOPBACK_URLS):
        cast = await _fetch(client, maker, template.format(port=local.port), f"k{n}")
        assert cast["status"] == "failed", (template, cast)
        assert cast["error"]["code"] == "EGRESS_DENIED", (template, cast)
    assert local.seen == []


async def test_an_allow_listed_public_host_is_reached(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, local: Local, world: World
) -> None:
    maker = await _maker(client, platform, tmp_path)
    cast = await _fetch(client, maker, local.url("/hello", "api.example.test"), "ok")
    assert cast["status"] == "succeeded", cast
    assert cast["output"]["step.fetch.json"] == {"hello": f"api.example.test:{local.port}"}
    assert world.dialled == [(PUBLIC, local.port)]


async def test_a_host_off_the_allow_list_is_refused(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, local: Local, world: World
) -> None:
    maker = await _maker(client, platform, tmp_path)
    cast = await _fetch(client, maker, f"https://elsewhere.example.org:{local.port}/", "off")
    assert cast["error"]["code"] == "EGRESS_DENIED"
    assert world.resolved == []


async def test_a_redirect_to_loopback_is_refused_to_a_host_http_step(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, local: Local
) -> None:
    maker = await _maker(client, platform, tmp_path)
    for n, target in enumerate(("http://127.0.0.1:{port}/secret", "http://localhost:{port}/secret")):
        url = local.url("/to", "api.example.test") + "?u=" + target.format(port=local.port)
        cast = await _fetch(client, maker, url, f"r{n}")
        assert cast["status"] == "failed", cast
        assert cast["error"]["code"] == "EGRESS_DENIED", cast
    assert [line.split("?")[0] for line in local.seen] == ["GET /to", "GET /to"]


async def test_a_rebinding_name_cannot_reach_loopback_from_a_host_http_step(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, local: Local, world: World
) -> None:
    world.answers["rebind.example.test"] = [[PUBLIC], ["127.0.0.1"]]
    maker = await _maker(client, platform, tmp_path)
    first = await _fetch(client, maker, local.url("/first", "rebind.example.test"), "a")
    second = await _fetch(client, maker, local.url("/second", "rebind.example.test"), "b")
    assert first["status"] == "succeeded"
    assert second["error"]["code"] == "EGRESS_DENIED"
    assert world.dialled == [(PUBLIC, local.port)]  # each checked answer was the one dialled
    assert local.seen == ["GET /first"]


async def test_plain_http_is_refused_unless_the_operator_allows_it(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, local: Local, world: World
) -> None:
    platform.runner.runtimes["host"] = _host(EgressPolicy(resolver=world.resolve, dial=world.dial))
    maker = await _maker(client, platform, tmp_path)
    cast = await _fetch(client, maker, local.url("/hello", "api.example.test"), "h")
    assert cast["error"]["code"] == "EGRESS_DENIED"
    assert world.dialled == []
    assert local.seen == []


async def test_only_an_unsafe_operator_setting_opens_a_local_server_to_host_steps(
    client: httpx.AsyncClient,
    platform: Platform,
    tmp_path: Path,
    local: Local,
    server_settings: ServerSettings,
) -> None:
    assert host_egress(server_settings) == EgressPolicy()
    assert not ServerSettings.from_env({}).unsafe_egress_allow_private
    assert not ServerSettings.from_env({}).egress_allow_http
    opened = replace(server_settings, unsafe_egress_allow_private=True)
    platform.runner.runtimes["host"] = _host(host_egress(opened))
    maker = await _maker(client, platform, tmp_path)
    cast = await _fetch(client, maker, local.url("/hello"), "u")
    assert cast["status"] == "succeeded", cast
    assert local.seen == ["GET /hello"]
