"""Deliver signed webhooks for finished casts, and refuse webhook URLs that point inside the network.

URLs follow the shared egress rules (``spell.runtimes.egress``): https, no IP literals, public
addresses only unless the operator opened more. The check when a cast is created resolves the name
(blocking: callers run it off the event loop); delivery resolves again, checks again and dials the
address it checked, and never follows a redirect.

Signature: ``Spell-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``; receivers
recompute it with the shared secret and reject old timestamps (replay protection is theirs).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import threading
import time
from typing import Any

from spell.errors import EgressDenied
from spell.runtimes.egress import Denied, EgressPolicy, Refused

__all__ = ["WebhookSender", "check_webhook_url", "sign_payload"]

_log = logging.getLogger(__name__)


def sign_payload(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Spell-Signature`` header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def check_webhook_url(url: str, egress: EgressPolicy) -> None:
    """Raise ``EgressDenied`` unless ``egress`` lets a webhook reach ``url`` (resolves: blocking)."""
    try:
        egress.pin(egress.check(url, None))
    except Denied as exc:
        raise EgressDenied(
            f"webhook_url refused: {exc.message}", details={"reason": exc.reason, "webhook_url": url}
        ) from None
    except OSError as exc:
        raise EgressDenied(
            f"webhook_url host does not resolve: {exc}",
            details={"reason": "unresolvable", "webhook_url": url},
        ) from None


class WebhookSender:
    """Sends in a background thread with a few retries; a receiver that is down never blocks a worker."""

    def __init__(
        self,
        secret: str,
        *,
        egress: EgressPolicy | None = None,
        timeout_s: float = 5.0,
        attempts: int = 3,
        backoff_s: float = 1.0,
    ) -> None:
        self._secret = secret
        self.egress = egress or EgressPolicy()
        self.timeout_s = timeout_s
        self.attempts = attempts
        self.backoff_s = backoff_s

    def send_async(self, url: str, event: str, payload: dict[str, Any]) -> threading.Thread:
        """Start delivering and return the thread (tests join it)."""
        thread = threading.Thread(
            target=self.send, args=(url, event, payload), name="spell-webhook", daemon=True
        )
        thread.start()
        return thread

    def send(self, url: str, event: str, payload: dict[str, Any]) -> bool:
        """Deliver now; True when the receiver answered 2xx within the attempts."""
        body = json.dumps({"type": event, "data": payload}, sort_keys=True).encode()
        for attempt in range(self.attempts):
            timestamp = int(time.time())
            headers = {
                "Content-Type": "application/json",
                "Spell-Event": event,
                "Spell-Signature": sign_payload(self._secret, timestamp, body),
            }
            try:
                status = self._post(url, body, headers)
                if 200 <= status < 300:
                    return True
                _log.warning("webhook %s answered %s", url, status)
            except Denied as exc:
                # What the address check refuses now it refuses on every retry.
                _log.warning("webhook refused (%s): %s", exc.reason, exc.message)
                return False
            except (Refused, OSError, http.client.HTTPException) as exc:
                _log.warning("webhook %s failed: %s", url, exc)
            if attempt + 1 < self.attempts:
                time.sleep(self.backoff_s * (2**attempt))  # retry pacing of a background sender
        return False

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
