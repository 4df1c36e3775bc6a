"""``spell payouts``: pay makers what they are owed, on the server machine (one verb per module)."""

from __future__ import annotations

import click

from spell.cli.lazy import LazyGroup

__all__ = ["group"]

_V = "spell.cli.commands.payouts"

VERBS: dict[str, tuple[str, str]] = {
    "run": (
        f"{_V}.run:command",
        "Pay makers their earnings (Stripe Connect transfer, or recorded as manual).",
    ),
    "account": (f"{_V}.account:command", "Set the Stripe Connect account a publisher's payouts go to."),
}


@click.group(name="payouts", cls=LazyGroup, lazy=VERBS)
def group() -> None:
    """Maker payouts, against the platform database: what each maker is owed is their earnings balance;
    a payout moves it to paid-out in the ledger and transfers it where Stripe Connect is set up.

    \b
    Examples:
      spell payouts run --dry-run
      spell payouts account acme acct_1Nv0FGQ9RKHgCVdK
      spell payouts run --publisher acme --json
    """
