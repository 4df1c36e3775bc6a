"""Webhook delivery: URLs checked against the egress rules and without credentials, redacted in logs,
and every attempt of a message the same id and bytes."""

from __future__ import annotations

import base64
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


def test_an_attempt_reports_what_failed_without_credentials_or_query() -> None:
    failing = Receiver(status=500)
    try:
        sender = WebhookSender(egress=OPEN)
        answer = sender.attempt(
            failing.url + "?token=query-secret", "msg_1", "cast.failed", b"{}", secrets=[_SECRET]
        )
        assert (answer.status, answer.error, answer.is_success) == (500, None, False)
        refused = sender.attempt("http://u:pw-secret@127.0.0.1:9/x", "msg_2", "e", b"{}", secrets=[_SECRET])
    finally:
        failing.close()
    assert (refused.status, refused.is_success) == (None, False)
    assert refused.error is not None
    assert "pw-secret" not in refused.error


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


def test_every_attempt_of_a_message_sends_the_same_id_and_bytes_signed_and_never_unsigned() -> None:
    failing = Receiver(status=500)
    try:
        sender = WebhookSender(egress=OPEN)
        body = b'{"data":{"id":"cast_1"},"type":"cast.failed"}'
        for _ in range(2):
            assert not sender.attempt(failing.url, "msg_1", "cast.failed", body, secrets=[_SECRET]).is_success
        assert [(headers["webhook-id"], sent) for headers, sent in failing.requests] == [("msg_1", body)] * 2
        with pytest.raises(ValueError, match="unsigned"):
            sender.attempt(failing.url, "msg_2", "cast.failed", body, secrets=[])
        quick = WebhookSender(egress=OPEN, timeout_s=0.5)
        closed = quick.attempt("http://127.0.0.1:9/x", "msg_3", "e", body, secrets=[_SECRET])
        assert (closed.status, closed.error) == (None, "ConnectionRefusedError")
    finally:
        failing.close()


def test_the_private_webhook_setting_is_off_by_default_and_opens_everything_when_set(tmp_path: Path) -> None:
    settings = ServerSettings.for_home(tmp_path)
    assert webhook_egress(settings) == EgressPolicy()
    assert (
        webhook_egress(replace(settings, allow_private_webhooks=True))
        == EgressPolicy.unsafe_private_allowed()
    )
