"""The wallet: prepaid balance, top-up through the payment provider's hosted checkout, and what the
caster spent over the last 30 days (a chart per UTC day, a table per spell, the latest postings).

The same service calls and scope (``cast:invoke``) as ``GET /v1/budget``, ``/v1/usage``,
``/v1/ledger`` and ``POST /v1/billing/checkout-url``.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from spell.api.deps import blocking
from spell.errors import AuthError, SpellError
from spell.kit.money import Money, parse_micros
from spell.kit.time import parse_rfc3339
from spell.platform.auth.schemas import Principal
from spell.platform.billing.schemas import HostedPage
from spell.platform.budget.schemas import BudgetView
from spell.platform.ledger.schemas import LedgerPage, UsageReport
from spell.platform.server import Platform
from spell.web.charts import BarChart, daily_chart
from spell.web.routing import PageRoute
from spell.web.session import CurrentSession, PostedForm
from spell.web.templating import NAV, NavItem, Pages

router = APIRouter(route_class=PageRoute, include_in_schema=False)
NAV.append(NavItem("Wallet", "/wallet", "cast:invoke"))

RECENT = 20


@dataclass(frozen=True)
class WalletView:
    """What the wallet page shows."""

    budget: BudgetView
    by_spell: UsageReport
    chart: BarChart
    ledger: LedgerPage


def _load(platform: Platform, principal: Principal) -> WalletView:
    principal.require("cast:invoke")
    with platform.db.unit_of_work(write=False) as uow:
        budget = platform.budgets.view(uow, principal.user_id)
        daily = platform.ledger.usage(uow, principal.user_id, group_by="day")
        by_spell = platform.ledger.usage(uow, principal.user_id, group_by="spell")
        ledger = platform.ledger.entries(uow, principal.user_id, limit=RECENT)
    chart = daily_chart(
        f"Spend per day ({budget.currency})",
        daily.items,
        currency=budget.currency,
        start=parse_rfc3339(daily.start),
        end=parse_rfc3339(daily.end),
    )
    return WalletView(budget, by_spell, chart, ledger)


def _checkout(platform: Platform, principal: Principal, amount: Money, base: str) -> HostedPage:
    principal.require("cast:invoke")
    with platform.db.unit_of_work() as uow:
        return platform.payments.checkout_url(
            uow,
            principal.user_id,
            success_url=f"{base}/wallet?paid=1",
            cancel_url=f"{base}/wallet?canceled=1",
            top_up=amount,
        )


def _render(
    request: Request,
    view: WalletView,
    *,
    amount: str = "",
    problem: str | None = None,
    error: SpellError | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    pages: Pages = request.app.state.pages
    context = {"view": view, "amount": amount, "problem": problem, "error": error, "notice": notice}
    code = error.code if error is not None else "VALIDATION_ERROR" if problem else None
    headers = {"X-Spell-Error": code} if code else None
    return pages.render(request, "money/wallet.html", context, status_code=status_code, headers=headers)


@router.get("/wallet", response_class=HTMLResponse)
async def wallet_page(
    request: Request, session: CurrentSession, paid: int = 0, canceled: int = 0
) -> HTMLResponse:
    """Your balance, a top-up form, and what you spent over the last 30 days."""
    view = await blocking(_load, request.app.state.platform, session.principal)
    notice = (
        "Thank you: the payment is credited as soon as the card processor confirms it."
        if paid
        else "The top-up was canceled; nothing was charged."
        if canceled
        else None
    )
    return _render(request, view, notice=notice)


@router.post("/wallet/top-up", response_class=HTMLResponse)
async def top_up(request: Request, session: CurrentSession, form: PostedForm) -> Response:
    """Start a top-up on the provider's hosted checkout page (it comes back to the wallet)."""
    platform: Platform = request.app.state.platform
    view = await blocking(_load, platform, session.principal)
    text = str(form.get("amount") or "").strip()
    try:
        micros = parse_micros(text)
    except ValueError:
        micros = 0
    if micros <= 0:
        problem = f"write a positive amount in {view.budget.currency}, like 20.00"
        return _render(request, view, amount=text, problem=problem, status_code=422)
    base = str(request.base_url).rstrip("/")
    try:
        amount = Money(micros, view.budget.currency)
        hosted = await blocking(_checkout, platform, session.principal, amount, base)
    except AuthError:
        raise
    except SpellError as exc:
        return _render(request, view, amount=text, error=exc, status_code=exc.status_code)
    # Not a redirect: the console's CSP allows forms to submit to this server only (form-action
    # 'self'), and browsers apply that to a redirect answering the post. A page that moves on by
    # itself (meta refresh, no script) and links the hosted page keeps the policy strict.
    pages: Pages = request.app.state.pages
    return pages.render(request, "money/checkout.html", {"url": hosted.url, "amount": amount})
