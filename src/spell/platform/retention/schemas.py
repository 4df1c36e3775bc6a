"""Wire shapes of retention: a run's report and legal holds."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

__all__ = [
    "HoldKind",
    "LegalHoldList",
    "LegalHoldOut",
    "LegalHoldSet",
    "RetentionPeriods",
    "RetentionReport",
    "RetentionStatus",
]

HoldKind = Literal["user", "tenant"]


class RetentionPeriods(BaseModel):
    """The periods a run applied, in days."""

    input_days: int
    output_days: int
    log_days: int
    audit_days: int
    ledger_audit_days: int


class RetentionReport(BaseModel):
    """What one run did (or, dry, would do), rule by rule."""

    started_at: str
    finished_at: str
    dry_run: bool
    periods: RetentionPeriods
    inputs_reduced: int = Field(default=0, description="casts whose input was reduced to its digest")
    outputs_pruned: int = Field(default=0, description="casts whose output was deleted")
    logs_pruned: int = Field(default=0, description="casts whose log and progress events were deleted")
    log_events_deleted: int = Field(default=0, description="log and progress events deleted")
    artifacts_deleted: int = Field(default=0, description="expired artifacts marked deleted")
    blobs_deleted: int = Field(default=0, description="artifact blobs removed from the blob store")
    audit_folded: int = Field(default=0, description="audit records folded into a checkpoint")
    audit_checkpoint_seq: int | None = Field(
        default=None, description="the last record of audit lane 0 its newest checkpoint covers"
    )
    audit_checkpoints: dict[int, int] = Field(
        default_factory=dict,
        description="per audit lane, the last record (lane_seq) its newest checkpoint covers",
    )
    checkpoint_key: str = Field(
        description="Ed25519 public key (SPKI, base64url) checkpoints are signed with"
    )
    erasures_purged: int = Field(default=0, description="due erasure requests carried out")
    batches: int = Field(default=0, description="transactions the run took")


class LegalHoldSet(BaseModel):
    """Why the data is held (a case or ticket reference)."""

    reason: str = Field(min_length=1, max_length=500)


class LegalHoldOut(BaseModel):
    """A user or tenant and its hold."""

    kind: HoldKind
    id: str
    legal_hold: bool
    reason: str | None


class LegalHoldList(BaseModel):
    """Every user and tenant under a legal hold."""

    items: list[LegalHoldOut]


class RetentionStatus(BaseModel):
    """The periods in force, the schedule and the newest run."""

    periods: RetentionPeriods
    interval_s: int = Field(description="seconds between scheduled runs; 0: only on demand")
    checkpoint_key: str = Field(
        description="Ed25519 public key (SPKI, base64url) checkpoints are signed with"
    )
    last_run: RetentionReport | None
