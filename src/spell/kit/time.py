"""Timezone-aware UTC time and RFC 3339 text."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["aware_utc", "parse_rfc3339", "to_rfc3339", "to_rfc3339_or_none", "utcnow"]


def utcnow() -> datetime:
    """Return the current time, timezone-aware UTC."""
    return datetime.now(UTC)


def to_rfc3339(moment: datetime) -> str:
    """Format an aware datetime as RFC 3339 with millisecond precision and ``Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def to_rfc3339_or_none(moment: datetime | None) -> str | None:
    """``to_rfc3339`` of a time that may be absent (None stays None)."""
    return None if moment is None else to_rfc3339(moment)


def parse_rfc3339(text: str) -> datetime:
    """Parse RFC 3339 text (``Z`` or offset; none reads as UTC) into an aware UTC datetime.

    Raises ``ValueError`` for text that is not a time or a time UTC cannot represent.
    """
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return aware_utc(moment)


def aware_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; ``ValueError`` when it has no time zone or falls outside years 1-9999 in UTC."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("the time has no time zone (add Z or an offset like +02:00)")
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time is outside the years 1 to 9999 in UTC") from None
