"""``spell violations``: policy violations and reinstatement, on the server machine (one verb per module)."""

from __future__ import annotations

import click

from spell.cli.lazy import LazyGroup

__all__ = ["group"]

_V = "spell.cli.commands.violations"

VERBS: dict[str, tuple[str, str]] = {
    "list": (f"{_V}.list:command", "List policy violations, newest first, with filters."),
    "reinstate": (f"{_V}.reinstate:command", "Lift a spell's or user's automatic suspension."),
}


@click.group(name="violations", cls=LazyGroup, lazy=VERBS)
def group() -> None:
    """What spells and users did that the platform refused, and the suspensions it led to.

    \b
    A spell collects a violation when a cast of it is refused egress or runs out of a limit; a user
    when a publish of theirs is refused for its signature or SBOM, or when they set off a rate-limit
    storm. SPELL_ABUSE_SUSPEND_THRESHOLD violations within SPELL_ABUSE_WINDOW_HOURS suspend it.

    \b
    Example:
      spell violations list --subject-type spell
      spell violations reinstate spell acme/hello --note "fixed in 1.0.1"
    """
