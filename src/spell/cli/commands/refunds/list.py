"""``spell refunds list``: refunds made, newest first."""

from __future__ import annotations

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="list")
@click.option("--cast", "cast_id", help="Only the refunds of this cast.")
@click.option("--payment", "payment_id", help="Only the refunds of this card top-up.")
@click.option(
    "--limit", type=click.IntRange(1, 500), default=50, show_default=True, help="At most this many."
)
@json_option
def command(cast_id: str | None, payment_id: str | None, limit: int, as_json: bool) -> None:
    """List refunds on the platform database, newest first.

    \b
    Examples:
      spell refunds list
      spell refunds list --cast cast_01J... --json
    """
    from spell.cli.commands._remote import money, rows
    from spell.cli.commands.admin._platform import open_platform

    with open_platform() as platform, platform.db.unit_of_work(write=False) as uow:
        page = platform.refunds.list(uow, cast_id=cast_id, payment_id=payment_id, limit=limit)
    table = rows(
        ("WHEN", "ID", "OF", "TO", "AMOUNT", "MAKER"),
        [
            (
                r.created_at,
                r.id,
                r.target_id,
                r.user_id,
                money(r.amount_micros, r.currency),
                money(r.maker_micros, r.currency),
            )
            for r in page.items
        ],
        empty="no refunds",
    )
    emit(page.model_dump(), as_json=as_json, human=table)
