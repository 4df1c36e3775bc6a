"""Operator routes of the abuse domain: policy violations and reinstatement."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from spell.api.deps import CurrentPlatform, CurrentPrincipal
from spell.api.routing import GuardedRoute
from spell.platform.abuse.schemas import (
    Reinstatement,
    ReinstatementCreate,
    SubjectType,
    ViolationFilter,
    ViolationKind,
    ViolationPage,
)

router = APIRouter(route_class=GuardedRoute, tags=["admin"])


@router.get("/v1/admin/violations", response_model=ViolationPage)
def list_violations(
    principal: CurrentPrincipal,
    platform: CurrentPlatform,
    subject_type: SubjectType | None = None,
    subject_id: Annotated[str | None, Query(max_length=200)] = None,
    kind: ViolationKind | None = None,
    since: Annotated[datetime | None, Query(description="RFC 3339: violations at or after")] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> ViolationPage:
    """Policy violations, newest first: casts refused for egress or a limit (charged to the spell),
    publishes refused for their signature or SBOM and rate-limit storms (charged to the user).

    Filter by subject, kind and time; page with ``next_cursor``. A violation marked ``suspended``
    reached ``SPELL_ABUSE_SUSPEND_THRESHOLD`` and suspended its subject. Admins only (the ``admin`` role
    with the ``admin`` scope).
    """
    where = ViolationFilter(
        subject_type=subject_type, subject_id=subject_id, kind=kind, since=since, cursor=cursor, limit=limit
    )
    with platform.db.unit_of_work(write=False) as uow:
        return platform.abuse.page(uow, principal, where)


@router.post("/v1/admin/violations/reinstate", response_model=Reinstatement)
def reinstate(
    body: ReinstatementCreate, principal: CurrentPrincipal, platform: CurrentPlatform
) -> Reinstatement:
    """Reinstate a suspended spell (casts again) or user (authenticates again); their violations so far
    stop counting towards the next suspension.

    409 ``NOT_SUSPENDED`` when the subject is not suspended. Admins only; the audit chain records
    ``abuse.reinstated`` with the actor and the note.
    """
    with platform.db.unit_of_work() as uow:
        return platform.abuse.reinstate(uow, principal, body.subject_type, body.subject_id, note=body.note)
