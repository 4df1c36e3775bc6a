"""``spell trust``: manage trusted publisher keys (one module per verb)."""

from __future__ import annotations

import click

from spell.cli.lazy import LazyGroup

__all__ = ["group"]

_V = "spell.cli.commands.trust"

VERBS: dict[str, tuple[str, str]] = {
    "add": (f"{_V}.add:command", "Trust a publisher's public key (adds or replaces one key id)."),
    "list": (f"{_V}.list:command", "List trusted publishers and their keys."),
    "inspect": (f"{_V}.inspect:command", "Show one publisher's keys with status and fingerprint."),
    "revoke-key": (f"{_V}.revoke_key:command", "Revoke a key: signatures by it become invalid."),
    "restore-key": (f"{_V}.restore_key:command", "Make a revoked key active again."),
    "remove-key": (f"{_V}.remove_key:command", "Forget one key of a publisher."),
    "remove": (f"{_V}.remove:command", "Forget a publisher and all its keys."),
}


@click.group(name="trust", cls=LazyGroup, lazy=VERBS)
def group() -> None:
    """Manage trusted publisher keys.

    Trust lives in $SPELL_HOME/trust/publishers/<base64url(publisher)>.json, one file per
    publisher, readable by spell-runtime too. A key is active, revoked (kept, and signatures by it
    are refused as invalid) or removed.

    \b
    Example:
      spell trust add acme MCowBQYDK2VwAyEA... --key-id 2026
      spell trust revoke-key acme --key-id 2026 --reason "laptop lost"
    """
