"""``spell sign``: make signing keys and sign bundles (one module per verb)."""

from __future__ import annotations

from spell.cli.lazy import verb_group

__all__ = ["group"]

group = verb_group(
    "sign",
    __name__,
    {
        "keygen": "Make an Ed25519 key pair for signing bundles.",
        "bundle": "Write spell.sig.json for a bundle folder.",
    },
    help_text="""Make signing keys and sign bundles.

\b
Typical flow:
  spell sign keygen acme                   # writes .spell-keys/acme__default.*
  spell sign bundle ./hello --private-key .spell-keys/acme__default.private.pem
""",
)
