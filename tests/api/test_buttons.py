"""Buttons: a fixed spell@version, allowed roles and tenants, confirmation, signature waiver."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from spell.platform.button.service import read_buttons_file
from spell.platform.server import Platform
from tests.fixtures.server import Caller, publish, seed_maker, seed_user

pytestmark = pytest.mark.anyio


async def _button(client: httpx.AsyncClient, maker: Caller, **fields: Any) -> httpx.Response:
    body = {"id": "greet", "spell_id": "acme/hello", "version": "1.0.0", **fields}
    return await client.post("/v1/buttons", headers=maker.headers, json=body)


def _press_headers(caller: Caller, key: str) -> dict[str, str]:
    return {**caller.headers, "Idempotency-Key": key, "Prefer": "wait=10"}


async def test_a_shared_button_casts_its_fixed_private_spell_for_another_tenant(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path)
    await client.patch("/v1/spells/acme/hello", headers=maker.headers, json={"visibility": "private"})
    caster = seed_user(platform, "c@example.com", ["caster"])
    created = await _button(client, maker, allowed_tenants=[caster.tenant_id], allowed_roles=["caster"])
    assert created.status_code == 201, created.text
    listed = (await client.get("/v1/buttons", headers=caster.headers)).json()["items"]
    assert [b["id"] for b in listed] == ["greet"]
    pressed = await client.post(
        "/v1/buttons/greet/cast", headers=_press_headers(caster, "p1"), json={"input": {"name": "b"}}
    )
    assert pressed.status_code == 200, pressed.text
    assert pressed.json()["button_id"] == "greet"
    assert pressed.json()["output"]["input"] == {"name": "b"}


async def test_a_button_refuses_tenants_and_roles_it_does_not_allow(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path)
    await _button(client, maker, allowed_roles=["operator"], allowed_tenants=["*"])
    caster = seed_user(platform, "c@example.com", ["caster"])
    refused = await client.post(
        "/v1/buttons/greet/cast", headers=_press_headers(caster, "p"), json={"input": {"name": "b"}}
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "FORBIDDEN"
    await client.post(
        "/v1/buttons",
        headers=maker.headers,
        json={"id": "mine", "spell_id": "acme/hello", "version": "1.0.0"},
    )
    hidden = await client.post("/v1/buttons/mine/cast", headers=_press_headers(caster, "q"), json={})
    assert hidden.status_code == 404
    assert hidden.json()["error"]["code"] == "BUTTON_NOT_FOUND"


async def test_a_button_that_needs_confirmation_refuses_an_unconfirmed_press(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path)
    await _button(client, maker, require_confirmation=True)
    refused = await client.post(
        "/v1/buttons/greet/cast", headers=_press_headers(maker, "c1"), json={"input": {"name": "b"}}
    )
    assert refused.json()["error"]["code"] == "CONFIRMATION_REQUIRED"
    confirmed = await client.post(
        "/v1/buttons/greet/cast",
        headers=_press_headers(maker, "c2"),
        json={"input": {"name": "b"}, "confirm": True},
    )
    assert confirmed.json()["status"] == "succeeded"


async def test_button_management_errors(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path)
    assert (await _button(client, maker)).status_code == 201
    assert (await _button(client, maker)).json()["error"]["code"] == "ALREADY_EXISTS"
    assert (await _button(client, maker, id="x", version="9.9.9")).json()["error"][
        "code"
    ] == "VERSION_NOT_FOUND"
    assert (await _button(client, maker, id="bad id!")).status_code == 422
    assert (await _button(client, maker, id="r", allowed_roles=["king"])).status_code == 422
    other = seed_user(platform, "o@example.com", ["maker"])
    foreign = await client.post(
        "/v1/buttons",
        headers=other.headers,
        json={"id": "steal", "spell_id": "acme/hello", "version": "1.0.0"},
    )
    assert foreign.json()["error"]["code"] == "TENANT_FORBIDDEN"
    assert (await client.delete("/v1/buttons/greet", headers=other.headers)).status_code == 404
    assert (await client.delete("/v1/buttons/greet", headers=maker.headers)).json()["deleted"] is True
    assert (await client.get("/v1/buttons", headers=maker.headers)).json()["items"] == []


async def test_operator_buttons_load_from_a_file_and_bad_entries_skip_only_themselves(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path)
    path = tmp_path / "buttons.json"
    entries = [
        {"id": "greet", "spell_id": "acme/hello", "version": "1.0.0", "allowed_tenants": ["*"]},
        {"id": "ghost", "spell_id": "acme/nope", "version": "1.0.0"},
        {"id": "old", "spell_id": "acme/hello", "version": "0.0.1"},
    ]
    path.write_text(json.dumps({"buttons": entries}), encoding="utf-8")
    service = platform.buttons
    with platform.db.unit_of_work() as uow:
        report = service.load(uow, read_buttons_file(path))
    assert report["greet"] == "created"
    assert report["ghost"].startswith("SPELL_NOT_FOUND")
    assert report["old"].startswith("VERSION_NOT_FOUND")
    with platform.db.unit_of_work() as uow:
        assert service.load(uow, read_buttons_file(path))["greet"] == "updated"
    caster = seed_user(platform, "c@example.com", ["caster"])
    pressed = await client.post(
        "/v1/buttons/greet/cast", headers=_press_headers(caster, "f"), json={"input": {"name": "file"}}
    )
    assert pressed.json()["status"] == "succeeded"


async def _two_makers_with_hello(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, **fields: Any
) -> tuple[Caller, Caller]:
    first = await seed_maker(client, platform)
    second = await seed_maker(client, platform, "beta@example.com", "beta")
    await publish(client, first, tmp_path)
    await publish(client, second, tmp_path, spell_id="beta/hello")
    for maker, spell_id in ((first, "acme/hello"), (second, "beta/hello")):
        created = await _button(client, maker, id="hello", spell_id=spell_id, **fields)
        assert created.status_code == 201, created.text
    return first, second


async def test_two_tenants_each_have_their_own_button_of_the_same_id(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    first, second = await _two_makers_with_hello(client, platform, tmp_path)
    for maker, spell_id in ((first, "acme/hello"), (second, "beta/hello")):
        listed = (await client.get("/v1/buttons", headers=maker.headers)).json()["items"]
        assert [(b["id"], b["spell_id"]) for b in listed] == [("hello", spell_id)]
        pressed = await client.post(
            "/v1/buttons/hello/cast", headers=_press_headers(maker, spell_id), json={"input": {"name": "x"}}
        )
        assert pressed.status_code == 200, pressed.text
        assert (pressed.json()["spell_id"], pressed.json()["button_id"]) == (spell_id, "hello")
    qualified = f"{first.tenant_id}:hello"
    hidden = await client.post(f"/v1/buttons/{qualified}/cast", headers=_press_headers(second, "q"), json={})
    assert hidden.json()["error"]["code"] == "BUTTON_NOT_FOUND"
    deleted = await client.delete("/v1/buttons/hello", headers=second.headers)
    assert deleted.json()["deleted"] is True
    assert (await client.delete("/v1/buttons/hello", headers=second.headers)).status_code == 404
    assert (await client.delete(f"/v1/buttons/{qualified}", headers=second.headers)).status_code == 404
    left = (await client.get("/v1/buttons", headers=first.headers)).json()["items"]
    assert [(b["id"], b["spell_id"]) for b in left] == [("hello", "acme/hello")]


async def test_a_bare_id_shared_by_several_tenants_is_ambiguous_and_the_owner_qualified_id_is_not(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    first, second = await _two_makers_with_hello(client, platform, tmp_path, allowed_tenants=["*"])
    own = await client.post(
        "/v1/buttons/hello/cast", headers=_press_headers(first, "own"), json={"input": {"name": "x"}}
    )
    assert own.json()["spell_id"] == "acme/hello"  # the caller's own button comes first
    caster = seed_user(platform, "c@example.com", ["caster"])
    listed = (await client.get("/v1/buttons", headers=caster.headers)).json()["items"]
    assert sorted(b["spell_id"] for b in listed) == ["acme/hello", "beta/hello"]
    ambiguous = await client.post(
        "/v1/buttons/hello/cast", headers=_press_headers(caster, "a"), json={"input": {"name": "x"}}
    )
    assert ambiguous.status_code == 409
    assert ambiguous.json()["error"]["code"] == "CONFLICT"
    pressed = await client.post(
        f"/v1/buttons/{second.tenant_id}:hello/cast",
        headers=_press_headers(caster, "b"),
        json={"input": {"name": "x"}},
    )
    assert pressed.status_code == 200, pressed.text
    assert pressed.json()["spell_id"] == "beta/hello"
