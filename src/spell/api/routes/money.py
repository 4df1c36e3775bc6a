"""Money routes: estimates, budgets, usage, the caller's ledger, one-time purchases, makers' earnings and
payouts, the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query

from spell.api.deps import CurrentPlatform, CurrentPrincipal
from spell.api.routing import GuardedRoute
from spell.api.schemas import error_docs
from spell.errors import InvalidInput
from spell.kit.time import parse_rfc3339
from spell.platform.audit.schemas import AuditPage
from spell.platform.billing.schemas import EntitlementPage, Estimate, EstimateRequest, PayoutPage, Purchase
from spell.platform.budget.schemas import BudgetCaps, BudgetView
from spell.platform.ledger.schemas import Earnings, LedgerPage, UsageReport

router = APIRouter(
    route_class=GuardedRoute,
    tags=["money"],
    responses=error_docs({402: "BUDGET_CAP_EXCEEDED, INSUFFICIENT_CREDITS"}),
)


def _time(text: str | None, name: str) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_rfc3339(text)
    except ValueError:
        raise InvalidInput(f"{name} must be an RFC 3339 time", details={name: text}) from None


@router.post("/v1/spells/{spell_id:path}/estimate", response_model=Estimate)
def estimate(
    spell_id: str, body: EstimateRequest, principal: CurrentPrincipal, platform: CurrentPlatform
) -> Estimate:
    """The most one cast of this spell can cost under its limits: what a cast would hold."""
    with platform.db.unit_of_work(write=False) as uow:
        return platform.quotes.estimate(uow, principal, spell_id, body.version)


@router.get("/v1/budget", response_model=BudgetView)
def get_budget(principal: CurrentPrincipal, platform: CurrentPlatform) -> BudgetView:
    """Your caps, what each UTC window has spent and reserved, and your prepaid balance."""
    principal.require("cast:invoke")
    with platform.db.unit_of_work(write=False) as uow:
        return platform.budgets.view(uow, principal.user_id)


@router.put("/v1/budget", response_model=BudgetView)
def put_budget(caps: BudgetCaps, principal: CurrentPrincipal, platform: CurrentPlatform) -> BudgetView:
    """Replace your caps (integer micro-units, ``null`` = no cap); recorded in the audit log."""
    principal.require("cast:invoke")
    with platform.db.unit_of_work() as uow:
        return platform.budgets.set_caps(uow, principal.user_id, caps, tenant_id=principal.tenant_id)


@router.get("/v1/usage", response_model=UsageReport, response_model_exclude_none=True)
def get_usage(
    principal: CurrentPrincipal,
    platform: CurrentPlatform,
    start: str | None = Query(default=None, alias="from", description="RFC 3339; default 30 days ago"),
    end: str | None = Query(default=None, alias="to", description="RFC 3339; default now"),
    group_by: str = Query(default="spell", pattern="^(spell|day)$"),
) -> UsageReport:
    """What you were charged in a time range, grouped by spell or by UTC day."""
    principal.require("cast:invoke")
    begin, finish = _time(start, "from"), _time(end, "to")
    with platform.db.unit_of_work(write=False) as uow:
        return platform.ledger.usage(uow, principal.user_id, start=begin, end=finish, group_by=group_by)


@router.get("/v1/ledger", response_model=LedgerPage)
def get_ledger(
    principal: CurrentPrincipal,
    platform: CurrentPlatform,
    limit: int = Query(default=50, ge=1, le=500),
    cursor: str | None = Query(default=None, pattern=r"^\d{1,18}$"),
) -> LedgerPage:
    """Your own ledger postings (wallet and holds), newest first, paginated with ``cursor``."""
    principal.require("cast:invoke")
    with platform.db.unit_of_work(write=False) as uow:
        return platform.ledger.entries(
            uow, principal.user_id, limit=limit, before=int(cursor) if cursor else None
        )


@router.get("/v1/earnings", response_model=Earnings)
def get_earnings(principal: CurrentPrincipal, platform: CurrentPlatform) -> Earnings:
    """Your tenant's earnings as a maker: balance per currency and revenue per spell."""
    principal.require("spell:publish")
    with platform.db.unit_of_work(write=False) as uow:
        return platform.ledger.earnings(uow, principal.tenant_id)


@router.get("/v1/entitlements", response_model=EntitlementPage)
def get_entitlements(principal: CurrentPrincipal, platform: CurrentPlatform) -> EntitlementPage:
    """The ``one_time`` spells you bought: casting them again is free."""
    principal.require("cast:invoke")
    with platform.db.unit_of_work(write=False) as uow:
        return platform.entitlements.of_caster(uow, principal.user_id)


@router.post("/v1/spells/{spell_id:path}/purchase", response_model=Purchase)
def purchase(
    spell_id: str,
    principal: CurrentPrincipal,
    platform: CurrentPlatform,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Purchase:
    """Buy a ``one_time`` spell at its latest version's price, without casting it (clone-mode spells
    are bought so: then ``GET …/versions/{v}/archive`` hands you the archive and its licence).

    The charge moves once per caster and spell, however often the request is retried or raced: a
    spell you bought already answers your purchase with ``charged: false``. ``IDEMPOTENCY_KEY_REQUIRED``
    without the header; ``NOT_PURCHASABLE`` (409) for a spell priced otherwise.
    """
    with platform.db.unit_of_work() as uow:
        return platform.clones.purchase(uow, principal, spell_id, idempotency_key)


@router.get("/v1/publishers/{publisher}/payouts", response_model=PayoutPage)
def get_payouts(
    publisher: str,
    principal: CurrentPrincipal,
    platform: CurrentPlatform,
    limit: int = Query(default=50, ge=1, le=500),
) -> PayoutPage:
    """What your tenant was paid out as the maker behind this publisher, newest first."""
    with platform.db.unit_of_work(write=False) as uow:
        return platform.payouts.of_publisher(uow, principal, publisher, limit=limit)


@router.get("/v1/audit", response_model=AuditPage)
def get_audit(
    principal: CurrentPrincipal,
    platform: CurrentPlatform,
    action: str | None = Query(default=None, max_length=60),
    actor_id: str | None = Query(default=None, max_length=40),
    limit: int = Query(default=100, ge=1, le=1000),
    cursor: str | None = Query(default=None, pattern=r"^\d{1,18}$"),
) -> AuditPage:
    """Audit records (``audit:read``); admins see every tenant, auditors their own."""
    with platform.db.unit_of_work(write=False) as uow:
        return platform.audit.page(
            uow, principal, action=action, actor_id=actor_id, after_seq=int(cursor or 0), limit=limit
        )
