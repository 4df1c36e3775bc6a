"""``spell ledger``: check the money ledger (one verb per module)."""

from __future__ import annotations

import click

from spell.cli.lazy import LazyGroup

__all__ = ["group"]

VERBS: dict[str, tuple[str, str]] = {
    "verify": ("spell.cli.commands.ledger.verify:command", "Recompute every balance from postings."),
}


@click.group(name="ledger", cls=LazyGroup, lazy=VERBS)
def group() -> None:
    """Operator checks of the double-entry ledger in the platform database."""
