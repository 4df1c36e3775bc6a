"""``spell license``: entitlement tokens for billed spells (one module per verb)."""

from __future__ import annotations

import click

from spell.cli.lazy import LazyGroup

__all__ = ["group"]

_V = "spell.cli.commands.license"

VERBS: dict[str, tuple[str, str]] = {
    "add": (f"{_V}.add:command", "Verify an entitlement token and store it under a name."),
    "list": (f"{_V}.list:command", "List stored licences (never the tokens)."),
    "inspect": (f"{_V}.inspect:command", "Show one licence: issuer, mode, amount, window, revoked."),
    "revoke": (f"{_V}.revoke:command", "Stop a licence from paying for casts (kept, restorable)."),
    "restore": (f"{_V}.restore:command", "Make a revoked licence usable again."),
    "remove": (f"{_V}.remove:command", "Delete a stored licence."),
}


@click.group(name="license", cls=LazyGroup, lazy=VERBS)
def group() -> None:
    """Manage entitlement tokens that let billed spells be cast.

    A token is ent1.<payload>.<signature>: base64url JSON claims (issuer, key_id, mode, currency,
    max_amount, not_before, expires_at) signed with Ed25519 by a key the trust store holds for the
    issuer (`spell trust add <issuer> ...`). Tokens whose key is revoked are refused. Records live
    in $SPELL_HOME/licenses/. `spell cast --allow-billing` needs one that matches the spell's
    billing mode and currency and covers its max_amount.

    \b
    Example:
      spell license add team "$(cat token.txt)"
      spell license list
    """
