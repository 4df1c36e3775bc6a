"""Casting through the console over HTTP: the same scopes, tenancy, validation and idempotency as the
REST API, and every form post checked for its CSRF token and origin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from spell.models import Cast
from spell.platform.server import Platform
from tests.fixtures.bundles import archive_of, wasm_bundle
from tests.fixtures.server import Caller, seed_maker, seed_user
from tests.web.helpers import ORIGIN, csrf_in, seed_samples, sign_in_http

pytestmark = pytest.mark.anyio

HELLO = "/spells/samples/hello-wasm"


async def _form(client: httpx.AsyncClient, path: str = HELLO) -> dict[str, str]:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    fields = {}
    for name in ("csrf_token", "version", "idempotency_key"):
        start = page.text.index(f'name="{name}" value="') + len(f'name="{name}" value="')
        fields[name] = page.text[start : page.text.index('"', start)]
    return fields


async def _cast(client: httpx.AsyncClient, caster: Caller, name: str = "world") -> str:
    await sign_in_http(client, caster.token)
    answer = await client.post(
        f"{HELLO}/cast", data={**await _form(client), "in/name": name}, headers={"Origin": ORIGIN}
    )
    assert answer.status_code == 303, answer.text
    return str(answer.headers["location"]).rsplit("/", 1)[-1]


async def _casts_of(client: httpx.AsyncClient, caster: Caller) -> list[str]:
    listed = await client.get("/v1/casts", headers=caster.headers)
    return [item["id"] for item in listed.json()["items"]]


async def test_a_posted_form_casts_once_however_often_it_is_sent(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    seed_samples(platform)
    caster = seed_user(platform, "c@example.com", ["caster"])
    await sign_in_http(client, caster.token)
    form = {**await _form(client), "in/name": "console"}
    first = await client.post(f"{HELLO}/cast", data=form, headers={"Origin": ORIGIN})
    again = await client.post(f"{HELLO}/cast", data=form, headers={"Origin": ORIGIN})
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    cast_id = first.headers["location"].rsplit("/", 1)[-1]
    done = await client.get(f"/v1/casts/{cast_id}?wait=10", headers=caster.headers)
    assert done.json()["output"] == {"greeting": "hello", "input": {"name": "console"}}
    page = await client.get(f"/casts/{cast_id}")
    assert "succeeded" in page.text
    assert "&#34;greeting&#34;: &#34;hello&#34;" in page.text
    assert await _casts_of(client, caster) == [cast_id]


@pytest.mark.parametrize(
    ("token", "origin"),
    [("stale", ORIGIN), (None, ORIGIN), ("valid", "https://evil.example"), ("valid", None)],
    ids=["stale token", "no token", "other origin", "no origin"],
)
async def test_a_cast_post_without_the_sessions_token_or_from_elsewhere_is_refused(
    client: httpx.AsyncClient, platform: Platform, token: str | None, origin: str | None
) -> None:
    seed_samples(platform)
    caster = seed_user(platform, "c@example.com", ["caster"])
    await sign_in_http(client, caster.token)
    form = {**await _form(client), "in/name": "x"}
    if token != "valid":
        form.pop("csrf_token")
        if token is not None:
            form["csrf_token"] = token
    answer = await client.post(f"{HELLO}/cast", data=form, headers={"Origin": origin} if origin else {})
    assert (answer.status_code, answer.headers["x-spell-error"]) == (403, "CSRF_REFUSED")
    assert await _casts_of(client, caster) == []


async def test_the_csrf_header_htmx_sends_is_accepted_in_place_of_the_field(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    seed_samples(platform)
    caster = seed_user(platform, "c@example.com", ["caster"])
    token = await sign_in_http(client, caster.token)
    form = await _form(client)
    form.pop("csrf_token")
    answer = await client.post(
        f"{HELLO}/cast", data={**form, "in/name": "x"}, headers={"Origin": ORIGIN, "X-CSRF-Token": token}
    )
    assert answer.status_code == 303


async def test_an_input_the_schema_refuses_comes_back_with_the_problem_at_its_field(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    seed_samples(platform)
    caster = seed_user(platform, "c@example.com", ["caster"])
    await sign_in_http(client, caster.token)
    answer = await client.post(
        f"{HELLO}/cast", data={**await _form(client), "in/name": "x" * 201}, headers={"Origin": ORIGIN}
    )
    assert (answer.status_code, answer.headers["x-spell-error"]) == (422, "VALIDATION_ERROR")
    assert 'id="f-in-name-error"' in answer.text
    assert "longer than 200 characters" in answer.text
    assert await _casts_of(client, caster) == []


async def test_another_tenants_cast_is_not_found_anywhere_in_the_console(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    seed_samples(platform)
    owner = seed_user(platform, "owner@example.com", ["caster"])
    cast_id = await _cast(client, owner)
    stranger = seed_user(platform, "stranger@example.com", ["caster"])
    client.cookies.clear()
    token = await sign_in_http(client, stranger.token)
    for path in (f"/casts/{cast_id}", f"/casts/{cast_id}/events"):
        answer = await client.get(path)
        assert (answer.status_code, answer.headers["x-spell-error"]) == (404, "CAST_NOT_FOUND"), path
    cancel = await client.post(
        f"/casts/{cast_id}/cancel", data={"csrf_token": token}, headers={"Origin": ORIGIN}
    )
    assert (cancel.status_code, cancel.headers["x-spell-error"]) == (404, "CAST_NOT_FOUND")
    history = await client.get("/casts")
    assert cast_id not in history.text


async def test_another_tenants_private_spell_is_not_found(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    assert maker.publisher is not None
    bundle = wasm_bundle(tmp_path / "secret", "acme/secret", signer=maker.publisher)
    published = await client.post(
        "/v1/spells?visibility=private", headers=maker.headers, content=archive_of(bundle)
    )
    assert published.status_code == 201, published.text
    await sign_in_http(client, maker.token)
    assert (await client.get("/spells/acme/secret")).status_code == 200
    client.cookies.clear()
    stranger = seed_user(platform, "stranger@example.com", ["caster"])
    token = await sign_in_http(client, stranger.token)
    page = await client.get("/spells/acme/secret")
    assert (page.status_code, page.headers["x-spell-error"]) == (404, "SPELL_NOT_FOUND")
    cast = await client.post(
        "/spells/acme/secret/cast", data={"csrf_token": token, "in": "{}"}, headers={"Origin": ORIGIN}
    )
    assert (cast.status_code, cast.headers["x-spell-error"]) == (404, "SPELL_NOT_FOUND")
    assert "acme/secret" not in (await client.get("/spells")).text


async def test_a_key_without_the_cast_scope_reads_but_cannot_cast(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    seed_samples(platform)
    reader = seed_user(platform, "r@example.com", ["caster"], scopes=["spell:read"])
    await sign_in_http(client, reader.token)
    form = {**await _form(client), "in/name": "x"}
    answer = await client.post(f"{HELLO}/cast", data=form, headers={"Origin": ORIGIN})
    assert (answer.status_code, answer.headers["x-spell-error"]) == (403, "FORBIDDEN")
    with platform.db.unit_of_work(write=False) as uow:
        mine = select(func.count()).select_from(Cast).where(Cast.user_id == reader.user_id)
        made = uow.session.scalar(mine)
    assert made == 0
    assert 'href="/casts"' not in answer.text  # the navigation hides what the session may not use


async def test_a_key_without_the_read_scope_sees_no_catalog(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    writer = seed_user(platform, "w@example.com", ["caster"], scopes=["cast:invoke"])
    form = await client.get("/sign-in")
    await client.post(
        "/sign-in",
        data={"api_key": writer.token, "csrf_token": csrf_in(form.text)},
        headers={"Origin": ORIGIN},
    )
    answer = await client.get("/spells")
    assert (answer.status_code, answer.headers["x-spell-error"]) == (403, "FORBIDDEN")


async def test_the_history_filters_by_status_spell_and_day(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    seed_samples(platform)
    caster = seed_user(platform, "c@example.com", ["caster"])
    cast_id = await _cast(client, caster)
    await client.get(f"/v1/casts/{cast_id}?wait=10", headers=caster.headers)
    today = datetime.now(UTC).date()
    tomorrow = today + timedelta(days=1)
    shown = {
        "": True,
        "?status=succeeded": True,
        "?status=failed": False,
        "?spell=samples/hello-wasm": True,
        "?spell=samples/other": False,
        f"?since={today}&until={today}": True,
        f"?since={tomorrow}": False,
        f"?until={today - timedelta(days=1)}": False,
    }
    for query, expected in shown.items():
        page = await client.get(f"/casts{query}")
        assert page.status_code == 200, query
        assert (cast_id in page.text) is expected, query
    bad = await client.get("/casts?since=yesterday")
    assert (bad.status_code, bad.headers["x-spell-error"]) == (422, "VALIDATION_ERROR")
    unknown = await client.get("/casts?status=lost")
    assert (unknown.status_code, unknown.headers["x-spell-error"]) == (422, "VALIDATION_ERROR")
