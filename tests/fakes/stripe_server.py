"""A local stand-in for the Stripe API: records every request and answers realistic objects.

The real ``stripe`` SDK is pointed at it with ``api_base``. It honours ``Idempotency-Key`` the way
Stripe does (same key → the stored response, not a second object), answers ``card_error`` for
customers marked as declining, and signs webhook events like Stripe (``t=…,v1=HMAC-SHA256``).
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
    """State of the fake: requests seen, idempotent replies, declining customers."""

    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    declining: set[str] = field(default_factory=set)
    replies: dict[tuple[str, str], tuple[int, dict[str, Any]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def calls(self, path: str) -> list[Recorded]:
        """The recorded requests to ``path``."""
        return [r for r in self.requests if r.path == path]

    def answer(self, path: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """The status and object Stripe would return for a POST."""
        routes: dict[str, Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]] = {
            "/v1/customers": self._customer,
            "/v1/checkout/sessions": self._checkout,
            "/v1/billing_portal/sessions": self._portal,
            "/v1/payment_intents": self._intent,
            "/v1/refunds": self._refund,
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
        return 200, {
            "id": _oid("re"),
            "object": "refund",
            "amount": int(p["amount"]),
            "status": "succeeded",
            "payment_intent": p.get("payment_intent"),
            "currency": "usd",
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
                elif key and (self.path, key) in fake.replies:
                    status, reply = fake.replies[(self.path, key)]
                else:
                    status, reply = fake.answer(self.path, params)
                    if key:
                        fake.replies[(self.path, key)] = (status, reply)
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
