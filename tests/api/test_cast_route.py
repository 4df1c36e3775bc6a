"""The cast route answers the usual request (a JSON body ``CastCreate`` accepts) without FastAPI's
generic handler, and every other request through it: the same answers, errors and error order either
way, and one count against the rate limits per request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.dependencies.utils import solve_dependencies

from spell.platform.server import Platform
from tests.fixtures.server import Caller, seed_caster

pytestmark = pytest.mark.anyio

PATH = "/v1/spells/acme/hello/cast"


class _GenericHandler:
    """Counts the requests that FastAPI's generic handler solved dependencies for."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return await solve_dependencies(*args, **kwargs)

        # the name FastAPI's request handler calls
        monkeypatch.setattr("fastapi.routing.solve_dependencies", counted)


def _headers(caller: Caller, key: str, **extra: str) -> dict[str, str]:
    return {**caller.headers, "Idempotency-Key": key, "Prefer": "wait=10", **extra}


@pytest.mark.parametrize("content_type", ["application/json", "Application/JSON; charset=utf-8"])
async def test_the_usual_cast_skips_the_generic_handler(
    client: httpx.AsyncClient,
    platform: Platform,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    content_type: str,
) -> None:
    caster = await seed_caster(client, platform, tmp_path)
    generic = _GenericHandler(monkeypatch)
    for path in (PATH, "/v1/spells/acme/hello:cast"):
        response = await client.post(
            path,
            headers=_headers(caster, f"k-{path}", **{"Content-Type": content_type}),
            content=b'{"input": {"name": "world"}}',
        )
        assert response.status_code == 200, response.text
        assert response.json()["output"] == {"greeting": "hello", "input": {"name": "world"}}
        assert response.headers["location"] == f"/v1/casts/{response.json()['id']}"
        assert response.headers["ratelimit-policy"]
    assert generic.calls == 0


async def test_a_body_the_model_refuses_goes_to_the_generic_handler_and_is_a_validation_error(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    caster = await seed_caster(client, platform, tmp_path)
    generic = _GenericHandler(monkeypatch)
    response = await client.post(PATH, headers=_headers(caster, "v"), json={"input": {}, "version": 7})
    assert response.status_code == 422, response.text
    errors = response.json()["error"]["details"]["errors"]
    assert [e["path"] for e in errors] == ["body/version"]
    assert generic.calls == 1


async def test_authentication_is_still_judged_before_the_body(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    await seed_caster(client, platform, tmp_path)
    bad_body = await client.post(
        PATH, headers={"Idempotency-Key": "a", "Prefer": "wait=10"}, json={"input": {}, "version": 7}
    )
    good_body = await client.post(PATH, headers={"Idempotency-Key": "a", "Prefer": "wait=10"}, json={})
    basic = await client.post(
        PATH, headers={"Authorization": "Basic dTpw", "Idempotency-Key": "a"}, json={"input": {}}
    )
    for response in (bad_body, good_body, basic):
        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == "UNAUTHORIZED"


@pytest.mark.parametrize(
    ("headers", "content", "status"),
    [
        ({"Content-Type": "text/plain"}, b'{"input": {}}', 422),  # not read as JSON: not a model
        ({"Content-Type": "application/json"}, b"", 422),  # no body
        ({"Content-Type": "application/json"}, b'{"input": NaN}', 422),  # not strict JSON
        ({"Content-Type": "application/json"}, b'{"input": ', 422),  # not JSON at all
        ({"Content-Type": "application/vnd.api+json"}, b'{"input": {"name": "w"}}', 200),
    ],
)
async def test_other_requests_get_the_generic_handlers_answer(
    client: httpx.AsyncClient,
    platform: Platform,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    headers: dict[str, str],
    content: bytes,
    status: int,
) -> None:
    caster = await seed_caster(client, platform, tmp_path)
    generic = _GenericHandler(monkeypatch)
    response = await client.post(PATH, headers=_headers(caster, "o", **headers), content=content)
    assert response.status_code == status, response.text
    if status == 422:
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
        assert response.json()["error"]["request_id"]
    assert generic.calls <= 1  # strict JSON is refused while the body is read, before any dependency


async def test_a_nul_in_the_url_is_refused_on_the_cast_route(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    caster = await seed_caster(client, platform, tmp_path)
    response = await client.post(f"{PATH}?x=%00", headers=_headers(caster, "n"), json={"input": {}})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"]["errors"][0]["path"] == "url"


async def test_each_request_counts_once_against_the_rate_limit_on_either_path(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    caster = await seed_caster(client, platform, tmp_path)
    usual = await client.post(PATH, headers=_headers(caster, "r1"), json={"input": {"name": "a"}})
    refused_body = await client.post(PATH, headers=_headers(caster, "r2"), json={"input": {}, "version": 7})
    after = await client.post(PATH, headers=_headers(caster, "r3"), json={"input": {"name": "b"}})
    remaining = [int(r.headers["ratelimit-remaining"]) for r in (usual, refused_body, after)]
    assert [usual.status_code, refused_body.status_code, after.status_code] == [200, 422, 200]
    assert remaining[0] - remaining[1] == 1
    assert remaining[1] - remaining[2] == 1
