"""Money routes: estimates, budgets, usage, the caller's ledger, makers' earnings, the audit log."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from spell.api.deps import CurrentPlatform, CurrentPrincipal, blocking
from spell.api.routing import GuardedRoute
from spell.api.schemas import error_docs
from spell.errors import InvalidInput, PermissionDenied
from spell.kit.time import parse_rfc3339, to_rfc3339, utcnow
from spell.platform.audit.service import AuditService
from spell.platform.billing.pricing import effective_pricing
from spell.platform.billing.service import LedgerCastMoney
from spell.platform.budget.schemas import BudgetCaps, BudgetView
from spell.platform.budget.service import BudgetService
from spell.platform.ledger import queries

router = APIRouter(
    route_class=GuardedRoute,
    tags=["money"],
    responses=error_docs({402: "BUDGET_CAP_EXCEEDED, INSUFFICIENT_CREDITS"}),
)


class EstimateRequest(BaseModel):
    """Which version to price (default: the latest); the input does not change a maximum."""

    version: str | None = None
    input: Any = None


def _time(text: str | None, default: datetime, name: str) -> datetime:
    if text is None:
        return default
    try:
        return parse_rfc3339(text)
    except ValueError:
        raise InvalidInput(f"{name} must be an RFC 3339 time", details={name: text}) from None


@router.post("/v1/spells/{spell_id:path}/estimate")
async def estimate(
    spell_id: str, body: EstimateRequest, principal: CurrentPrincipal, platform: CurrentPlatform
) -> dict[str, Any]:
    """The most one cast of this spell can cost under its limits: what a cast would hold."""
    principal.require("spell:read")

    def run() -> dict[str, Any]:
        with platform.db.unit_of_work(write=False) as uow:
            spell = platform.spells.visible(uow, principal, spell_id)
            version = platform.spells.version(uow, spell, body.version)
            manifest = platform.spells.manifest_of(version)
            amount = LedgerCastMoney().estimate(manifest, platform.casts.limits_of(manifest))
            pricing = effective_pricing(manifest)
            view = BudgetService(uow.session).view(principal.user_id)
        return {
            "spell_id": spell.id,
            "version": version.version,
            "pricing_model": pricing.model,
            "charge_on_failure": pricing.charge_on_failure,
            "estimate": amount.to_dict(),
            "balance_micros": view.balance_micros if view.currency == amount.currency else None,
        }

    return await blocking(run)


@router.get("/v1/budget")
async def get_budget(principal: CurrentPrincipal, platform: CurrentPlatform) -> BudgetView:
    """Your caps, what each UTC window has spent and reserved, and your prepaid balance."""
    principal.require("cast:invoke")

    def run() -> BudgetView:
        with platform.db.unit_of_work(write=False) as uow:
            return BudgetService(uow.session).view(principal.user_id)

    return await blocking(run)


@router.put("/v1/budget")
async def put_budget(caps: BudgetCaps, principal: CurrentPrincipal, platform: CurrentPlatform) -> BudgetView:
    """Replace your caps (integer micro-units, ``null`` = no cap); recorded in the audit log."""
    principal.require("cast:invoke")

    def run() -> BudgetView:
        with platform.db.unit_of_work() as uow:
            AuditService(uow.session).append(  # audit first: one lock order for every money transaction
                "budget.changed",
                actor_id=principal.user_id,
                tenant_id=principal.tenant_id,
                subject=principal.user_id,
                data=caps.model_dump(),
            )
            service = BudgetService(uow.session)
            service.set_caps(principal.user_id, caps)
            return service.view(principal.user_id)

    return await blocking(run)


@router.get("/v1/usage")
async def get_usage(
    principal: CurrentPrincipal,
    platform: CurrentPlatform,
    start: str | None = Query(default=None, alias="from", description="RFC 3339; default 30 days ago"),
    end: str | None = Query(default=None, alias="to", description="RFC 3339; default now"),
    group_by: str = Query(default="spell", pattern="^(spell|day)$"),
) -> dict[str, Any]:
    """What you were charged in a time range, grouped by spell or by UTC day."""
    principal.require("cast:invoke")
    now = utcnow()
    begin, finish = _time(start, now - timedelta(days=30), "from"), _time(end, now, "to")

    def run() -> list[dict[str, Any]]:
        with platform.db.unit_of_work(write=False) as uow:
            return queries.usage(uow.session, principal.user_id, start=begin, end=finish, group_by=group_by)

    items = await blocking(run)
    return {"from": to_rfc3339(begin), "to": to_rfc3339(finish), "group_by": group_by, "items": items}


@router.get("/v1/ledger")
async def get_ledger(
    principal: CurrentPrincipal,
    platform: CurrentPlatform,
    limit: int = Query(default=50, ge=1, le=500),
    cursor: str | None = Query(default=None, pattern=r"^\d{1,18}$"),
) -> dict[str, Any]:
    """Your own ledger postings (wallet and holds), newest first, paginated with ``cursor``."""
    principal.require("cast:invoke")

    def run() -> dict[str, Any]:
        with platform.db.unit_of_work(write=False) as uow:
            return queries.entries(
                uow.session, principal.user_id, limit=limit, before=int(cursor) if cursor else None
            )

    return await blocking(run)


@router.get("/v1/earnings")
async def get_earnings(principal: CurrentPrincipal, platform: CurrentPlatform) -> dict[str, Any]:
    """Your tenant's earnings as a maker: balance per currency and revenue per spell."""
    principal.require("spell:publish")

    def run() -> dict[str, Any]:
        with platform.db.unit_of_work(write=False) as uow:
            return queries.earnings(uow.session, principal.tenant_id)

    return await blocking(run)


class AuditPage(BaseModel):
    """A page of audit records in chain order."""

    items: list[dict[str, Any]]
    next_cursor: str | None = Field(default=None, description="pass as ``cursor`` for the next page")


@router.get("/v1/audit")
async def get_audit(
    principal: CurrentPrincipal,
    platform: CurrentPlatform,
    action: str | None = Query(default=None, max_length=60),
    actor_id: str | None = Query(default=None, max_length=40),
    limit: int = Query(default=100, ge=1, le=1000),
    cursor: str | None = Query(default=None, pattern=r"^\d{1,18}$"),
) -> AuditPage:
    """Audit records (``audit:read``); admins see every tenant, auditors their own."""
    principal.require("audit:read")
    if not principal.has_role("auditor", "operator", "admin"):
        raise PermissionDenied("reading the audit log needs the auditor, operator or admin role")
    tenant = None if principal.is_admin else principal.tenant_id

    def run() -> AuditPage:
        with platform.db.unit_of_work(write=False) as uow:
            records = AuditService(uow.session).list(
                action=action, actor_id=actor_id, tenant_id=tenant, after_seq=int(cursor or 0), limit=limit
            )
        items = [
            {
                "seq": r.seq,
                "id": r.id,
                "at": to_rfc3339(r.at),
                "action": r.action,
                "actor_id": r.actor_id,
                "tenant_id": r.tenant_id,
                "subject": r.subject,
                "data": r.data,
                "prev_hash": r.prev_hash,
                "hash": r.hash,
            }
            for r in records
        ]
        return AuditPage(items=items, next_cursor=str(records[-1].seq) if len(records) == limit else None)

    return await blocking(run)
