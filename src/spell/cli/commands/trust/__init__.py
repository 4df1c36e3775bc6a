"""``spell trust``: manage trusted publisher keys (one module per verb)."""

from __future__ import annotations

from spell.cli.lazy import verb_group

__all__ = ["group"]

group = verb_group(
    "trust",
    __name__,
    {
        "add": "Trust a publisher's public key (adds or replaces one key id).",
        "list": "List trusted publishers and their keys.",
        "inspect": "Show one publisher's keys with status and fingerprint.",
        "revoke-key": "Revoke a key: signatures by it become invalid.",
        "restore-key": "Make a revoked key active again.",
        "remove-key": "Forget one key of a publisher.",
        "remove": "Forget a publisher and all its keys.",
    },
    help_text="""Manage trusted publisher keys.

Trust lives in $SPELL_HOME/trust/publishers/<base64url(publisher)>.json, one file per
publisher, readable by spell-runtime too. A key is active, revoked (kept, and signatures by it
are refused as invalid) or removed.

\b
Example:
  spell trust add acme MCowBQYDK2VwAyEA... --key-id 2026
  spell trust revoke-key acme --key-id 2026 --reason "laptop lost"
""",
)
