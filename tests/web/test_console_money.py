"""The budget and wallet pages over HTTP, on both databases: the same service calls and scope as the
REST routes, the explained 402 of a refused cast, top-up through the (fake) card processor, and every
form refused without its CSRF token."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from spell.platform.billing.stripe_provider import StripeProvider
from spell.platform.server import Platform
from tests.api.money_helpers import FLAT, credit, publish_priced
from tests.fakes.stripe_server import FakeStripe
from tests.fixtures.server import Caller, seed_maker, seed_user
from tests.web.helpers import ORIGIN, csrf_in, sign_in_http

pytestmark = pytest.mark.anyio

PAID = "/spells/acme/paid"


async def _post(client: httpx.AsyncClient, path: str, data: dict[str, str]) -> httpx.Response:
    return await client.post(path, data=data, headers={"Origin": ORIGIN})


async def _caster(client: httpx.AsyncClient, platform: Platform, **options: list[str]) -> tuple[Caller, str]:
    caster = seed_user(platform, "c@example.com", ["caster"], **options)
    return caster, await sign_in_http(client, caster.token)


async def _cast_paid(client: httpx.AsyncClient) -> httpx.Response:
    page = await client.get(PAID)
    fields = {}
    for name in ("csrf_token", "version", "idempotency_key"):
        start = page.text.index(f'name="{name}" value="') + len(f'name="{name}" value="')
        fields[name] = page.text[start : page.text.index('"', start)]
    return await _post(client, f"{PAID}/cast", {**fields, "in/name": "x"})


async def test_caps_saved_on_the_page_are_the_apis_caps(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    caster, csrf = await _caster(client, platform)
    page = await client.get("/budget")
    assert page.status_code == 200
    assert "no cap" in page.text
    saved = await _post(
        client, "/budget", {"csrf_token": csrf, "per_cast": "0.10", "daily": "5", "monthly": "", "total": " "}
    )
    assert (saved.status_code, saved.headers["location"]) == (303, "/budget?saved=1")
    api = (await client.get("/v1/budget", headers=caster.headers)).json()["caps"]
    assert api == {
        "currency": "USD",
        "per_cast_micros": 100_000,
        "daily_micros": 5_000_000,
        "monthly_micros": None,
        "total_micros": None,
    }
    again = await client.get("/budget?saved=1")
    assert 'value="0.10"' in again.text
    assert 'value="5.00"' in again.text
    assert "Your caps are saved." in again.text


@pytest.mark.parametrize(
    ("typed", "problem"),
    [("ten", "not an amount in USD"), ("-1", "cannot be negative"), ("0.0000001", "not an amount")],
    ids=["words", "negative", "finer than a micro-unit"],
)
async def test_a_cap_that_is_not_an_amount_is_shown_next_to_its_field(
    client: httpx.AsyncClient, platform: Platform, typed: str, problem: str
) -> None:
    caster, csrf = await _caster(client, platform)
    answer = await _post(client, "/budget", {"csrf_token": csrf, "daily": typed})
    assert (answer.status_code, answer.headers["x-spell-error"]) == (422, "VALIDATION_ERROR")
    assert problem in answer.text
    assert 'id="cap-daily" name="daily"' in answer.text
    assert 'aria-invalid="true"' in answer.text
    assert (await client.get("/v1/budget", headers=caster.headers)).json()["caps"]["daily_micros"] is None


async def test_a_key_without_cast_invoke_sees_neither_budget_nor_wallet(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    _, csrf = await _caster(client, platform, scopes=["spell:read"])
    for path in ("/budget", "/wallet"):
        page = await client.get(path)
        assert (page.status_code, page.headers["x-spell-error"]) == (403, "FORBIDDEN"), path
    for path, form in (("/budget", {"daily": "1"}), ("/wallet/top-up", {"amount": "5"})):
        refused = await _post(client, path, {"csrf_token": csrf, **form})
        assert (refused.status_code, refused.headers["x-spell-error"]) == (403, "FORBIDDEN"), path
    nav = (await client.get("/spells")).text
    assert 'href="/budget"' not in nav
    assert 'href="/wallet"' not in nav


@pytest.mark.parametrize("path", ["/budget", "/wallet/top-up"])
async def test_money_forms_without_the_csrf_token_are_refused(
    client: httpx.AsyncClient, platform: Platform, path: str
) -> None:
    caster, _ = await _caster(client, platform)
    refused = await _post(client, path, {"daily": "1", "amount": "5"})
    assert (refused.status_code, refused.headers["x-spell-error"]) == (403, "CSRF_REFUSED")
    assert (await client.get("/v1/budget", headers=caster.headers)).json()["caps"]["daily_micros"] is None


async def test_a_cast_over_a_cap_is_a_402_that_names_the_cap_and_links_to_the_caps(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish_priced(client, maker, tmp_path, FLAT)
    caster, csrf = await _caster(client, platform)
    credit(platform, caster.user_id, 10_000_000)
    await _post(client, "/budget", {"csrf_token": csrf, "daily": "0.30"})
    first = await _cast_paid(client)
    assert first.status_code == 303, first.text
    done = await client.get(
        f"/v1/casts/{first.headers['location'].rsplit('/', 1)[-1]}?wait=10", headers=caster.headers
    )
    assert done.json()["status"] == "succeeded"
    refused = await _cast_paid(client)
    assert (refused.status_code, refused.headers["x-spell-error"]) == (402, "BUDGET_CAP_EXCEEDED")
    text = refused.text
    assert "Your daily budget cap stops this cast." in text
    assert "<dt>Cap (daily)</dt><dd>0.30 USD</dd>" in text
    assert "<dt>Spent</dt><dd>0.25 USD</dd>" in text
    assert "<dt>Reserved by running casts</dt><dd>0.00 USD</dd>" in text
    assert "<dt>This cast would hold</dt><dd>0.25 USD</dd>" in text
    assert '<a href="/budget">Review your budget caps</a>' in text


async def test_a_cast_the_wallet_does_not_cover_explains_the_balance_and_links_to_top_up(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish_priced(client, maker, tmp_path, FLAT)
    caster, _ = await _caster(client, platform)
    credit(platform, caster.user_id, 100_000)
    refused = await _cast_paid(client)
    assert (refused.status_code, refused.headers["x-spell-error"]) == (402, "INSUFFICIENT_CREDITS")
    assert "Your wallet does not cover this cast." in refused.text
    assert "<dt>Balance</dt><dd>0.10 USD</dd>" in refused.text
    assert '<a href="/wallet">Top up your wallet</a>' in refused.text


async def test_the_wallet_charts_what_was_spent_per_day_with_a_table_beside(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    await publish_priced(client, maker, tmp_path, FLAT)
    caster, _ = await _caster(client, platform)
    credit(platform, caster.user_id, 10_000_000)
    empty = await client.get("/wallet")
    assert "0.00 USD in total" in empty.text
    assert "<rect" not in empty.text
    for _ in range(2):
        cast = await _cast_paid(client)
        cast_id = cast.headers["location"].rsplit("/", 1)[-1]
        await client.get(f"/v1/casts/{cast_id}?wait=10", headers=caster.headers)
    page = await client.get("/wallet")
    assert page.status_code == 200
    assert 'role="img"' in page.text
    assert '<title id="spend-chart-title">Spend per day (USD)</title>' in page.text
    assert "0.50 USD in total" in page.text
    assert page.text.count("<rect") == 1  # both casts on today's bar
    assert '<td><a href="/spells/acme/paid">acme/paid</a></td><td>2</td><td>0.50 USD</td>' in page.text
    assert "<dd data-balance>9.50 USD</dd>" in page.text
    assert page.text.count("capture") >= 2  # the latest postings


async def test_a_top_up_goes_to_the_hosted_checkout_and_bad_amounts_stay_on_the_page(
    client: httpx.AsyncClient, platform: Platform, fake_stripe: FakeStripe
) -> None:
    caster, csrf = await _caster(client, platform)
    unavailable = await _post(client, "/wallet/top-up", {"csrf_token": csrf, "amount": "20"})
    assert (unavailable.status_code, unavailable.headers["x-spell-error"]) == (503, "PAYMENTS_UNAVAILABLE")
    platform.payments.provider = StripeProvider("sk_test_console", "whsec_console", api_base=fake_stripe.url)
    for typed in ("", "zero", "-5", "0"):
        bad = await _post(client, "/wallet/top-up", {"csrf_token": csrf, "amount": typed})
        assert (bad.status_code, bad.headers["x-spell-error"]) == (422, "VALIDATION_ERROR"), typed
        assert "write a positive amount in USD" in bad.text
    fraction = await _post(client, "/wallet/top-up", {"csrf_token": csrf, "amount": "20.001"})
    assert (fraction.status_code, fraction.headers["x-spell-error"]) == (422, "VALIDATION_ERROR")
    assert fake_stripe.calls("/v1/checkout/sessions") == []
    started = await _post(client, "/wallet/top-up", {"csrf_token": csrf, "amount": "20"})
    assert started.status_code == 200
    hosted = re.search(r'<meta http-equiv="refresh" content="0; url=(https://[^"]+)">', started.text)
    assert hosted is not None
    assert hosted.group(1).startswith("https://checkout.stripe.test/c/pay/cs_test_")
    assert f'href="{hosted.group(1)}"' in started.text
    assert "to pay 20.00 USD" in started.text
    (session,) = fake_stripe.calls("/v1/checkout/sessions")
    assert session.params["mode"] == "payment"
    assert session.params["line_items"]["0"]["price_data"]["unit_amount"] == "2000"
    assert session.params["metadata"]["user_id"] == caster.user_id
    assert session.params["success_url"] == "http://spell.test/wallet?paid=1"
    back = await client.get("/wallet?paid=1")
    assert "credited as soon as the card processor confirms" in back.text
    assert csrf_in(back.text) == csrf
