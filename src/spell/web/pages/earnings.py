"""A maker's earnings: balance per currency, what each spell brought in, and a chart per UTC day of
the last 30 days (``spell:publish``, the caller's tenant only, as ``GET /v1/earnings``)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from spell.api.deps import blocking
from spell.kit.time import parse_rfc3339
from spell.platform.auth.schemas import Principal
from spell.platform.ledger.schemas import Earnings
from spell.platform.server import Platform
from spell.web.charts import BarChart, daily_chart
from spell.web.routing import PageRoute
from spell.web.session import CurrentSession
from spell.web.templating import NAV, NavItem, Pages

router = APIRouter(route_class=PageRoute, include_in_schema=False)
NAV.append(NavItem("Earnings", "/maker/earnings", "spell:publish"))


@dataclass(frozen=True)
class EarningsView:
    """What the earnings page shows: one chart per currency the maker earned in."""

    earnings: Earnings
    charts: list[BarChart]


def _load(platform: Platform, principal: Principal) -> EarningsView:
    principal.require("spell:publish")
    with platform.db.unit_of_work(write=False) as uow:
        earnings = platform.ledger.earnings(uow, principal.tenant_id)
        daily = platform.ledger.earnings_by_day(uow, principal.tenant_id)
    start, end = parse_rfc3339(daily.start), parse_rfc3339(daily.end)
    currencies = sorted({b.currency for b in earnings.balances} | {d.currency for d in daily.items}) or [
        "USD"
    ]
    charts = [
        daily_chart(f"Earnings per day ({c})", daily.items, currency=c, start=start, end=end)
        for c in currencies
    ]
    return EarningsView(earnings, charts)


@router.get("/maker/earnings", response_class=HTMLResponse)
async def earnings_page(request: Request, session: CurrentSession) -> HTMLResponse:
    """Your earnings as a maker: balances, per spell, and per day over the last 30 days."""
    view = await blocking(_load, request.app.state.platform, session.principal)
    pages: Pages = request.app.state.pages
    return pages.render(request, "maker/earnings.html", {"view": view})
