"""The seed 002 end-to-end plan, T1 to T6, against one live server per database (tests/e2e/conftest.py):
real HTTP to a uvicorn-served platform whose GitHub App and Stripe account are local fakes.

Each test acts as a new caster with a repository of its own and checks, besides status codes and
error codes, where the money went: the caster's wallet and postings, the maker's earnings, and
``spell ledger verify`` / ``spell audit verify`` on the server's database at the end.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.e2e.conftest import ARTIFACT_TTL_SECONDS, PRICE_MICROS, REPORT, SPELL, WEBHOOK_SECRET, Stack
from tests.fakes.stripe_server import event, sign_payload
from tests.fixtures.server import Caller

MAKER_SHARE_MICROS = PRICE_MICROS * 8 // 10  # the default 80 % split
FUNDS = 5_000_000
CAST = f"/v1/spells/{SPELL}/cast"


def _cast(http: httpx.Client, key: str, cast_input: dict[str, Any], *, wait: int = 30) -> httpx.Response:
    headers = {"Idempotency-Key": key}
    if wait:
        headers["Prefer"] = f"wait={wait}"
    return http.post(CAST, headers=headers, json={"input": cast_input})


def _balance(http: httpx.Client) -> int:
    budget = http.get("/v1/budget")
    assert budget.status_code == 200, budget.text
    balance: int = budget.json()["balance_micros"]
    return balance


def _postings(http: httpx.Client, cast_id: str | None = None) -> list[tuple[str, str, int]]:
    """The caller's ledger postings (kind, account, amount), oldest first, of one cast or of none."""
    items = http.get("/v1/ledger", params={"limit": 500}).json()["items"]
    return [(p["kind"], p["account"], p["amount_micros"]) for p in reversed(items) if p["cast_id"] == cast_id]


def _casts(http: httpx.Client) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = http.get("/v1/casts").json()["items"]
    return listed


def _earned(stack: Stack) -> int:
    with stack.http(stack.maker) as http:
        earnings = http.get("/v1/earnings").json()
    return sum(s["amount_micros"] for s in earnings["spells"] if s["spell_id"] == SPELL)


def _dispatched(stack: Stack, repo: str) -> int:
    return sum(1 for run in list(stack.github.runs.values()) if run.repo == repo)


def _events(stream: str) -> list[str]:
    """The names of a finished cast's server-sent events; a progress event as ``step: event``."""
    names = []
    for block in stream.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        data = json.loads(fields["data"])
        names.append(f"{data['step']}: {data['event']}" if fields["event"] == "progress" else fields["event"])
    return names


def _charged_once(http: httpx.Client, cast_id: str) -> None:
    assert _postings(http, cast_id) == [
        ("reserve", "wallet", -PRICE_MICROS),
        ("reserve", "holds", PRICE_MICROS),
        ("capture", "holds", -PRICE_MICROS),
    ]


def test_t1_a_workflow_cast_succeeds_keeps_the_runs_artifacts_and_pays_the_maker(stack: Stack) -> None:
    caster, repo = stack.caster("t1", top_up_micros=FUNDS)
    earned = _earned(stack)
    with stack.http(caster) as http:
        response = _cast(http, "t1", {"repo": repo, "inputs": {"target": "linux"}})
        assert response.status_code == 200, response.text
        cast = response.json()
        assert cast["status"] == "succeeded", cast["error"]
        (run,) = [r for r in stack.github.runs.values() if r.repo == repo]
        assert (cast["output"]["run_id"], cast["output"]["conclusion"]) == (run.id, "success")
        assert run.inputs["target"] == "linux"
        assert [t.repos for t in stack.github.minted() if repo in t.repos] == [frozenset({repo})]

        (listed,) = http.get(f"/v1/casts/{cast['id']}/artifacts").json()["items"]
        assert listed["name"] == "report.zip"
        download = httpx.get(stack.url + listed["url"])  # the signed URL is the credential
        assert download.status_code == 200
        assert hashlib.sha256(download.content).hexdigest() == cast["output"]["artifacts"][0]["sha256"]
        with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
            assert archive.read("report.txt") == REPORT

        assert _events(http.get(f"/v1/casts/{cast['id']}/events").text) == [
            "queued",
            "running",
            "workflow: dispatched",
            "workflow: run",
            "workflow: queued",
            "workflow: in_progress",
            "workflow: completed",
            "succeeded",
        ]

        assert _balance(http) == FUNDS - PRICE_MICROS
        _charged_once(http, cast["id"])
    assert _earned(stack) - earned == MAKER_SHARE_MICROS
    stack.books_balance()


def test_t2_a_cast_past_the_callers_budget_cap_is_402_and_neither_runs_nor_holds_money(stack: Stack) -> None:
    caster, repo = stack.caster("t2", top_up_micros=FUNDS)
    with stack.http(caster) as http:
        capped = http.put("/v1/budget", json={"total_micros": PRICE_MICROS + PRICE_MICROS // 2})
        assert capped.status_code == 200, capped.text
        assert _cast(http, "t2-a", {"repo": repo}).json()["status"] == "succeeded"

        refused = _cast(http, "t2-b", {"repo": repo})
        assert refused.status_code == 402, refused.text
        error = refused.json()["error"]
        assert error["code"] == "BUDGET_CAP_EXCEEDED"
        assert {k: error["details"][k] for k in ("cap", "window", "spent", "reserved", "estimate")} == {
            "cap": PRICE_MICROS + PRICE_MICROS // 2,
            "window": "total",
            "spent": PRICE_MICROS,
            "reserved": 0,
            "estimate": PRICE_MICROS,
        }
        assert len(_casts(http)) == 1
        assert _dispatched(stack, repo) == 1
        assert _balance(http) == FUNDS - PRICE_MICROS
        total = next(w for w in http.get("/v1/budget").json()["windows"] if w["window"] == "total")
        assert (total["spent_micros"], total["reserved_micros"]) == (PRICE_MICROS, 0)
    stack.books_balance()


def test_t3_one_idempotency_key_is_one_cast_and_one_charge_and_another_body_under_it_is_409(
    stack: Stack,
) -> None:
    caster, repo = stack.caster("t3", top_up_micros=FUNDS)
    cast_input = {"repo": repo, "inputs": {"target": "arm"}}
    with stack.http(caster) as http, ThreadPoolExecutor(max_workers=3) as pool:
        racing = list(pool.map(lambda _: _cast(http, "t3", cast_input, wait=0), range(3)))
        assert {r.status_code for r in racing} <= {200, 202}, [r.text for r in racing]
        (cast_id,) = {r.json()["id"] for r in racing}
        assert sorted(r.json()["idempotent_replay"] for r in racing) == [False, True, True]

        again = _cast(http, "t3", cast_input)
        assert again.status_code == 200, again.text
        assert (again.json()["id"], again.json()["idempotent_replay"]) == (cast_id, True)
        assert again.json()["status"] == "succeeded"

        other = _cast(http, "t3", {"repo": repo, "inputs": {"target": "x86"}})
        assert other.status_code == 409, other.text
        assert other.json()["error"]["code"] == "IDEMPOTENCY_CONFLICT"

        assert [c["id"] for c in _casts(http)] == [cast_id]
        assert _dispatched(stack, repo) == 1
        assert _balance(http) == FUNDS - PRICE_MICROS
        _charged_once(http, cast_id)
    stack.books_balance()


def test_t4_a_repository_not_bound_to_the_callers_tenant_is_403_forbidden_repo_before_anything_happens(
    stack: Stack,
) -> None:
    owner, owned = stack.caster("t4-owner")
    intruder, _ = stack.caster("t4", top_up_micros=FUNDS)
    requests_before = len(stack.github.requests)
    with stack.http(intruder) as http:
        for repo in (owned, "octo/unbound"):  # another tenant's, and one bound to no tenant
            refused = _cast(http, f"t4-{repo}", {"repo": repo})
            assert refused.status_code == 403, refused.text
            error = refused.json()["error"]
            assert (error["code"], error["details"]) == ("FORBIDDEN_REPO", {"repo": repo})
        assert _casts(http) == []
        assert _balance(http) == FUNDS
        assert _postings(http) == [("credit", "wallet", FUNDS)]  # the top-up, and no hold since
    assert len(stack.github.requests) == requests_before  # refused on the bindings, GitHub never asked
    assert _dispatched(stack, owned) == 0
    with stack.http(owner) as http:
        assert _casts(http) == []
    stack.books_balance()


def test_t4_a_workflow_missing_from_the_callers_own_repository_is_404_workflow_not_found_before_money_is_held(
    stack: Stack,
) -> None:
    caster, repo = stack.caster("t4-missing", top_up_micros=FUNDS)
    del stack.github.repos[repo].workflows["build.yml"]
    with stack.http(caster) as http:
        for wait in (30, 0):  # waiting for the result, and not
            refused = _cast(http, f"t4-missing-{wait}", {"repo": repo}, wait=wait)
            assert refused.status_code == 404, refused.text
            error = refused.json()["error"]
            assert (error["code"], error["details"]) == (
                "WORKFLOW_NOT_FOUND",
                {"repo": repo, "workflow": "build.yml"},
            )
        assert _casts(http) == []
        assert _balance(http) == FUNDS
        assert _postings(http) == [("credit", "wallet", FUNDS)]
    assert _dispatched(stack, repo) == 0
    stack.books_balance()


def test_t4_github_not_answering_at_creation_is_502_fetch_failed_and_the_same_request_casts_once_it_is_back(
    stack: Stack,
) -> None:
    caster, repo = stack.caster("t4-down", top_up_micros=FUNDS)
    failing = rf"/repos/{repo}/actions/workflows/build\.yml"
    stack.github.fail[failing] = 503
    try:
        with stack.http(caster) as http:
            refused = _cast(http, "t4-down", {"repo": repo})
            assert refused.status_code == 502, refused.text
            assert refused.headers["Retry-After"] == "5"
            assert refused.json()["error"]["code"] == "FETCH_FAILED"
            assert _casts(http) == []
            assert _postings(http) == [("credit", "wallet", FUNDS)]
    finally:
        del stack.github.fail[failing]
    with stack.http(caster) as http:
        cast = _cast(http, "t4-down", {"repo": repo})
        assert cast.status_code == 200, cast.text
        assert cast.json()["status"] == "succeeded"
        _charged_once(http, cast.json()["id"])
    stack.books_balance()


def test_t5_an_artifact_past_its_time_to_live_is_410_artifact_expired_and_its_cast_stays_paid(
    stack: Stack,
) -> None:
    caster, repo = stack.caster("t5", top_up_micros=FUNDS)
    with stack.http(caster) as http:
        cast = _cast(http, "t5", {"repo": repo}).json()
        assert cast["status"] == "succeeded", cast["error"]
        first_url = http.get(f"/v1/casts/{cast['id']}/artifacts").json()["items"][0]["url"]
        assert httpx.get(stack.url + first_url).status_code == 200

        stack.clock.advance(ARTIFACT_TTL_SECONDS)  # the server's clock: expiry is now, not a sleep away

        (listed,) = http.get(f"/v1/casts/{cast['id']}/artifacts").json()["items"]
        for url in (listed["url"], first_url):  # a fresh URL, and the one signed before (still in date)
            gone = httpx.get(stack.url + url)
            assert gone.status_code == 410, gone.text
            assert gone.json()["error"]["code"] == "ARTIFACT_EXPIRED"
        assert http.get(f"/v1/casts/{cast['id']}").json()["status"] == "succeeded"
        assert _balance(http) == FUNDS - PRICE_MICROS  # expiry refunds nothing: the run happened
        _charged_once(http, cast["id"])
    stack.books_balance()


def _paid_checkout(stack: Stack, caster: Caller, top_up_micros: int) -> dict[str, Any]:
    """The checkout session Stripe made for the caster, as its ``checkout.session.completed`` reports it."""
    with stack.http(caster) as http:
        page = http.post(
            "/v1/billing/checkout-url",
            json={
                "success_url": "https://x/ok",
                "cancel_url": "https://x/no",
                "top_up_micros": top_up_micros,
            },
        )
    assert page.status_code == 200, page.text
    (session,) = [
        s for s in stack.stripe.made("/v1/checkout/sessions") if s["client_reference_id"] == caster.user_id
    ]
    assert page.json()["url"] == session["url"]
    minor = top_up_micros // 10_000
    return {
        **session,
        "status": "complete",
        "payment_status": "paid",
        "payment_intent": f"pi_{session['id']}",
        "amount_total": minor,
        "currency": "usd",
    }


def test_t6_a_signed_stripe_checkout_webhook_credits_the_wallet_once_and_a_bad_signature_is_400(
    stack: Stack,
) -> None:
    caster, repo = stack.caster("t6")
    with stack.http(caster) as http:
        broke = _cast(http, "t6-broke", {"repo": repo})
        assert (broke.status_code, broke.json()["error"]["code"]) == (402, "INSUFFICIENT_CREDITS")

    session = _paid_checkout(stack, caster, 2_000_000)
    body = event("checkout.session.completed", session)
    with stack.http() as stripe:
        forged = stripe.post(
            "/v1/webhooks/stripe",
            content=body,
            headers={
                "Stripe-Signature": sign_payload(body, "whsec_forged"),
                "Content-Type": "application/json",
            },
        )
        assert (forged.status_code, forged.json()["error"]["code"]) == (400, "WEBHOOK_SIGNATURE_INVALID")
        with stack.http(caster) as http:
            assert _balance(http) == 0

        signed = {"Stripe-Signature": sign_payload(body, WEBHOOK_SECRET), "Content-Type": "application/json"}
        deliveries = [stripe.post("/v1/webhooks/stripe", content=body, headers=signed) for _ in range(2)]
        assert [d.status_code for d in deliveries] == [200, 200]
        assert [d.json()["duplicate"] for d in deliveries] == [False, True]

        # Stripe also reports the payment itself: another event, the same money.
        intent = {
            "id": session["payment_intent"],
            "object": "payment_intent",
            "amount": session["amount_total"],
            "amount_received": session["amount_total"],
            "currency": "usd",
            "status": "succeeded",
            "metadata": {"user_id": caster.user_id},
        }
        again = event("payment_intent.succeeded", intent)
        reported = stripe.post(
            "/v1/webhooks/stripe",
            content=again,
            headers={
                "Stripe-Signature": sign_payload(again, WEBHOOK_SECRET),
                "Content-Type": "application/json",
            },
        )
        assert (reported.status_code, reported.json()["duplicate"]) == (200, False)

    with stack.http(caster) as http:
        assert _balance(http) == 2_000_000
        assert _postings(http) == [("credit", "wallet", 2_000_000)]
        paid = _cast(http, "t6-paid", {"repo": repo})
        assert paid.json()["status"] == "succeeded", paid.text
        assert _balance(http) == 2_000_000 - PRICE_MICROS
    stack.books_balance()
