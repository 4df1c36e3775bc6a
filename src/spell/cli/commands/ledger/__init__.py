"""``spell ledger``: check the money ledger (one verb per module)."""

from __future__ import annotations

import click

from spell.cli.lazy import LazyGroup

__all__ = ["group"]

VERBS: dict[str, tuple[str, str]] = {
    "verify": ("spell.cli.commands.ledger.verify:command", "Recompute every balance from postings."),
    "list": ("spell.cli.commands.ledger.list:command", "Your postings on the server of your profile."),
}


@click.group(name="ledger", cls=LazyGroup, lazy=VERBS)
def group() -> None:
    """The double-entry ledger: your postings on a server, or the operator's check of its database.

    `spell ledger list` reads your postings through the REST API (a profile, see spell login);
    `spell ledger verify` runs on the server machine, against the platform database.

    \b
    Examples:
      spell ledger list --json
      spell ledger verify
    """
