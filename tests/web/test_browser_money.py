"""Money pages in a real browser: a cap set on the caps page refusing a cast with the explained 402,
and a top-up through the (fake) hosted Stripe Checkout crediting the wallet."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx

from spell.platform.billing.stripe_provider import StripeProvider
from spell.signing.signature import sign_bundle
from tests.api.money_helpers import FLAT, credit
from tests.client.live_server import LiveServer, maker_of
from tests.fakes.stripe_server import FakeStripe, event, sign_payload
from tests.fixtures.bundles import archive_of, wasm_bundle
from tests.fixtures.live import database_backend
from tests.fixtures.server import Caller, seed_user
from tests.web.conftest import screenshot
from tests.web.helpers import sign_in

__all__ = ["database_backend", "publish_paid"]  # SQLite only: these tests drive pages, not storage

WEBHOOK_SECRET = "whsec_console_browser"
CHECKOUT = "https://checkout.stripe.test"


def publish_paid(
    live_url: str, maker: Caller, folder: Path, spell_id: str = "acme/paid", version: str = "1.0.0"
) -> bytes:
    """Register the maker's key (once) and publish a hello spell at a flat 0.25 USD; its archive."""
    assert maker.publisher is not None
    bundle = wasm_bundle(folder / version, spell_id, version=version)
    with (bundle / "spell.yaml").open("a", encoding="utf-8") as manifest:
        manifest.write(FLAT)
    sign_bundle(bundle, maker.publisher.private_key, key_id=maker.publisher.key_id)
    archive = archive_of(bundle)
    with httpx.Client(base_url=live_url, headers=maker.headers, timeout=30) as http:
        http.post(
            f"/v1/publishers/{maker.publisher.name}/keys",
            json={"key_id": maker.publisher.key_id, "public_key": maker.publisher.public_key},
        )
        published = http.post("/v1/spells", content=archive)
        assert published.status_code == 201, published.text
    return archive


def test_a_cap_set_on_the_caps_page_refuses_a_cast_with_the_reason(
    live: LiveServer, page: Any, tmp_path: Path
) -> None:
    publish_paid(live.url, maker_of(live), tmp_path)
    caster = seed_user(live.platform, "caster@example.com", ["caster"])
    credit(live.platform, caster.user_id, 10_000_000)
    sign_in(page, live.url, caster.token)
    page.get_by_role("link", name="Budget").click()
    page.wait_for_url(f"{live.url}/budget")
    page.get_by_label("Per cast (USD)").fill("0.10")
    page.get_by_label("Per UTC day (USD)").fill("5")
    page.get_by_role("button", name="Save caps").click()
    page.wait_for_url(f"{live.url}/budget?saved=1")
    assert page.get_by_role("status").inner_text() == "Your caps are saved."
    assert page.get_by_label("Per cast (USD)").input_value() == "0.10"
    screenshot(page, "budget")

    page.goto(f"{live.url}/spells/acme/paid")
    page.get_by_label("name").fill("capped")
    page.get_by_role("button", name="Cast paid").click()
    refusal = page.locator("[data-refusal=budget]")
    refusal.wait_for()
    text = refusal.inner_text()
    assert "Your per-cast budget cap stops this cast." in text
    assert "0.10 USD" in text
    assert "0.25 USD" in text
    assert "BUDGET_CAP_EXCEEDED" in page.get_by_role("alert").first.inner_text()
    screenshot(page, "cast-refused-budget")
    page.get_by_role("link", name="Review your budget caps").click()
    page.wait_for_url(f"{live.url}/budget")
    with httpx.Client(base_url=live.url, headers=caster.headers) as http:
        assert http.get("/v1/casts").json()["items"] == []  # nothing was cast, nothing held


def _hosted_checkout(live: LiveServer, fake: FakeStripe) -> Any:
    """What Stripe's hosted page does: show the amount, take the payment (sending the signed
    ``checkout.session.completed`` webhook) and link back to the ``success_url``."""

    def handle(route: Any) -> None:
        request = route.request
        session_id = request.url.split("/c/pay/", 1)[1].split("/", 1)[0]
        (asked,) = [r.params for r in fake.calls("/v1/checkout/sessions")]
        amount = int(asked["line_items"]["0"]["price_data"]["unit_amount"])
        if request.method == "GET":
            body = (
                f"<!doctype html><title>Checkout</title><h1>Pay {amount / 100:.2f} USD</h1>"
                f'<form method="post" action="{request.url}/pay"><button>Pay</button></form>'
            )
            route.fulfill(status=200, content_type="text/html", body=body)
            return
        paid = {
            "id": session_id,
            "object": "checkout.session",
            "mode": "payment",
            "payment_status": "paid",
            "payment_intent": f"pi_{session_id}",
            "amount_total": amount,
            "currency": "usd",
            "client_reference_id": asked["client_reference_id"],
            "metadata": asked["metadata"],
        }
        payload = event("checkout.session.completed", paid)
        hook = httpx.post(
            f"{live.url}/v1/webhooks/stripe",
            content=payload,
            headers={
                "Stripe-Signature": sign_payload(payload, WEBHOOK_SECRET),
                "Content-Type": "application/json",
            },
        )
        assert hook.status_code == 200, hook.text
        back = json.dumps(asked["success_url"])[1:-1]
        route.fulfill(
            status=200,
            content_type="text/html",
            body=f'<!doctype html><title>Paid</title><p>Paid.</p><a href="{back}">Return to Spell</a>',
        )

    return handle


def test_a_top_up_through_the_hosted_checkout_credits_the_wallet(
    live: LiveServer, page: Any, fake_stripe: FakeStripe, tmp_path: Path
) -> None:
    live.platform.payments.provider = StripeProvider(
        "sk_test_console", WEBHOOK_SECRET, api_base=fake_stripe.url
    )
    caster = seed_user(live.platform, "caster@example.com", ["caster"])
    page.route(f"{CHECKOUT}/**", _hosted_checkout(live, fake_stripe))
    sign_in(page, live.url, caster.token)
    page.get_by_role("link", name="Wallet").click()
    page.wait_for_url(f"{live.url}/wallet")
    assert page.locator("[data-balance]").inner_text() == "0.00 USD"
    page.get_by_label("Amount (USD)").fill("20")
    page.get_by_role("button", name="Continue to payment").click()
    page.wait_for_url(re.compile(r"https://checkout\.stripe\.test/c/pay/cs_test_\w+$"))
    assert page.get_by_role("heading").inner_text() == "Pay 20.00 USD"
    page.get_by_role("button", name="Pay").click()
    page.get_by_role("link", name="Return to Spell").click()
    page.wait_for_url(f"{live.url}/wallet?paid=1")
    assert page.locator("[data-balance]").inner_text() == "20.00 USD"
    assert "credit" in page.get_by_role("table").last.inner_text()
    # Spend some of it: the chart and the per-spell table show it after a reload.
    publish_paid(live.url, maker_of(live), tmp_path)
    with httpx.Client(base_url=live.url, headers=caster.headers, timeout=30) as http:
        for n in range(2):
            cast = http.post(
                "/v1/spells/acme/paid/cast",
                headers={"Idempotency-Key": f"wallet-{n}", "Prefer": "wait=10"},
                json={"input": {"name": "x"}},
            )
            assert cast.json().get("status") == "succeeded", cast.text
    page.goto(f"{live.url}/wallet")
    assert page.locator("[data-balance]").inner_text() == "19.50 USD"
    assert page.get_by_role("img", name="Spend per day (USD)").is_visible()
    assert "0.50 USD in total" in page.locator("figcaption").inner_text()
    screenshot(page, "wallet")
    with live.platform.db.unit_of_work(write=False) as uow:
        live.platform.ledger.verify(uow)
