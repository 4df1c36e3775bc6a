"""``spell payouts run [--publisher P] [--dry-run]``: pay makers their earnings."""

from __future__ import annotations

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="run")
@click.option(
    "--publisher", help="Pay only the maker owning this publisher (NOTHING_OWED when owed nothing)."
)
@click.option("--dry-run", is_flag=True, help="List what is owed; pay nothing.")
@json_option
def command(publisher: str | None, dry_run: bool, as_json: bool) -> None:
    """Pay every maker owed anything (their earnings, rounded down to whole cents), or one publisher's.

    Each payout is one ledger transaction from the maker's earnings to their paid-out account; where
    the publisher has a Stripe Connect account (spell payouts account) and Stripe is configured it is
    transferred, otherwise recorded as manual for you to pay by hand. Re-running is safe: what was
    paid is no longer owed. In a run over every maker, one maker's failure is listed and the others
    are still paid.

    \b
    Examples:
      spell payouts run --dry-run
      spell payouts run --publisher acme --json
    """
    from spell.cli.commands._remote import money, rows
    from spell.cli.commands.admin._platform import open_platform
    from spell.platform.billing.payouts import run_payouts

    with open_platform() as platform:
        result = run_payouts(
            platform.db, platform.payouts, publisher=publisher, dry_run=dry_run, operator_id=None
        )
    if dry_run:
        table = rows(
            ("MAKER", "PUBLISHER", "OWED", "TO"),
            [
                (o.maker_id, o.publisher, money(o.amount_micros, o.currency), o.destination or "manual")
                for o in result.owed
            ],
            empty="nothing owed",
        )
    else:
        table = rows(
            ("PAYOUT", "MAKER", "AMOUNT", "METHOD", "REF"),
            [
                (p.id, p.maker_id, money(p.amount_micros, p.currency), p.method, p.provider_ref)
                for p in result.payouts
            ],
            empty="nothing owed",
        )
        table += "".join(f"\nfailed: {f['maker_id']} {f['currency']}: {f['code']}" for f in result.failed)
    emit(result.model_dump(), as_json=as_json, human=table)
