"""``SPELL_WEBHOOK_*``: the retry schedule as comma-separated seconds, refused when it is not."""

from __future__ import annotations

import pytest

from spell.config.webhooks import WebhookSettings
from spell.errors import InvalidInput


def test_the_default_schedule_is_one_minute_to_twelve_hours() -> None:
    assert WebhookSettings.from_env({}).retry_schedule == (60, 300, 1800, 7200, 43200)


def test_the_schedule_is_read_from_the_environment() -> None:
    settings = WebhookSettings.from_env(
        {"SPELL_WEBHOOK_RETRY_SCHEDULE": "5, 10,20", "SPELL_WEBHOOK_BATCH": "3"}
    )
    assert (settings.retry_schedule, settings.batch) == ((5, 10, 20), 3)


@pytest.mark.parametrize("raw", ["60,-1", "soon", "1.5"])
def test_a_schedule_that_is_not_whole_seconds_is_refused(raw: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        WebhookSettings.from_env({"SPELL_WEBHOOK_RETRY_SCHEDULE": raw})
    assert refused.value.code == "VALIDATION_ERROR"
