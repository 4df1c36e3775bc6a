"""Webhook delivery: URLs checked against the egress rules and without credentials, redacted in logs,
failed deliveries retried as one message."""

from __future__ import annotations

import base64
import logging
from dataclasses import replace
from pathlib import Path

import pytest

from spell.config.server import ServerSettings
from spell.errors import EgressDenied, InvalidInput
from spell.platform.server import webhook_egress
from spell.platform.webhook.service import WebhookSender, check_webhook_url, redact_url
from spell.runtimes.egress import EgressPolicy
from tests.fakes.webhook_receiver import Receiver

OPEN = EgressPolicy.unsafe_private_allowed()  # the receivers of these tests listen on 127.0.0.1
_SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()


@pytest.mark.parametrize(
    "url",
    [
        "https://user:pass@example.com/hook",
        "https://user@example.com/hook",
        "https://:pass@example.com/hook",
        "http://u:p@127.0.0.1:9/x",
    ],
)
def test_webhook_urls_with_credentials_are_refused_even_where_private_targets_are_allowed(url: str) -> None:
    for egress in (EgressPolicy(), OPEN):
        with pytest.raises(InvalidInput) as refused:
            check_webhook_url(url, egress)
        assert "credentials" in refused.value.message
        assert "pass" not in str(refused.value.details)


def test_urls_are_redacted_of_user_info_query_and_fragment() -> None:
    assert redact_url("https://u:p@hooks.example.com:8443/a/b?token=t0k#frag") == (
        "https://hooks.example.com:8443/a/b"
    )
    assert redact_url("https://[::1]/x?k=v") == "https://[::1]/x"
    assert redact_url("https://host:notaport/") == "<unparsable url>"


def test_a_failing_delivery_is_logged_without_credentials_or_query(caplog: pytest.LogCaptureFixture) -> None:
    failing = Receiver(status=500)
    try:
        sender = WebhookSender(egress=OPEN, attempts=1, backoff_s=0.0)
        with caplog.at_level(logging.WARNING, logger="spell.platform.webhook.service"):
            assert (
                sender.send(failing.url + "?token=query-secret", "cast.failed", {}, secrets=[_SECRET])
                is False
            )
            assert sender.send("http://u:pw-secret@127.0.0.1:9/x", "e", {}, secrets=[_SECRET]) is False
    finally:
        failing.close()
    # only this sender's records: a sweep thread of another test's platform may log meanwhile
    assert len([r for r in caplog.records if r.name == "spell.platform.webhook.service"]) == 2
    assert "query-secret" not in caplog.text
    assert "pw-secret" not in caplog.text


def test_webhook_urls_must_be_public_https() -> None:
    for url in (
        "http://example.com/hook",
        "ftp://example.com",
        "https://127.0.0.1/hook",
        "https://10.1.2.3/x",
        "https://[::1]/x",
        "https://nonexistent.invalid/x",
    ):
        with pytest.raises(EgressDenied):
            check_webhook_url(url, EgressPolicy())
    check_webhook_url("http://127.0.0.1:9/x", OPEN)


def test_the_sender_retries_and_reports_a_receiver_that_keeps_failing() -> None:
    failing = Receiver(status=500)
    try:
        sender = WebhookSender(egress=OPEN, attempts=2, backoff_s=0.0)
        assert sender.send(failing.url, "cast.failed", {"id": "cast_1"}, secrets=[_SECRET]) is False
        assert len(failing.requests) == 2
        ids = {headers["webhook-id"] for headers, _ in failing.requests}
        assert len(ids) == 1  # a retry is the same message: receivers de-duplicate on its id
        quick = WebhookSender(egress=OPEN, attempts=1, timeout_s=0.5)
        assert quick.send("http://127.0.0.1:9/x", "e", {}, secrets=[_SECRET]) is False
    finally:
        failing.close()


def test_the_private_webhook_setting_is_off_by_default_and_opens_everything_when_set(tmp_path: Path) -> None:
    settings = ServerSettings.for_home(tmp_path)
    assert webhook_egress(settings) == EgressPolicy()
    assert (
        webhook_egress(replace(settings, allow_private_webhooks=True))
        == EgressPolicy.unsafe_private_allowed()
    )
