"""Shapes the API shares across resources: the error envelope's documentation and a deletion.

Each resource's own shapes live with its domain (``platform/<domain>/schemas.py``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

__all__ = ["Deleted", "error_docs"]

_ERROR_ENVELOPE: dict[str, Any] = {
    "type": "object",
    "required": ["ok", "error"],
    "properties": {
        "ok": {"const": False},
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "object"},
                "hint": {"type": "string"},
                "retry_after": {"type": "integer"},
                "request_id": {"type": "string"},
            },
        },
    },
}


def error_docs(codes: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for error statuses: each with the codes it carries and the error envelope."""
    return {
        status: {"description": text, "content": {"application/json": {"schema": _ERROR_ENVELOPE}}}
        for status, text in codes.items()
    }


class Deleted(BaseModel):
    """A deletion."""

    id: str
    deleted: bool
