"""Webhook delivery settings: ``SPELL_WEBHOOK_*`` (retry schedule, polling, timeouts)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from spell.config.group import layered, read, setting

__all__ = ["WebhookSettings"]


def _schedule(raw: str) -> tuple[int, ...]:
    steps = tuple(int(part) for part in raw.split(",") if part.strip())
    if any(step < 0 for step in steps):
        raise ValueError("retry delays are seconds, 0 or more")
    return steps


@dataclass(frozen=True)
class WebhookSettings:
    """How the queue workers deliver webhooks, and how long they keep trying."""

    env_prefix: ClassVar[str] = "SPELL_WEBHOOK_"

    retry_schedule: tuple[int, ...] = setting(
        (60, 300, 1800, 7200, 43200),
        "comma-separated seconds between a failed attempt and the next; past the last, the delivery fails",
        parse=_schedule,
        shown_default="60,300,1800,7200,43200",
    )
    poll_seconds: float = setting(
        5.0, "how often workers look for retries that fell due (new events are sent at once)", ge=0.05
    )
    timeout_seconds: float = setting(10.0, "how long one attempt waits for the receiver's answer", ge=0.1)
    batch: int = setting(20, "deliveries one worker claims per round", ge=1, le=1000)
    endpoint_cache_seconds: float = setting(
        30.0,
        "how long a tenant's endpoint list stays cached on the cast path; changes are seen at once where "
        "key and spell changes are (SPELL_SERVER_CACHE_MS), others within this time",
        ge=0,
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WebhookSettings:
        """Read ``SPELL_WEBHOOK_*``."""
        return read(cls, layered(environ), cls())
