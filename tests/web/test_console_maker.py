"""The maker pages over HTTP, on both databases: my spells, publishing an uploaded archive, yank and
visibility with the REST routes' tenancy (another tenant's spell id in a posted form is refused),
earnings after paid casts, and API keys (the secret shown once, revoke, rotate)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from spell.platform.server import Platform
from spell.signing.signature import sign_bundle
from tests.api.money_helpers import FLAT, credit, publish_priced
from tests.fixtures.bundles import archive_of, wasm_bundle
from tests.fixtures.server import Caller, seed_maker, seed_user
from tests.web.helpers import ORIGIN, sign_in_http

pytestmark = pytest.mark.anyio


async def _post(
    client: httpx.AsyncClient,
    path: str,
    data: dict[str, str],
    files: dict[str, tuple[str, bytes, str]] | None = None,
) -> httpx.Response:
    return await client.post(path, data=data, files=files, headers={"Origin": ORIGIN})


def _archive(maker: Caller, folder: Path, version: str = "1.0.0", spell_id: str = "acme/tool") -> bytes:
    assert maker.publisher is not None
    bundle = wasm_bundle(folder / version, spell_id, version=version)
    sign_bundle(bundle, maker.publisher.private_key, key_id=maker.publisher.key_id)
    return archive_of(bundle)


async def _version_state(client: httpx.AsyncClient, caller: Caller, spell_id: str) -> dict[str, bool]:
    listed = await client.get(f"/v1/spells/{spell_id}/versions", headers=caller.headers)
    return {v["version"]: v["is_yanked"] for v in listed.json()["items"]}


async def test_a_maker_publishes_an_uploaded_archive_and_sees_it_among_its_spells(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    other = await seed_maker(client, platform, "other@example.com", "globex")
    assert other.publisher is not None
    hidden = wasm_bundle(tmp_path / "other", "globex/secret")
    sign_bundle(hidden, other.publisher.private_key, key_id=other.publisher.key_id)
    published = await client.post(
        "/v1/spells?visibility=private", headers=other.headers, content=archive_of(hidden)
    )
    assert published.status_code == 201
    csrf = await sign_in_http(client, maker.token)
    answer = await _post(
        client,
        "/maker/spells",
        {"csrf_token": csrf, "visibility": "private", "tags": "text, demo"},
        files={"archive": ("tool.tar", _archive(maker, tmp_path), "application/x-tar")},
    )
    assert answer.status_code == 201, answer.text
    assert "Published version <strong>1.0.0</strong>" in answer.text
    api = (await client.get("/v1/spells/acme/tool", headers=maker.headers)).json()
    assert (api["visibility"], api["tags"]) == ("private", ["text", "demo"])
    mine = await client.get("/maker/spells")
    assert 'href="/maker/spells/acme/tool"' in mine.text
    assert "globex/secret" not in mine.text


@pytest.mark.parametrize(
    ("files", "code", "words"),
    [
        (None, "VALIDATION_ERROR", "choose the archive to publish"),
        (
            {"archive": ("empty.tar", b"", "application/x-tar")},
            "VALIDATION_ERROR",
            "the chosen file is empty",
        ),
        ({"archive": ("junk.tar", b"not a tar at all" * 40, "application/x-tar")}, None, None),
    ],
    ids=["no file", "empty file", "not an archive"],
)
async def test_a_refused_publish_stays_on_the_page_with_its_code(
    client: httpx.AsyncClient,
    platform: Platform,
    files: dict[str, tuple[str, bytes, str]] | None,
    code: str | None,
    words: str | None,
) -> None:
    maker = await seed_maker(client, platform)
    csrf = await sign_in_http(client, maker.token)
    junk = await client.post("/v1/spells", headers=maker.headers, content=b"not a tar at all" * 40)
    answer = await _post(client, "/maker/spells", {"csrf_token": csrf}, files=files)
    expected = code or junk.json()["error"]["code"]
    assert (answer.status_code, answer.headers["x-spell-error"]) == (
        422 if code else junk.status_code,
        expected,
    )
    assert words is None or words in answer.text
    assert 'role="alert"' in answer.text


async def test_a_caster_can_neither_publish_nor_open_the_maker_pages(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    caster = seed_user(platform, "c@example.com", ["caster"])
    csrf = await sign_in_http(client, caster.token)
    for path in ("/maker/spells", "/maker/earnings", "/maker/spells/acme/tool"):
        page = await client.get(path)
        assert (page.status_code, page.headers["x-spell-error"]) == (403, "FORBIDDEN"), path
    refused = await _post(
        client,
        "/maker/spells",
        {"csrf_token": csrf},
        files={"archive": ("tool.tar", _archive(maker, tmp_path), "application/x-tar")},
    )
    assert (refused.status_code, refused.headers["x-spell-error"]) == (403, "FORBIDDEN")
    assert (await client.get("/v1/spells/acme/tool", headers=maker.headers)).status_code == 404


async def test_yank_restore_and_visibility_from_the_spells_page(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    for version in ("1.0.0", "1.1.0"):
        done = await client.post(
            "/v1/spells", headers=maker.headers, content=_archive(maker, tmp_path, version)
        )
        assert done.status_code == 201, done.text
    csrf = await sign_in_http(client, maker.token)
    yanked = await _post(client, "/maker/spells/acme/tool/yank", {"csrf_token": csrf, "version": "1.1.0"})
    assert (yanked.status_code, yanked.headers["location"]) == (303, "/maker/spells/acme/tool?yanked=1.1.0")
    assert await _version_state(client, maker, "acme/tool") == {"1.0.0": False, "1.1.0": True}
    page = await client.get(yanked.headers["location"])
    assert "Version 1.1.0 is yanked" in page.text
    assert '<td data-version-state="1.1.0">yanked</td>' in page.text
    restored = await _post(
        client, "/maker/spells/acme/tool/yank", {"csrf_token": csrf, "version": "1.1.0", "undo": "1"}
    )
    assert restored.status_code == 303
    assert await _version_state(client, maker, "acme/tool") == {"1.0.0": False, "1.1.0": False}
    hidden = await _post(
        client, "/maker/spells/acme/tool/visibility", {"csrf_token": csrf, "visibility": "private"}
    )
    assert hidden.status_code == 303
    assert (await client.get("/v1/spells/acme/tool", headers=maker.headers)).json()["visibility"] == "private"


@pytest.mark.parametrize(
    ("path", "form", "status", "code"),
    [
        ("/maker/spells/acme/tool/yank", {}, 422, "VALIDATION_ERROR"),
        ("/maker/spells/acme/tool/yank", {"version": "9.9.9"}, 404, "VERSION_NOT_FOUND"),
        ("/maker/spells/acme/tool/visibility", {"visibility": "everyone"}, 422, "VALIDATION_ERROR"),
        ("/maker/spells/acme/nothing/yank", {"version": "1.0.0"}, 404, "SPELL_NOT_FOUND"),
    ],
    ids=["no version", "unknown version", "unknown visibility", "unknown spell"],
)
async def test_refused_maker_forms_show_the_error_page(
    client: httpx.AsyncClient,
    platform: Platform,
    tmp_path: Path,
    path: str,
    form: dict[str, str],
    status: int,
    code: str,
) -> None:
    maker = await seed_maker(client, platform)
    await client.post("/v1/spells", headers=maker.headers, content=_archive(maker, tmp_path))
    csrf = await sign_in_http(client, maker.token)
    answer = await _post(client, path, {"csrf_token": csrf, **form})
    assert (answer.status_code, answer.headers["x-spell-error"]) == (status, code)
    assert (await client.get("/v1/spells/acme/tool", headers=maker.headers)).json()["visibility"] == "public"


@pytest.mark.parametrize("visibility", ["public", "private"])
async def test_another_tenants_spell_cannot_be_yanked_or_hidden_by_posting_its_id(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, visibility: str
) -> None:
    owner = await seed_maker(client, platform)
    done = await client.post(
        f"/v1/spells?visibility={visibility}", headers=owner.headers, content=_archive(owner, tmp_path)
    )
    assert done.status_code == 201
    intruder = seed_user(platform, "intruder@example.com", ["maker"])
    csrf = await sign_in_http(client, intruder.token)
    # As the REST routes answer: someone else's public spell is forbidden, a private one does not exist.
    expected = (403, "TENANT_FORBIDDEN") if visibility == "public" else (404, "SPELL_NOT_FOUND")
    rest = await client.post("/v1/spells/acme/tool/versions/1.0.0/yank", headers=intruder.headers)
    for path, form in (
        ("/maker/spells/acme/tool/yank", {"version": "1.0.0"}),
        ("/maker/spells/acme/tool/visibility", {"visibility": "unlisted"}),
    ):
        answer = await _post(client, path, {"csrf_token": csrf, **form})
        assert (answer.status_code, answer.headers["x-spell-error"]) == (
            rest.status_code,
            rest.json()["error"]["code"],
        )
    page = await client.get("/maker/spells/acme/tool")
    assert page.status_code == rest.status_code
    assert (rest.status_code, rest.json()["error"]["code"]) == expected
    assert await _version_state(client, owner, "acme/tool") == {"1.0.0": False}
    assert (await client.get("/v1/spells/acme/tool", headers=owner.headers)).json()[
        "visibility"
    ] == visibility


@pytest.mark.parametrize(
    "path",
    [
        "/maker/spells",
        "/maker/spells/acme/tool/yank",
        "/maker/spells/acme/tool/visibility",
        "/keys",
        "/keys/key_x/revoke",
        "/keys/key_x/rotate",
    ],
)
async def test_maker_and_key_forms_without_the_csrf_token_are_refused(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, path: str
) -> None:
    maker = await seed_maker(client, platform)
    await client.post("/v1/spells", headers=maker.headers, content=_archive(maker, tmp_path))
    await sign_in_http(client, maker.token)
    refused = await _post(client, path, {"version": "1.0.0", "visibility": "private", "name": "x"})
    assert (refused.status_code, refused.headers["x-spell-error"]) == (403, "CSRF_REFUSED")
    assert await _version_state(client, maker, "acme/tool") == {"1.0.0": False}


async def test_earnings_show_the_makers_share_after_paid_casts(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish_priced(client, maker, tmp_path, FLAT)
    caster = seed_user(platform, "c@example.com", ["caster"])
    credit(platform, caster.user_id, 10_000_000)
    for n in range(3):
        cast = await client.post(
            "/v1/spells/acme/paid/cast",
            headers={**caster.headers, "Idempotency-Key": f"earn-{n}", "Prefer": "wait=10"},
            json={"input": {"name": str(n)}},
        )
        assert cast.json().get("status") == "succeeded", cast.text
    api = (await client.get("/v1/earnings", headers=maker.headers)).json()
    (per_spell,) = api["spells"]
    await sign_in_http(client, maker.token)
    page = await client.get("/maker/earnings")
    assert page.status_code == 200
    money = f"{per_spell['amount_micros'] / 1_000_000:.2f} USD"
    assert per_spell["amount_micros"] > 0
    assert per_spell["casts"] == 3
    assert f'<td data-spell-earned="acme/paid">{money}</td>' in page.text
    assert f"{money} in total" in page.text  # the chart's description
    assert page.text.count("<rect") == 1
    assert '<title id="earnings-chart-1-title">Earnings per day (USD)</title>' in page.text


async def test_a_key_made_on_the_page_shows_its_secret_once_and_then_revokes_and_rotates(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    caster = seed_user(platform, "c@example.com", ["caster"])
    csrf = await sign_in_http(client, caster.token)
    made = await _post(client, "/keys", {"csrf_token": csrf, "name": "ci", "scopes": "spell:read"})
    assert made.status_code == 201, made.text
    found = re.search(r'<input id="new-secret" type="text" readonly value="([^"]+)"', made.text)
    assert found is not None
    token = found.group(1)
    me = await client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["scopes"] == ["spell:read"]
    listing = await client.get("/keys")
    assert token not in listing.text
    assert "data-secret" not in listing.text
    key_id = me.json()["key_id"]
    rotated = await _post(client, f"/keys/{key_id}/rotate", {"csrf_token": csrf})
    assert rotated.status_code == 201
    assert f"Key {key_id} is rotated" in rotated.text
    revoked = await _post(client, f"/keys/{key_id}/revoke", {"csrf_token": csrf})
    assert (revoked.status_code, revoked.headers["location"]) == (303, f"/keys?revoked={key_id}")
    gone = await client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert gone.status_code == 401


@pytest.mark.parametrize(
    ("form", "status", "code"),
    [
        ({"name": ""}, 422, "VALIDATION_ERROR"),
        ({"name": "x" * 201}, 422, "VALIDATION_ERROR"),
        ({"name": "wide", "scopes": "spell:publish"}, 403, "SCOPE_NOT_ALLOWED"),
    ],
    ids=["no name", "long name", "scope beyond the session's"],
)
async def test_a_refused_key_is_explained_on_the_keys_page(
    client: httpx.AsyncClient, platform: Platform, form: dict[str, str], status: int, code: str
) -> None:
    caster = seed_user(platform, "c@example.com", ["caster"])
    csrf = await sign_in_http(client, caster.token)
    answer = await _post(client, "/keys", {"csrf_token": csrf, **form})
    assert (answer.status_code, answer.headers["x-spell-error"]) == (status, code)
    assert "data-secret" not in answer.text
    listed = await client.get("/v1/keys", headers=caster.headers)
    assert len(listed.json()["items"]) == 1


async def test_another_users_key_cannot_be_revoked_or_rotated(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    victim = seed_user(platform, "v@example.com", ["caster"])
    victim_key = (await client.get("/v1/me", headers=victim.headers)).json()["key_id"]
    intruder = seed_user(platform, "i@example.com", ["caster"])
    csrf = await sign_in_http(client, intruder.token)
    for action in ("revoke", "rotate"):
        rest = await client.post(f"/v1/keys/{victim_key}/rotate", headers=intruder.headers)
        answer = await _post(client, f"/keys/{victim_key}/{action}", {"csrf_token": csrf})
        assert (answer.status_code, answer.headers["x-spell-error"]) == (
            rest.status_code,
            rest.json()["error"]["code"],
        )
        assert answer.status_code in (403, 404)
    assert (await client.get("/v1/me", headers=victim.headers)).status_code == 200


async def test_a_key_without_keys_manage_sees_no_keys_page(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    narrow = seed_user(platform, "n@example.com", ["caster"], scopes=["spell:read"])
    csrf = await sign_in_http(client, narrow.token)
    page = await client.get("/keys")
    assert (page.status_code, page.headers["x-spell-error"]) == (403, "FORBIDDEN")
    made = await _post(client, "/keys", {"csrf_token": csrf, "name": "more"})
    assert (made.status_code, made.headers["x-spell-error"]) == (403, "FORBIDDEN")
    assert 'href="/keys"' not in (await client.get("/spells")).text
