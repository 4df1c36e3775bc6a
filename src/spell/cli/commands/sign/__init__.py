"""``spell sign``: make signing keys and sign bundles (one module per verb)."""

from __future__ import annotations

import click

from spell.cli.lazy import LazyGroup

__all__ = ["group"]

_V = "spell.cli.commands.sign"

VERBS: dict[str, tuple[str, str]] = {
    "keygen": (f"{_V}.keygen:command", "Make an Ed25519 key pair for signing bundles."),
    "bundle": (f"{_V}.bundle:command", "Write spell.sig.json for a bundle folder."),
}


@click.group(name="sign", cls=LazyGroup, lazy=VERBS)
def group() -> None:
    """Make signing keys and sign bundles.

    \b
    Typical flow:
      spell sign keygen acme                   # writes .spell-keys/acme__default.*
      spell sign bundle ./hello --private-key .spell-keys/acme__default.private.pem
    """
