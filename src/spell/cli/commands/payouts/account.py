"""``spell payouts account PUBLISHER [ACCOUNT]``: where a publisher's payouts are transferred."""

from __future__ import annotations

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="account")
@click.argument("publisher")
@click.argument("account", required=False)
@json_option
def command(publisher: str, account: str | None, as_json: bool) -> None:
    """Set PUBLISHER's Stripe Connect ACCOUNT (acct_...), or clear it when ACCOUNT is omitted.

    With an account, payouts of the maker owning PUBLISHER are sent by Stripe transfer; without one
    they are recorded as manual. The change is recorded in the audit log.

    \b
    Examples:
      spell payouts account acme acct_1Nv0FGQ9RKHgCVdK
      spell payouts account acme --json
    """
    from pydantic import ValidationError

    from spell.cli.commands.admin._platform import open_platform
    from spell.errors import InvalidInput
    from spell.platform.billing.schemas import PayoutAccount

    try:
        wanted = PayoutAccount(publisher=publisher, stripe_account_id=account)
    except ValidationError:
        raise InvalidInput(
            "ACCOUNT must be a Stripe Connect account id (acct_...)", details={"account": account}
        ) from None
    with open_platform() as platform, platform.db.unit_of_work() as uow:
        result = platform.payouts.set_account(uow, wanted, operator_id=None)
    emit(
        result.model_dump(),
        as_json=as_json,
        human=f"{publisher}: payouts go to {result.stripe_account_id or 'manual payment'}",
    )
