"""``spell artifacts``: files casts produced on the server (one verb per module)."""

from __future__ import annotations

import click

from spell.cli.lazy import LazyGroup

__all__ = ["group"]

VERBS: dict[str, tuple[str, str]] = {
    "get": ("spell.cli.commands.artifacts.get:command", "Download a file a cast produced."),
}


@click.group(name="artifacts", cls=LazyGroup, lazy=VERBS)
def group() -> None:
    """Files your casts produced on the Spell server of your profile.

    \b
    Example:
      spell artifacts get cast_01J... out/report.txt -o report.txt
    """
