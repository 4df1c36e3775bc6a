"""Shapes the API shares across resources: the error envelope's documentation and a deletion.

Each resource's own shapes live with its domain (``platform/<domain>/schemas.py``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

__all__ = ["Deleted", "ErrorBody", "ErrorEnvelope", "error_docs"]


class ErrorBody(BaseModel):
    """What went wrong: a stable code, a message for people, and what to do about it."""

    code: str
    message: str
    details: dict[str, Any] | None = None
    hint: str | None = None
    retry_after: int | None = None
    request_id: str | None = None


class ErrorEnvelope(BaseModel):
    """The body of every non-2xx answer."""

    ok: Literal[False]
    error: ErrorBody


def error_docs(codes: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for error statuses: each with the codes it carries and the error envelope."""
    return {status: {"description": text, "model": ErrorEnvelope} for status, text in codes.items()}


class Deleted(BaseModel):
    """A deletion."""

    id: str
    deleted: bool
