"""``spell refunds create --cast ID|--payment ID [--amount A]``: refund a charge once."""

from __future__ import annotations

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="create")
@click.option("--cast", "cast_id", help="The cast whose charge to refund (back to the caster's wallet).")
@click.option("--payment", "payment_id", help="The card top-up to refund (back to the card), e.g. txn_01J...")
@click.option("--amount", help="Decimal units to refund, e.g. 2.50 (default: all that is left).")
@click.option("--reason", help="Why, kept with the refund and in the audit log.")
@click.option(
    "--key",
    help="Idempotency key (default: derived from the target and amount, so re-running the same"
    " command replays the first refund instead of refunding twice).",
)
@json_option
def command(
    cast_id: str | None,
    payment_id: str | None,
    amount: str | None,
    reason: str | None,
    key: str | None,
    as_json: bool,
) -> None:
    """Refund a cast's charge or a card top-up, in full or in part.

    A cast refund reverses the ledger capture: the caster's wallet gets the amount back, the maker
    and the platform give back their shares (what the maker was already paid out, the platform
    bears). A card refund takes the amount out of the caster's wallet and refunds it through Stripe.
    Refusals: CHARGE_NOT_FOUND, REFUND_EXCEEDS_CHARGE, ALREADY_REFUNDED, REFUND_NOT_COVERED.

    \b
    Examples:
      spell refunds create --cast cast_01J... --reason "platform outage"
      spell refunds create --payment txn_01J... --amount 5.00 --json
      spell refunds create --cast cast_01J... --amount 0.10 --key ticket-4711
    """
    from spell.cli.commands._remote import money
    from spell.cli.commands.admin._platform import open_platform
    from spell.errors import InvalidInput
    from spell.kit.money import parse_micros
    from spell.platform.billing.schemas import RefundCreate

    if (cast_id is None) == (payment_id is None):
        raise InvalidInput("name exactly one of --cast and --payment")
    try:
        micros = None if amount is None else parse_micros(amount)
    except ValueError as exc:
        raise InvalidInput(f"--amount: {exc}", details={"amount": amount}) from None
    if micros is not None and micros <= 0:
        raise InvalidInput("--amount must be positive", details={"amount": amount})
    body = RefundCreate(cast_id=cast_id, payment_id=payment_id, amount_micros=micros, reason=reason)
    key = key or f"cli:{cast_id or payment_id}:{'rest' if micros is None else micros}"
    with open_platform() as platform, platform.db.unit_of_work() as uow:
        refund = platform.refunds.create(uow, body, idempotency_key=key, operator_id=None)
    verb = "already refunded" if refund.replay else "refunded"
    human = (
        f"{verb} {money(refund.amount_micros, refund.currency)} of {refund.target_id} to {refund.user_id}"
        f" ({refund.id}; the maker gave back {money(refund.maker_micros, refund.currency)})"
    )
    emit(refund.model_dump(), as_json=as_json, human=human)
