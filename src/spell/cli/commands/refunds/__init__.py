"""``spell refunds``: refund charges and card top-ups on the server machine (one verb per module)."""

from __future__ import annotations

import click

from spell.cli.lazy import LazyGroup

__all__ = ["group"]

_V = "spell.cli.commands.refunds"

VERBS: dict[str, tuple[str, str]] = {
    "create": (f"{_V}.create:command", "Refund a cast's charge or a card top-up, in full or in part."),
    "list": (f"{_V}.list:command", "Refunds made, newest first."),
}


@click.group(name="refunds", cls=LazyGroup, lazy=VERBS)
def group() -> None:
    """Operator refunds, against the platform database: a cast's charge goes back to the caster's
    wallet (the maker gives back their share), a card top-up goes back to the card.

    \b
    Examples:
      spell refunds create --cast cast_01J... --reason "spell returned garbage"
      spell refunds create --payment txn_01J... --amount 5.00
      spell refunds list --json
    """
