"""Deliver signed webhooks for finished casts, and refuse webhook URLs that point inside the network.

Signature: ``Spell-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``; receivers
recompute it with the shared secret and reject old timestamps (replay protection is theirs).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from spell.errors import InvalidInput

__all__ = ["WebhookSender", "check_webhook_url", "sign_payload"]

_log = logging.getLogger(__name__)


def sign_payload(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Spell-Signature`` header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def check_webhook_url(url: str, *, allow_private: bool) -> None:
    """https only (http too when ``allow_private``), and never a private, loopback or link-local address."""
    try:
        parts = urlsplit(url)
        port = parts.port  # parsed on first use: a port past 65535 or not a number raises here
    except ValueError as exc:
        raise InvalidInput(f"webhook_url is not a valid URL: {exc}", details={"webhook_url": url}) from exc
    schemes = {"https", "http"} if allow_private else {"https"}
    if parts.scheme not in schemes or not parts.hostname:
        raise InvalidInput("webhook_url must be an https:// URL", details={"webhook_url": url})
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, port or 443, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise InvalidInput(f"webhook_url host does not resolve: {exc}", details={"webhook_url": url}) from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise InvalidInput(
                "webhook_url points to a private or local address", details={"webhook_url": url}
            )


class WebhookSender:
    """Sends in a background thread with a few retries; a receiver that is down never blocks a worker."""

    def __init__(
        self, secret: str, *, timeout_s: float = 5.0, attempts: int = 3, backoff_s: float = 1.0
    ) -> None:
        self._secret = secret
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
                response = httpx.post(url, content=body, headers=headers, timeout=self.timeout_s)
                if 200 <= response.status_code < 300:
                    return True
                _log.warning("webhook %s answered %s", url, response.status_code)
            except httpx.HTTPError as exc:
                _log.warning("webhook %s failed: %s", url, exc)
            if attempt + 1 < self.attempts:
                time.sleep(self.backoff_s * (2**attempt))  # retry pacing of a background sender
        return False
