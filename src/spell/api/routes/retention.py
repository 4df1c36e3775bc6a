"""Retention: the operator runs the rules and reads the newest report; legal holds exempt data."""

from __future__ import annotations

from fastapi import APIRouter

from spell.api.deps import CurrentPlatform, CurrentPrincipal, blocking
from spell.api.routing import GuardedRoute
from spell.platform.retention.schemas import (
    HoldKind,
    LegalHoldList,
    LegalHoldOut,
    LegalHoldSet,
    RetentionReport,
    RetentionStatus,
)

router = APIRouter(route_class=GuardedRoute, tags=["retention"])


@router.post("/v1/admin/retention/run", response_model=RetentionReport)
async def run_retention(
    principal: CurrentPrincipal, platform: CurrentPlatform, dry_run: bool = False
) -> RetentionReport:
    """Operator: apply the retention rules now, batch by batch, and answer what was done.

    Inputs of casts ended ``input_days`` ago are reduced to their digest, outputs and logs pruned after
    ``output_days`` / ``log_days``, expired artifacts' blobs deleted (their downloads still answer 410
    ``ARTIFACT_EXPIRED``), audit records past ``audit_days`` folded into a signed checkpoint. Data of
    users and tenants under a legal hold is left alone. ``dry_run=true`` only counts. Servers also run
    this every ``SPELL_RETENTION_INTERVAL_S``.
    """
    return await blocking(platform.retention.run_for, platform.db, principal, dry_run=dry_run)


@router.get("/v1/admin/retention", response_model=RetentionStatus)
def retention_status(principal: CurrentPrincipal, platform: CurrentPlatform) -> RetentionStatus:
    """Operator: the retention periods, the schedule, the checkpoint signing key and the newest run."""
    with platform.db.unit_of_work(write=False) as uow:
        return platform.retention.status_for(uow, principal)


@router.get("/v1/admin/legal-holds", response_model=LegalHoldList)
def list_legal_holds(principal: CurrentPrincipal, platform: CurrentPlatform) -> LegalHoldList:
    """Operator: every tenant and user under a legal hold."""
    with platform.db.unit_of_work(write=False) as uow:
        return platform.legal_holds.list_for(uow, principal)


@router.put("/v1/admin/legal-holds/{kind}/{target_id}", response_model=LegalHoldOut)
def set_legal_hold(
    kind: HoldKind, target_id: str, body: LegalHoldSet, principal: CurrentPrincipal, platform: CurrentPlatform
) -> LegalHoldOut:
    """Operator: hold a user's or tenant's data (``kind`` is ``user`` or ``tenant``) for ``reason``.

    No retention rule nor erasure touches held data until the hold is released. Audited
    (``legal_hold.set``); 404 ``LEGAL_HOLD_TARGET_NOT_FOUND`` for an unknown id.
    """
    with platform.db.unit_of_work() as uow:
        return platform.legal_holds.hold_for(uow, principal, kind, target_id, body.reason)


@router.delete("/v1/admin/legal-holds/{kind}/{target_id}", response_model=LegalHoldOut)
def release_legal_hold(
    kind: HoldKind, target_id: str, principal: CurrentPrincipal, platform: CurrentPlatform
) -> LegalHoldOut:
    """Operator: release a hold; the next retention run applies the usual periods (audited,
    ``legal_hold.released``)."""
    with platform.db.unit_of_work() as uow:
        return platform.legal_holds.release_for(uow, principal, kind, target_id)
