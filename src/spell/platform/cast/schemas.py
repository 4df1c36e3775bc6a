"""The API shape of a cast and its events."""

from __future__ import annotations

from typing import Any

from spell.kit.time import to_rfc3339
from spell.models import Cast, CastEvent

__all__ = ["cast_out", "event_out"]


def cast_out(cast: Cast, *, replay: bool = False) -> dict[str, Any]:
    """A cast as the API shows it (``idempotent_replay`` only on creation responses)."""
    body: dict[str, Any] = {
        "id": cast.id,
        "spell_id": cast.spell_id,
        "version": cast.version,
        "spell_digest": cast.spell_digest,
        "button_id": cast.button_id,
        "status": cast.status,
        "input_digest": cast.input_digest,
        "output": cast.output,
        "usage": cast.usage,
        "error": {"code": cast.error_code, "message": cast.error_message} if cast.error_code else None,
        "retry_of": cast.retry_of,
        "retried_by": cast.retried_by,
        "created_at": to_rfc3339(cast.created_at),
        "started_at": to_rfc3339(cast.started_at) if cast.started_at else None,
        "finished_at": to_rfc3339(cast.finished_at) if cast.finished_at else None,
        "idempotent_replay": replay,
    }
    return body


def event_out(event: CastEvent) -> dict[str, Any]:
    """One event as sent over SSE."""
    return {"id": event.seq, "type": event.type, "data": event.data, "at": to_rfc3339(event.created_at)}
