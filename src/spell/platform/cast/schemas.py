"""The wire shapes of a cast and its events."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from spell.kit.time import to_rfc3339, to_rfc3339_or_none

if TYPE_CHECKING:  # rows are only read here: the SDK imports these shapes without the database models
    from spell.models import Cast, CastEvent

__all__ = ["CastError", "CastEventOut", "CastList", "CastOut"]


class CastError(BaseModel):
    """Why a cast did not succeed."""

    code: str | None
    message: str | None


class CastOut(BaseModel):
    """One cast."""

    id: str
    spell_id: str
    version: str
    spell_digest: str
    button_id: str | None
    status: str
    input_digest: str
    output: Any
    usage: dict[str, Any] | None
    error: CastError | None
    retry_of: str | None
    retried_by: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    idempotent_replay: bool

    @classmethod
    def from_row(cls, cast: Cast, *, replay: bool = False) -> CastOut:
        """A cast row (``idempotent_replay`` is true only on a creation that replayed an earlier one)."""
        return cls.model_validate(
            {
                "id": cast.id,
                "spell_id": cast.spell_id,
                "version": cast.version,
                "spell_digest": cast.spell_digest,
                "button_id": cast.button_id,
                "status": cast.status,
                "input_digest": cast.input_digest,
                "output": cast.output,
                "usage": cast.usage,
                "error": {"code": cast.error_code, "message": cast.error_message}
                if cast.error_code
                else None,
                "retry_of": cast.retry_of,
                "retried_by": cast.retried_by,
                "created_at": to_rfc3339(cast.created_at),
                "started_at": to_rfc3339_or_none(cast.started_at),
                "finished_at": to_rfc3339_or_none(cast.finished_at),
                "idempotent_replay": replay,
            }
        )


class CastList(BaseModel):
    """A page of casts, newest first."""

    items: list[CastOut]
    next_cursor: str | None


class CastEventOut(BaseModel):
    """One event of a cast, as sent over SSE (``id`` is its sequence number in the cast)."""

    id: int
    type: str
    data: dict[str, Any]
    at: str

    @classmethod
    def from_row(cls, event: CastEvent) -> CastEventOut:
        """An event row."""
        return cls.model_construct(
            id=event.seq, type=event.type, data=event.data, at=to_rfc3339(event.created_at)
        )
