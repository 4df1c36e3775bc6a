"""``spell budget set``: replace your spending caps (amounts in currency units, stored as micros)."""

from __future__ import annotations

import click

from spell.cli.commands._remote import remote_client, remote_options
from spell.cli.output import emit

__all__ = ["command"]


@click.command(name="set")
@click.option("--per-cast", help="Most one cast may cost, e.g. 0.50.", metavar="AMOUNT")
@click.option("--daily", help="Most per UTC day.", metavar="AMOUNT")
@click.option("--monthly", help="Most per UTC month.", metavar="AMOUNT")
@click.option("--total", help="Most ever.", metavar="AMOUNT")
@click.option("--currency", default="USD", show_default=True, help="Currency of the caps.")
@remote_options
def command(
    per_cast: str | None,
    daily: str | None,
    monthly: str | None,
    total: str | None,
    currency: str,
    profile: str | None,
    as_json: bool,
) -> None:
    """Replace your caps: each one given is set, each one left out is removed (no cap).

    Amounts are decimals in the currency's units (0.25 is 250000 micro-units); a cast that would
    pass a cap is refused with BUDGET_CAP_EXCEEDED (402, exit 9).

    \b
    Examples:
      spell budget set --daily 5 --per-cast 0.50
      spell budget set --json            # no caps at all
    """
    from pydantic import ValidationError

    from spell.cli.commands.budget.show import budget_text
    from spell.client.models import BudgetCaps
    from spell.errors import InvalidInput
    from spell.kit.money import parse_micros

    def micros(text: str | None) -> int | None:
        if text is None:
            return None
        try:
            value = parse_micros(text)
        except ValueError as exc:
            raise InvalidInput(str(exc), details={"amount": text}) from None
        if value < 0:
            raise InvalidInput(f"a cap cannot be negative: {text}", details={"amount": text})
        return value

    amounts = {
        "per_cast_micros": micros(per_cast),
        "daily_micros": micros(daily),
        "monthly_micros": micros(monthly),
        "total_micros": micros(total),
    }
    try:
        caps = BudgetCaps(currency=currency, **amounts)
    except ValidationError as exc:
        raise InvalidInput(
            f"invalid caps: {exc.errors()[0]['msg']}", details={"currency": currency}
        ) from None
    with remote_client(profile) as client:
        view = client.budget.set(caps)
    emit(view.model_dump(), as_json=as_json, human=budget_text(view))
