"""``spell admin credit USER AMOUNT``: put prepaid credit into a user's wallet."""

from __future__ import annotations

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="credit")
@click.argument("user")
@click.argument("amount")
@click.option("--currency", default="USD", show_default=True, help="ISO 4217 code of the amount.")
@click.option(
    "--reference",
    help="Your reference for this grant; repeating a reference never credits twice (default: a new one).",
)
@json_option
def command(user: str, amount: str, currency: str, reference: str | None, as_json: bool) -> None:
    """Credit AMOUNT (decimal units, e.g. 10.50) to USER's prepaid wallet (id or email).

    The grant is a ledger transaction from payment clearing into the wallet, recorded in the audit log.

    \b
    Examples:
      spell admin credit alice@example.com 25
      spell admin credit usr_01J... 0.75 --currency EUR --reference invoice-1042 --json
    """
    from spell.cli.commands.admin._platform import open_platform
    from spell.errors import InvalidInput
    from spell.kit.money import Money

    try:
        money = Money.parse(amount, currency.upper())
    except ValueError as exc:
        raise InvalidInput(f"AMOUNT: {exc}", details={"amount": amount, "currency": currency}) from None
    with open_platform() as platform, platform.db.unit_of_work() as uow:
        grant = platform.wallet.grant(uow, user, money, reference=reference)
    balance = Money(grant.balance.amount_micros, grant.balance.currency)
    emit(grant.model_dump(), as_json=as_json, human=f"credited {money} to {grant.user_id}; balance {balance}")
