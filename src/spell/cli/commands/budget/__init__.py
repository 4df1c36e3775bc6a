"""``spell budget``: your spending caps on the server (one verb per module)."""

from __future__ import annotations

import click

from spell.cli.lazy import LazyGroup

__all__ = ["group"]

VERBS: dict[str, tuple[str, str]] = {
    "show": ("spell.cli.commands.budget.show:command", "Your caps, what each window used and your balance."),
    "set": ("spell.cli.commands.budget.set:command", "Replace your spending caps."),
}


@click.group(name="budget", cls=LazyGroup, lazy=VERBS)
def group() -> None:
    """Spending caps and prepaid balance on the Spell server of your profile.

    \b
    Examples:
      spell budget show
      spell budget set --daily 5 --per-cast 0.50
    """
