"""``spell earnings``: your tenant's earnings as a maker on the server."""

from __future__ import annotations

import click

from spell.cli.commands._remote import money, remote_client, remote_options, rows
from spell.cli.output import emit

__all__ = ["command"]


@click.command(name="earnings")
@remote_options
def command(profile: str | None, as_json: bool) -> None:
    """Show your earnings balance per currency and what each of your spells brought in.

    \b
    Example:
      spell earnings --json
    """
    with remote_client(profile) as client:
        report = client.earnings()
    balances = ", ".join(money(b.amount_micros, b.currency) for b in report.balances) or "nothing yet"
    table = rows(
        ("SPELL", "CASTS", "REVENUE"),
        [(s.spell_id, s.casts, money(s.amount_micros, s.currency)) for s in report.spells],
        empty="no paid casts yet",
    )
    emit(report.model_dump(), as_json=as_json, human=f"balance: {balances}\n{table}")
