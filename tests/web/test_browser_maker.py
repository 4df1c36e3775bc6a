"""Maker pages in a real browser: publishing by upload, yanking a version, earnings after casts,
API keys (the secret shown once, revoked), and a cross-tenant yank refused."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

from spell.signing.signature import sign_bundle
from tests.api.money_helpers import FLAT, credit
from tests.client.live_server import LiveServer, maker_of
from tests.fixtures.bundles import archive_of, new_publisher, wasm_bundle
from tests.fixtures.live import database_backend
from tests.fixtures.server import Caller, seed_user
from tests.web.conftest import screenshot
from tests.web.helpers import sign_in
from tests.web.test_browser_money import publish_paid

__all__ = ["database_backend"]  # SQLite only: these tests drive pages, not storage


def _register(live_url: str, maker: Caller) -> None:
    assert maker.publisher is not None
    with httpx.Client(base_url=live_url, headers=maker.headers) as http:
        done = http.post(
            f"/v1/publishers/{maker.publisher.name}/keys",
            json={"key_id": maker.publisher.key_id, "public_key": maker.publisher.public_key},
        )
        assert done.status_code == 201, done.text


def _archive(maker: Caller, folder: Path, version: str) -> bytes:
    assert maker.publisher is not None
    bundle = wasm_bundle(folder / version, "acme/paid", version=version)
    with (bundle / "spell.yaml").open("a", encoding="utf-8") as manifest:
        manifest.write(FLAT)
    sign_bundle(bundle, maker.publisher.private_key, key_id=maker.publisher.key_id)
    return archive_of(bundle)


def _cast(live_url: str, caster: Caller, n: int) -> None:
    with httpx.Client(base_url=live_url, headers=caster.headers, timeout=30) as http:
        done = http.post(
            "/v1/spells/acme/paid/cast",
            headers={"Idempotency-Key": f"browser-{n}", "Prefer": "wait=10"},
            json={"input": {"name": f"n{n}"}},
        )
        assert done.json().get("status") == "succeeded", done.text


def test_a_maker_publishes_by_upload_yanks_a_version_and_sees_earnings(
    live: LiveServer, page: Any, tmp_path: Path
) -> None:
    maker = maker_of(live)
    _register(live.url, maker)
    sign_in(page, live.url, maker.token)
    page.get_by_role("link", name="My spells", exact=True).click()
    page.wait_for_url(f"{live.url}/maker/spells")
    assert "You have not published a spell yet." in page.locator("table").inner_text()
    for version in ("1.0.0", "1.1.0"):
        page.goto(f"{live.url}/maker/spells")
        page.get_by_label("Archive (.tar)").set_input_files(
            {
                "name": f"paid-{version}.tar",
                "mimeType": "application/x-tar",
                "buffer": _archive(maker, tmp_path, version),
            }
        )
        page.get_by_label("Tags").fill("demo")
        page.get_by_role("button", name="Publish").click()
        page.get_by_text(f"Published version {version}").wait_for()
    page.get_by_role("button", name="Yank 1.0.0").click()
    page.wait_for_url(f"{live.url}/maker/spells/acme/paid?yanked=1.0.0")
    assert page.locator('[data-version-state="1.0.0"]').inner_text() == "yanked"
    assert page.locator('[data-version-state="1.1.0"]').inner_text() == "current"
    screenshot(page, "maker-spell")
    with httpx.Client(base_url=live.url, headers=maker.headers) as http:
        versions = http.get("/v1/spells/acme/paid/versions").json()["items"]
        assert {v["version"]: v["is_yanked"] for v in versions} == {"1.0.0": True, "1.1.0": False}

    caster = seed_user(live.platform, "caster@example.com", ["caster"])
    credit(live.platform, caster.user_id, 10_000_000)
    for n in range(4):
        _cast(live.url, caster, n)
    page.get_by_role("link", name="My spells", exact=True).click()
    page.wait_for_url(f"{live.url}/maker/spells")
    screenshot(page, "maker-spells")
    page.get_by_role("link", name="Earnings").click()
    page.wait_for_url(f"{live.url}/maker/earnings")
    with httpx.Client(base_url=live.url, headers=maker.headers) as http:
        (earned,) = http.get("/v1/earnings").json()["spells"]
    shown = f"{earned['amount_micros'] / 1_000_000:.2f} USD"
    assert earned["casts"] == 4
    assert earned["amount_micros"] > 0
    assert page.locator('[data-spell-earned="acme/paid"]').inner_text() == shown
    chart = page.get_by_role("img", name="Earnings per day (USD)")
    assert chart.is_visible()
    assert f"{shown} in total" in page.locator("figcaption").inner_text()
    screenshot(page, "earnings")


def test_yanking_another_tenants_spell_by_posting_its_id_is_refused(
    live: LiveServer, page: Any, tmp_path: Path
) -> None:
    publish_paid(live.url, maker_of(live), tmp_path / "acme")
    intruder = seed_user(live.platform, "intruder@example.com", ["maker"])
    intruder.publisher = new_publisher("globex")
    publish_paid(live.url, intruder, tmp_path / "globex", spell_id="globex/own")
    sign_in(page, live.url, intruder.token)
    page.goto(f"{live.url}/maker/spells/globex/own")
    # The intruder's own yank form, pointed at acme's spell: what a forged post would send.
    page.locator("form[action$='/yank']").first.evaluate(
        "form => form.setAttribute('action', '/maker/spells/acme/paid/yank')"
    )
    page.get_by_role("button", name="Yank 1.0.0").click()
    page.wait_for_url(f"{live.url}/maker/spells/acme/paid/yank")
    assert page.locator(".error-code").inner_text() == "Error TENANT_FORBIDDEN (403)"
    with httpx.Client(base_url=live.url, headers=intruder.headers) as http:
        versions = http.get("/v1/spells/acme/paid/versions").json()["items"]
        assert [v["is_yanked"] for v in versions] == [False]


def test_a_key_created_on_the_keys_page_shows_its_secret_once_and_is_revoked(
    live: LiveServer, page: Any
) -> None:
    caster = seed_user(live.platform, "caster@example.com", ["caster"])
    sign_in(page, live.url, caster.token)
    page.get_by_role("link", name="API keys").click()
    page.wait_for_url(f"{live.url}/keys")
    page.get_by_label("Name").fill("ci")
    page.get_by_label("spell:read").check()
    page.get_by_role("button", name="Create key").click()
    secret = page.get_by_label("Secret").input_value()
    assert secret
    assert "Copy the secret now" in page.locator("[data-new-key]").inner_text()
    screenshot(page, "keys-created")
    with httpx.Client(base_url=live.url) as http:
        me = http.get("/v1/me", headers={"Authorization": f"Bearer {secret}"})
        assert me.status_code == 200
        assert me.json()["scopes"] == ["spell:read"]
    page.goto(f"{live.url}/keys")
    assert page.locator("[data-secret]").count() == 0
    assert secret not in page.content()
    row = page.locator("tr", has_text="ci")
    row.get_by_role("button", name=re.compile("^Revoke ci")).click()
    page.wait_for_url(re.compile(r".*/keys\?revoked=key_\w+$"))
    assert page.locator("tr", has_text="ci").locator("[data-key-state]").inner_text() == "revoked"
    screenshot(page, "keys")
    with httpx.Client(base_url=live.url) as http:
        assert http.get("/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
