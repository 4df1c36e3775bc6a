"""Times from outside: a zone is required where it matters, and a time UTC cannot hold is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from spell.kit.time import aware_utc, parse_rfc3339


def test_aware_utc_converts_and_refuses_times_without_a_zone_or_past_9999() -> None:
    plus_two = datetime(2030, 1, 1, 2, 0, tzinfo=timezone(timedelta(hours=2)))
    assert aware_utc(plus_two) == datetime(2030, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="time zone"):
        aware_utc(datetime(2030, 1, 1))  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="9999"):
        aware_utc(datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-14))))


def test_parse_rfc3339_refuses_a_time_past_9999_in_utc_as_value_error() -> None:
    assert parse_rfc3339("2030-01-01T00:00:00") == datetime(2030, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="9999"):
        parse_rfc3339("9999-12-31T23:59:59-14:00")
