"""``spell ledger verify``: every running balance equals the sum of its postings."""

from __future__ import annotations

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="verify")
@json_option
def command(as_json: bool) -> None:
    """Recompute every account balance from its postings and check each transaction sums to zero.

    Exits 0 when the ledger is consistent; otherwise exits 4 with LEDGER_DRIFT, listing each account
    whose balance differs and each unbalanced transaction.

    \b
    Example:
      spell ledger verify --json
    """
    from spell.cli.commands.admin._platform import open_platform

    with open_platform() as platform, platform.db.unit_of_work(write=False) as uow:
        report = platform.ledger.verify(uow)
    emit(
        {"ok": True, **report.model_dump()},
        as_json=as_json,
        human=f"ledger ok: {report.accounts} accounts balance",
    )
