"""The event types a webhook can carry."""

from __future__ import annotations

from collections.abc import Iterable

from spell.errors import InvalidInput

__all__ = ["EVENT_TYPES", "SUPPLY_EVENTS", "TERMINAL_CAST_EVENTS", "check_event_types"]

TERMINAL_CAST_EVENTS = frozenset(
    {"cast.succeeded", "cast.failed", "cast.timeout", "cast.canceled", "cast.aborted"}
)
#: What a maker is told about a published version (platform/supply/notices.py).
SUPPLY_EVENTS = frozenset({"supply.flagged", "supply.delisted", "supply.cleared", "supply.suspended"})
#: Every event an endpoint may subscribe to.
EVENT_TYPES = (
    frozenset({"cast.queued", "cast.running", "cast.progress", "cast.refunded", "payment.refunded"})
    | TERMINAL_CAST_EVENTS
    | SUPPLY_EVENTS
)


def check_event_types(events: Iterable[str]) -> tuple[str, ...]:
    """``events`` sorted and without repeats; ``VALIDATION_ERROR`` naming any unknown one."""
    wanted = tuple(sorted(set(events)))
    unknown = [event for event in wanted if event not in EVENT_TYPES]
    if unknown:
        raise InvalidInput(
            f"unknown webhook event types: {', '.join(unknown)}",
            details={"unknown": unknown, "known": sorted(EVENT_TYPES)},
        )
    return wanted
