"""``spell keys``: API keys of platform users (one verb per module)."""

from __future__ import annotations

import click

from spell.cli.lazy import LazyGroup

__all__ = ["group"]

VERBS: dict[str, tuple[str, str]] = {
    "create": (
        "spell.cli.commands.keys.create:command",
        "Create an API key: yours on the server, or USER's on the server machine (shown once).",
    ),
    "list": ("spell.cli.commands.keys.list:command", "Your API keys on the server (never their secrets)."),
    "revoke": ("spell.cli.commands.keys.revoke:command", "Revoke one of your API keys on the server."),
}


@click.group(name="keys", cls=LazyGroup, lazy=VERBS)
def group() -> None:
    """API keys: your own through the server of your profile, or any user's on the server machine.

    `spell keys list`, `spell keys revoke` and `spell keys create` without a USER talk to the server
    of your profile (GET/DELETE/POST /v1/keys, your own keys). `spell keys create USER` runs on the
    server machine against the platform database, for any user (the operator's way in).

    \b
    Examples:
      spell keys create --name ci --scope cast:invoke
      spell keys list
      spell keys create ops@example.com --name laptop --scope cast:invoke --scope spell:read
    """
