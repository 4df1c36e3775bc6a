"""Budget caps: what each window has spent and reserved, and the form that changes the caps.

The same service calls and scope as ``GET``/``PUT /v1/budget``. Caps are typed as decimal amounts
("5.00"); an empty field means no cap.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from spell.api.deps import blocking
from spell.errors import AuthError, SpellError
from spell.kit.money import format_micros, parse_micros
from spell.platform.auth.schemas import Principal
from spell.platform.budget.schemas import BudgetCaps, BudgetView
from spell.platform.server import Platform
from spell.web.routing import PageRoute
from spell.web.session import CurrentSession, PostedForm
from spell.web.templating import NAV, NavItem, Pages

router = APIRouter(route_class=PageRoute, include_in_schema=False)
NAV.append(NavItem("Budget", "/budget", "cast:invoke"))

#: The caps of the form, in order, with what each one limits.
CAPS = {
    "per_cast": "Per cast",
    "daily": "Per UTC day",
    "monthly": "Per UTC month",
    "total": "In total",
}


def _view(platform: Platform, principal: Principal) -> BudgetView:
    principal.require("cast:invoke")
    with platform.db.unit_of_work(write=False) as uow:
        return platform.budgets.view(uow, principal.user_id)


def _save(platform: Platform, principal: Principal, caps: BudgetCaps) -> BudgetView:
    principal.require("cast:invoke")
    with platform.db.unit_of_work() as uow:
        return platform.budgets.set_caps(uow, principal.user_id, caps, tenant_id=principal.tenant_id)


def _amount_text(micros: int | None, currency: str) -> str:
    """A cap as the form shows it: ``5.00`` (no currency), empty for no cap."""
    if micros is None:
        return ""
    return format_micros(micros, currency).rsplit(" ", 1)[0]


def _read_caps(form: Any, currency: str) -> tuple[dict[str, int | None], dict[str, str]]:
    """The posted caps in micro-units, and a problem per field that is not an amount."""
    caps: dict[str, int | None] = {}
    problems: dict[str, str] = {}
    for name in CAPS:
        raw = form.get(name)
        text = raw.strip() if isinstance(raw, str) else ""
        if not text:
            caps[name] = None
            continue
        try:
            micros = parse_micros(text)
        except ValueError:
            problems[name] = f"not an amount in {currency}: write it like 5.00"
            continue
        if micros < 0:
            problems[name] = "a cap cannot be negative"
            continue
        caps[name] = micros
    return caps, problems


def _render(
    request: Request,
    view: BudgetView,
    *,
    values: dict[str, str] | None = None,
    problems: dict[str, str] | None = None,
    error: SpellError | None = None,
    saved: bool = False,
    status_code: int = 200,
) -> HTMLResponse:
    pages: Pages = request.app.state.pages
    caps = view.caps.model_dump()
    shown = values or {name: _amount_text(caps[f"{name}_micros"], view.currency) for name in CAPS}
    code = error.code if error is not None else "VALIDATION_ERROR" if problems else None
    context = {
        "view": view,
        "caps": CAPS,
        "values": shown,
        "problems": problems or {},
        "error": error,
        "saved": saved,
    }
    headers = {"X-Spell-Error": code} if code else None
    return pages.render(request, "money/budget.html", context, status_code=status_code, headers=headers)


@router.get("/budget", response_class=HTMLResponse)
async def budget_page(request: Request, session: CurrentSession, saved: int = 0) -> HTMLResponse:
    """Your caps, what each UTC window has spent and reserved, and your prepaid balance."""
    view = await blocking(_view, request.app.state.platform, session.principal)
    return _render(request, view, saved=bool(saved))


@router.post("/budget", response_class=HTMLResponse)
async def save_budget(request: Request, session: CurrentSession, form: PostedForm) -> Response:
    """Replace your caps as ``PUT /v1/budget`` does; the form again with its problems when refused."""
    platform: Platform = request.app.state.platform
    view = await blocking(_view, platform, session.principal)
    values = {name: str(form.get(name) or "") for name in CAPS}
    micros, problems = _read_caps(form, view.currency)
    if problems:
        return _render(request, view, values=values, problems=problems, status_code=422)
    # parse_micros bounds every amount to what BudgetCaps accepts: this cannot fail validation.
    caps = BudgetCaps(currency=view.currency, **{f"{name}_micros": v for name, v in micros.items()})
    try:
        await blocking(_save, platform, session.principal, caps)
    except AuthError:
        raise
    except SpellError as exc:
        return _render(request, view, values=values, error=exc, status_code=exc.status_code)
    return RedirectResponse("/budget?saved=1", status_code=303)
