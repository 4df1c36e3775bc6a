"""``spell budget show``: caps, window usage and balance."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from spell.cli.commands._remote import money, remote_client, remote_options, rows
from spell.cli.output import emit

if TYPE_CHECKING:
    from spell.client.models import BudgetView

__all__ = ["budget_text", "command"]


@click.command(name="show")
@remote_options
def command(profile: str | None, as_json: bool) -> None:
    """Show your caps, what each window has spent and reserved, and your prepaid balance.

    \b
    Example:
      spell budget show --json
    """
    with remote_client(profile) as client:
        view = client.budget.get()
    emit(view.model_dump(), as_json=as_json, human=budget_text(view))


def budget_text(view: BudgetView) -> str:
    """The balance, then one row per window."""
    cur = view.currency
    per_cast = money(view.caps.per_cast_micros, view.caps.currency)
    table = rows(
        ("WINDOW", "CAP", "SPENT", "RESERVED", "RESETS IN"),
        [
            (
                w.window,
                money(w.cap_micros, cur),
                money(w.spent_micros, cur),
                money(w.reserved_micros, cur),
                f"{w.resets_in_seconds} s" if w.resets_in_seconds is not None else None,
            )
            for w in view.windows
        ],
        empty="no windows",
    )
    return f"balance: {money(view.balance_micros, cur)}\nper-cast cap: {per_cast}\n{table}"
