"""``spell keys``: API keys of platform users (one verb per module)."""

from __future__ import annotations

import click

from spell.cli.lazy import LazyGroup

__all__ = ["group"]

VERBS: dict[str, tuple[str, str]] = {
    "create": ("spell.cli.commands.keys.create:command", "Create an API key for a user (shown once)."),
}


@click.group(name="keys", cls=LazyGroup, lazy=VERBS)
def group() -> None:
    """Manage platform API keys from the server machine (remote: POST/GET/DELETE /v1/keys).

    \b
    Example:
      spell keys create ops@example.com --name laptop --scope cast:invoke --scope spell:read
    """
