"""A local stand-in for the Stripe API: records every request and answers realistic objects.

The real ``stripe`` SDK is pointed at it with ``api_base``. It honours ``Idempotency-Key`` the way
Stripe does (same key and parameters → the stored response, not a second object; same key with other
parameters → 400 ``idempotency_error``), answers ``card_error`` for customers marked as declining,
refuses transfers to unknown connected accounts, answers 500 on paths marked as down, refuses a
refund beyond what is left of a payment, and signs webhook events like Stripe
(``t=…,v1=HMAC-SHA256``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

__all__ = ["FakeStripe", "Recorded", "event", "running_fake_stripe", "sign_payload"]


@dataclass(frozen=True)
class Recorded:
    """One request the fake received."""

    method: str
    path: str
    params: dict[str, Any]
    idempotency_key: str | None
    authorization: str | None


def _nest(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Form keys like ``line_items[0][price_data][currency]`` back into nested dicts."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


def _oid(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


@dataclass
class FakeStripe:
    """State of the fake: requests seen, idempotent replies, declining customers, objects made."""

    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    declining: set[str] = field(default_factory=set)
    accounts: set[str] = field(default_factory=set)  # connected accounts transfers may go to
    down: set[str] = field(default_factory=set)  # paths answering 500 (an outage)
    replies: dict[tuple[str, str], tuple[dict[str, Any], int, dict[str, Any]]] = field(default_factory=dict)
    created: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # objects made, by path
    refunded: dict[str, int] = field(default_factory=dict)  # minor units refunded, by payment intent
    lock: threading.Lock = field(default_factory=threading.Lock)

    def calls(self, path: str) -> list[Recorded]:
        """The recorded requests to ``path``."""
        return [r for r in self.requests if r.path == path]

    def made(self, path: str) -> list[dict[str, Any]]:
        """The objects the fake created on ``path`` (an idempotent replay creates none)."""
        return self.created.get(path, [])

    def post(self, path: str, params: dict[str, Any], key: str | None) -> tuple[int, dict[str, Any]]:
        """Answer one POST as Stripe would, honouring its idempotency key (caller holds ``lock``)."""
        if key and (path, key) in self.replies:
            first, status, reply = self.replies[(path, key)]
            if first != params:
                return 400, _error(
                    "idempotency_error",
                    "Keys for idempotent requests can only be used with the same parameters they were"
                    " first used with.",
                )
            return status, reply
        if path in self.down:
            return 500, _error("api_error", "An unknown error occurred")
        status, reply = self.answer(path, params)
        if status == 200:
            self.created.setdefault(path, []).append(reply)
        if key and status != 400:  # like Stripe: a request refused as invalid saves no result
            self.replies[(path, key)] = (params, status, reply)
        return status, reply

    def answer(self, path: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """The status and object Stripe would return for a POST."""
        routes: dict[str, Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]] = {
            "/v1/customers": self._customer,
            "/v1/checkout/sessions": self._checkout,
            "/v1/billing_portal/sessions": self._portal,
            "/v1/payment_intents": self._intent,
            "/v1/refunds": self._refund,
            "/v1/transfers": self._transfer,
        }
        route = routes.get(path)
        if route is None:
            return 404, _error("invalid_request_error", f"Unrecognized request URL (POST: {path})")
        return route(params)

    def _customer(self, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return 200, {
            "id": _oid("cus"),
            "object": "customer",
            "email": p.get("email"),
            "metadata": p.get("metadata", {}),
            "created": int(time.time()),
            "livemode": False,
        }

    def _checkout(self, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        sid = _oid("cs_test")
        return 200, {
            "id": sid,
            "object": "checkout.session",
            "mode": p.get("mode"),
            "customer": p.get("customer"),
            "url": f"https://checkout.stripe.test/c/pay/{sid}",
            "status": "open",
            "client_reference_id": p.get("client_reference_id"),
            "metadata": p.get("metadata", {}),
            "success_url": p.get("success_url"),
            "cancel_url": p.get("cancel_url"),
        }

    def _portal(self, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        sid = _oid("bps")
        return 200, {
            "id": sid,
            "object": "billing_portal.session",
            "customer": p.get("customer"),
            "url": f"https://billing.stripe.test/p/session/{sid}",
            "return_url": p.get("return_url"),
        }

    def _intent(self, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if p.get("customer") in self.declining:
            body = _error("card_error", "Your card was declined.")
            body["error"].update(code="card_declined", decline_code="insufficient_funds")
            return 402, body
        amount = int(p["amount"])
        return 200, {
            "id": _oid("pi"),
            "object": "payment_intent",
            "amount": amount,
            "amount_received": amount,
            "currency": p["currency"],
            "customer": p.get("customer"),
            "status": "succeeded",
            "metadata": p.get("metadata", {}),
            "livemode": False,
        }

    def _refund(self, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        intent = str(p.get("payment_intent"))
        paid = next((int(o["amount"]) for o in self.made("/v1/payment_intents") if o["id"] == intent), None)
        amount = int(p["amount"])
        if paid is not None and self.refunded.get(intent, 0) + amount > paid:
            body = _error("invalid_request_error", "Refund amount is greater than the unrefunded amount.")
            body["error"]["code"] = "amount_too_large"
            return 400, body
        self.refunded[intent] = self.refunded.get(intent, 0) + amount
        return 200, {
            "id": _oid("re"),
            "object": "refund",
            "amount": int(p["amount"]),
            "status": "succeeded",
            "payment_intent": p.get("payment_intent"),
            "currency": "usd",
        }

    def _transfer(self, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        destination = p.get("destination")
        if destination not in self.accounts:
            body = _error("invalid_request_error", f"No such destination: '{destination}'")
            body["error"].update(code="resource_missing", param="destination")
            return 400, body
        return 200, {
            "id": _oid("tr"),
            "object": "transfer",
            "amount": int(p["amount"]),
            "currency": p["currency"],
            "destination": destination,
            "metadata": p.get("metadata", {}),
            "livemode": False,
        }


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"error": {"type": kind, "message": message}}


def _handler(fake: FakeStripe) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8")
            params = _nest(parse_qsl(body, keep_blank_values=True))
            key = self.headers.get("Idempotency-Key")
            auth = self.headers.get("Authorization")
            with fake.lock:
                fake.requests.append(Recorded("POST", self.path, params, key, auth))
                if not (auth or "").startswith("Bearer sk_test_"):
                    status, reply = 401, _error("invalid_request_error", "Invalid API Key provided")
                else:
                    status, reply = fake.post(self.path, params, key)
            data = json.dumps(reply).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Request-Id", _oid("req"))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


def running_fake_stripe() -> Iterator[FakeStripe]:
    """Serve a fake on a free local port for the duration of the generator (use as a fixture body)."""
    fake = FakeStripe()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def sign_payload(payload: bytes, secret: str, *, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header Stripe would send for ``payload``."""
    moment = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{moment}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={moment},v1={digest}"


def event(kind: str, obj: dict[str, Any], *, event_id: str | None = None) -> bytes:
    """A Stripe event envelope around ``obj``, as the bytes of a webhook body."""
    envelope = {
        "id": event_id or _oid("evt"),
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": kind,
        "data": {"object": obj},
    }
    return json.dumps(envelope).encode("utf-8")
