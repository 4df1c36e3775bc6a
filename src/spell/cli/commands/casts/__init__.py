"""``spell casts``: casts on the server of your profile (one verb per module)."""

from __future__ import annotations

import click

from spell.cli.lazy import LazyGroup

__all__ = ["group"]

_V = "spell.cli.commands.casts"
VERBS: dict[str, tuple[str, str]] = {
    "list": (f"{_V}.list:command", "Your tenant's casts, newest first."),
    "get": (f"{_V}.get:command", "One cast: status, output, error and artifact links."),
    "cancel": (f"{_V}.cancel:command", "Cancel a queued or running cast."),
    "retry": (f"{_V}.retry:command", "Cast the same request again (a new cast linked to the old one)."),
    "logs": (f"{_V}.logs:command", "Print a cast's logs; -f follows a running cast."),
}


@click.group(name="casts", cls=LazyGroup, lazy=VERBS)
def group() -> None:
    """Casts on the Spell server of your profile (spell login first).

    \b
    Examples:
      spell casts list --status running
      spell casts logs cast_01J... -f
    """
