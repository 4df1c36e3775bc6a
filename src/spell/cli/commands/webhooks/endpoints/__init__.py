"""``spell webhooks endpoints``: a tenant's webhook endpoints (one verb per module)."""

from __future__ import annotations

import click

from spell.cli.lazy import LazyGroup

__all__ = ["group"]

_V = "spell.cli.commands.webhooks.endpoints"

VERBS: dict[str, tuple[str, str]] = {
    "add": (f"{_V}.add:command", "Register a receiver URL for a tenant (its secret is shown once)."),
    "list": (f"{_V}.list:command", "A tenant's endpoints (never their secrets)."),
    "remove": (f"{_V}.remove:command", "Stop sending to an endpoint; its log stays."),
}


@click.group(name="endpoints", cls=LazyGroup, lazy=VERBS)
def group() -> None:
    """A tenant's webhook endpoints: each has its own signing secret and event filter."""
