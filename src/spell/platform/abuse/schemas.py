"""Wire shapes of the abuse domain: violations as operators list them, and reinstatements."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from spell.kit.wire import Rfc3339, Rfc3339OrNone, RowModel

__all__ = [
    "Reinstatement",
    "ReinstatementCreate",
    "SubjectType",
    "ViolationFilter",
    "ViolationKind",
    "ViolationOut",
    "ViolationPage",
]

SubjectType = Literal["spell", "user"]
ViolationKind = Literal["egress", "limit", "signature", "supply", "rate_limit_storm"]


class ViolationOut(RowModel):
    """One refusal charged to a spell or a user. ``suspended``: this one reached the threshold and
    suspended its subject; ``cleared_at``: the subject was reinstated since, so it no longer counts."""

    id: str
    kind: str
    subject_type: str
    subject_id: str
    tenant_id: str | None
    cast_id: str | None
    spell_version: str | None
    details: dict[str, Any]
    suspended: bool
    created_at: Rfc3339
    cleared_at: Rfc3339OrNone


class ViolationPage(BaseModel):
    """A page of violations, newest first."""

    items: list[ViolationOut]
    next_cursor: str | None = Field(default=None, description="pass as ``cursor`` for the next page")


class ViolationFilter(BaseModel):
    """Which violations to list: every filter given must match."""

    subject_type: SubjectType | None = None
    subject_id: str | None = Field(default=None, max_length=200)
    kind: ViolationKind | None = None
    since: datetime | None = None
    cursor: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=50, ge=1, le=500)


class ReinstatementCreate(BaseModel):
    """The spell or user to reinstate, and why (kept in the audit record)."""

    subject_type: SubjectType
    subject_id: str = Field(min_length=1, max_length=200)
    note: str | None = Field(default=None, max_length=500)


class Reinstatement(BaseModel):
    """A subject lifted from suspension, and how many of its violations stopped counting."""

    subject_type: str
    subject_id: str
    cleared: int
