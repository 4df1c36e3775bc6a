"""``spell license``: entitlement tokens for billed spells (one module per verb)."""

from __future__ import annotations

from spell.cli.lazy import verb_group

__all__ = ["group"]

group = verb_group(
    "license",
    __name__,
    {
        "add": "Verify an entitlement token and store it under a name.",
        "list": "List stored licences (never the tokens).",
        "inspect": "Show one licence: issuer, mode, amount, window, revoked.",
        "revoke": "Stop a licence from paying for casts (kept, restorable).",
        "restore": "Make a revoked licence usable again.",
        "remove": "Delete a stored licence.",
    },
    help_text="""Manage entitlement tokens that let billed spells be cast.

A token is ent1.<payload>.<signature>: base64url JSON claims (issuer, key_id, mode, currency,
max_amount, not_before, expires_at) signed with Ed25519 by a key the trust store holds for the
issuer (`spell trust add <issuer> ...`). Tokens whose key is revoked are refused. Records live
in $SPELL_HOME/licenses/. `spell cast --allow-billing` needs one that matches the spell's
billing mode and currency and covers its max_amount.

\b
Example:
  spell license add team "$(cat token.txt)"
  spell license list
""",
)
