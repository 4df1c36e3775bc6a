"""``api`` spells on a server: refused unless the operator enabled them; when enabled, the cast is
forwarded to the maker's endpoint, signed with the maker's own webhook secret, and its answer is the
output."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from standardwebhooks import Webhook

from spell.config.server import ServerSettings
from spell.platform.server import Platform
from spell.runtimes.api import ApiRuntime
from tests.fixtures.bundles import api_bundle, archive_of
from tests.fixtures.server import seed_maker, seed_user
from tests.runtimes.api_endpoint import Endpoint, maker_endpoint

pytestmark = pytest.mark.anyio


@pytest.fixture
def endpoint(tmp_path: Path) -> Iterator[Endpoint]:
    (tmp_path / "tls").mkdir()
    with maker_endpoint(tmp_path / "tls") as served:
        yield served


async def test_an_api_spell_is_refused_where_the_operator_did_not_enable_it(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    bundle = api_bundle(
        tmp_path / "b", "acme/remote", url="https://api.example.test/echo", signer=maker.publisher
    )
    response = await client.post("/v1/spells", headers=maker.headers, content=archive_of(bundle))
    assert response.status_code == 403, response.text
    error = response.json()["error"]
    assert error["code"] == "POLICY_DENIED"
    assert "api" not in error["details"]["allowed"]
    assert "_API_RUNTIME" in error["hint"]


class TestEnabled:
    @pytest.fixture
    def server_settings(self, tmp_path: Path, database_url: str) -> ServerSettings:
        return ServerSettings.for_home(
            tmp_path / "home", database_url=database_url, secret_key="s", allow_api_runtime=True
        )

    async def test_a_cast_is_forwarded_signed_and_answered(
        self, client: httpx.AsyncClient, platform: Platform, tmp_path: Path, endpoint: Endpoint
    ) -> None:
        runtime = platform.runner.runtimes["api"]
        assert isinstance(runtime, ApiRuntime)
        runtime.egress = endpoint.egress  # the test world's names and CA; the rules stay the server's
        maker = await seed_maker(client, platform)
        bundle = api_bundle(tmp_path / "b", "acme/remote", url=endpoint.url("/echo"), signer=maker.publisher)
        assert (
            await client.post("/v1/spells", headers=maker.headers, content=archive_of(bundle))
        ).status_code == 201
        caster = seed_user(platform, "caster@example.com", ["caster"])
        response = await client.post(
            "/v1/spells/acme/remote/cast",
            headers={**caster.headers, "Idempotency-Key": "k-1", "Prefer": "wait=10"},
            json={"input": {"city": "Kyoto"}},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "succeeded", body["error"]
        assert body["output"] == {"received": {"city": "Kyoto"}}
        assert body["usage"]["network_requests"] == 1
        secret = (await client.get("/v1/webhooks/secret", headers=maker.headers)).json()["secret"]
        call = endpoint.calls[0]
        Webhook(secret).verify(call.body, call.headers)  # the maker's own secret: raises otherwise

    async def test_a_failing_endpoint_fails_the_cast(
        self, client: httpx.AsyncClient, platform: Platform, tmp_path: Path, endpoint: Endpoint
    ) -> None:
        runtime = platform.runner.runtimes["api"]
        assert isinstance(runtime, ApiRuntime)
        runtime.egress = endpoint.egress
        maker = await seed_maker(client, platform)
        bundle = api_bundle(tmp_path / "b", "acme/remote", url=endpoint.url("/fail"), signer=maker.publisher)
        assert (
            await client.post("/v1/spells", headers=maker.headers, content=archive_of(bundle))
        ).status_code == 201
        response = await client.post(
            "/v1/spells/acme/remote/cast",
            headers={**maker.headers, "Idempotency-Key": "k-1", "Prefer": "wait=10"},
            json={"input": {}},
        )
        assert response.json()["status"] == "failed"
