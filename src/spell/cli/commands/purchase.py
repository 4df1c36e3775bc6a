"""``spell purchase SPELL``: buy a ``one_time`` spell on the server."""

from __future__ import annotations

import click

from spell.cli.commands._remote import money, remote_client, remote_options
from spell.cli.output import emit

__all__ = ["command"]


@click.command(name="purchase")
@click.argument("spell_id", metavar="SPELL")
@click.option(
    "--idempotency-key",
    help="Reuse the key of an earlier attempt to retry it safely (default: a fresh key).",
)
@remote_options
def command(spell_id: str, idempotency_key: str | None, profile: str | None, as_json: bool) -> None:
    """Buy a one_time SPELL (PUBLISHER/NAME) on the server, once: later casts of it are free.

    A clone-mode spell is then yours to run here: `spell install server:SPELL` downloads its
    signed archive with your licence. Buying a spell you own already charges nothing.

    \b
    Examples:
      spell purchase acme/report
      spell purchase acme/report --json
      spell install server:acme/report
    """
    with remote_client(profile) as client:
        bought = client.spells.purchase(spell_id, idempotency_key=idempotency_key)
    owned = bought["entitlement"]
    price = money(owned["price_micros"], owned["currency"])
    human = f"bought {spell_id} for {price}" if bought["charged"] else f"{spell_id} is yours already"
    if bought["clone"]:
        human += f"\ninstall it: spell install server:{spell_id}"
    emit(bought, as_json=as_json, human=human)
