"""``spell admin revenue-share SPELL PERCENT``: the maker's share of one spell's revenue."""

from __future__ import annotations

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="revenue-share")
@click.argument("spell_id")
@click.argument("percent")
@json_option
def command(spell_id: str, percent: str, as_json: bool) -> None:
    """Set the maker's share of SPELL_ID's revenue to PERCENT (0-100, up to two decimals; default 80).

    Applies to casts reserved from now on; charges already held keep the share they were made with.
    SPELL_ID must be published in the grimoire; the change is recorded in the audit log.

    \b
    Example:
      spell admin revenue-share acme/summarize 90
    """
    from decimal import Decimal, InvalidOperation

    from spell.cli.commands.admin._platform import open_platform
    from spell.errors import InvalidInput

    try:
        bps = Decimal(percent) * 100
    except InvalidOperation:
        raise InvalidInput(
            f"PERCENT must be a number, got {percent!r}", details={"percent": percent}
        ) from None
    if bps != bps.to_integral_value():
        raise InvalidInput("PERCENT has at most two decimals", details={"percent": percent})
    with open_platform() as platform, platform.db.unit_of_work() as uow:
        share = platform.revenue_shares.set(uow, spell_id, int(bps))
    emit(
        share.model_dump(),
        as_json=as_json,
        human=f"{spell_id}: maker share {share.maker_share_bps / 100:g} %",
    )
