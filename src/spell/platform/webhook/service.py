"""Deliver signed webhooks for finished casts, and refuse webhook URLs that point inside the network.

Signatures follow Standard Webhooks (https://www.standardwebhooks.com): headers ``webhook-id`` (one id
per event, the same on every retry), ``webhook-timestamp`` (unix seconds of the attempt) and
``webhook-signature`` (``v1,<base64 HMAC-SHA256(secret, "<id>.<timestamp>.<body>")>``, space-separated
when a rotation leaves two secrets signing). The secret is the tenant's own (``secret.py``); receivers
verify with any stock verifier and reject old timestamps.

URLs follow the shared egress rules (``spell.runtimes.egress``): https, no IP literals, public
addresses only unless the operator opened more. The check when a cast is created resolves the name
(blocking: callers run it off the event loop); delivery resolves again, checks again and dials the
address it checked, and never follows a redirect. Webhook URLs never carry credentials, and are logged
without their query string (which may).
"""

from __future__ import annotations

import http.client
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from standardwebhooks import Webhook

from spell.errors import EgressDenied, InvalidInput
from spell.runtimes.egress import Denied, EgressPolicy, Refused

__all__ = ["Answer", "WebhookSender", "check_webhook_url", "redact_url", "signature_headers"]


def signature_headers(secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers for ``body``: one ``v1,`` signature per secret."""
    at = datetime.fromtimestamp(timestamp, tz=UTC)
    signatures = " ".join(Webhook(secret).sign(msg_id, at, body) for secret in secrets)
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp), "webhook-signature": signatures}


def redact_url(url: str) -> str:
    """``url`` fit for logs and error details: no user info, query or fragment."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<unparsable url>"
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{port}{parts.path}"


def check_webhook_url(url: str, egress: EgressPolicy) -> None:
    """Refuse credentials in ``url`` (``VALIDATION_ERROR``), then raise ``EgressDenied`` unless ``egress``
    lets a webhook reach it (resolves: blocking)."""
    try:
        parts = urlsplit(url)
        _ = parts.port  # parsing the port is what raises on a malformed one
    except ValueError as exc:
        raise InvalidInput(
            "webhook_url is not a valid URL", details={"webhook_url": redact_url(url)}
        ) from exc
    if parts.username is not None or parts.password is not None:
        raise InvalidInput(
            "webhook_url must not contain credentials (user:password@host)",
            details={"webhook_url": redact_url(url)},
            hint="receivers authenticate deliveries by their webhook-signature; "
            "fetch the secret from GET /v1/webhooks/secret",
        )
    try:
        egress.pin(egress.check(url, None))
    except Denied as exc:
        raise EgressDenied(
            f"webhook_url refused: {exc.message}",
            details={"reason": exc.reason, "webhook_url": redact_url(url)},
        ) from None
    except OSError as exc:
        raise EgressDenied(
            f"webhook_url host does not resolve: {exc}",
            details={"reason": "unresolvable", "webhook_url": redact_url(url)},
        ) from None


@dataclass(frozen=True)
class Answer:
    """What one attempt got: the receiver's HTTP status, or why there was none (never quoting the URL)."""

    status: int | None
    error: str | None
    duration_ms: int

    @property
    def is_success(self) -> bool:
        """The receiver answered 2xx."""
        return self.status is not None and 200 <= self.status < 300


class WebhookSender:
    """One signed POST at a time through the egress rules; the outbox's worker schedules the retries."""

    def __init__(self, *, egress: EgressPolicy | None = None, timeout_s: float = 5.0) -> None:
        self.egress = egress or EgressPolicy()
        self.timeout_s = timeout_s

    def attempt(self, url: str, msg_id: str, event: str, body: bytes, *, secrets: Sequence[str]) -> Answer:
        """One POST of ``body`` signed now; what came back, never raising for a receiver's failure."""
        if not secrets:
            raise ValueError("a webhook is never sent unsigned")
        headers = {
            "Content-Type": "application/json",
            "Spell-Event": event,
            # The machine's time, not a scheduling clock: receivers check it against their own clocks.
            **signature_headers(secrets, msg_id, int(time.time()), body),
        }
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        try:
            status = self._post(url, body, headers)
        except Denied as exc:
            error = f"refused: {exc.reason}"
        except (Refused, OSError, http.client.HTTPException) as exc:
            # The exception's text may quote the full URL; its type says enough.
            error = type(exc).__name__
        return Answer(status, error, int((time.monotonic() - started) * 1000))

    def _post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        response = self.egress.fetch(
            "POST",
            url,
            allow=None,
            headers=headers,
            body=body,
            timeout_s=self.timeout_s,
            max_bytes=64 * 1024,
            max_redirects=0,
        )
        return response.status
