"""``spell privacy``: data-subject rights served by the operator (one verb per module)."""

from __future__ import annotations

import click

from spell.cli.lazy import LazyGroup

__all__ = ["group"]

_V = "spell.cli.commands.privacy"

VERBS: dict[str, tuple[str, str]] = {
    "export": (f"{_V}.export:command", "Write everything kept about a user as one JSON document."),
    "erase": (f"{_V}.erase:command", "Erase a user: anonymise now, purge after the grace period."),
    "purge": (f"{_V}.purge:command", "Purge the erased users whose grace period ended."),
}


@click.group(name="privacy", cls=LazyGroup, lazy=VERBS)
def group() -> None:
    """Serve data-subject requests (GDPR, CCPA, APPI) that reach the operator rather than the API:
    users who cannot sign in, requests by mail, the scheduled purge.

    \b
    Typical use:
      spell privacy export alice@example.com --out alice.json
      spell privacy erase alice@example.com --yes
      spell privacy purge --json
    """
