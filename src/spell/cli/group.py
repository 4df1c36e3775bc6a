"""The ``spell`` click group: every command, imported when it runs (see ``spell.cli.lazy``)."""

from __future__ import annotations

import click

from spell.cli.app import COMMANDS, SECTIONS
from spell.cli.lazy import LazyGroup

__all__ = ["cli"]


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    sections=SECTIONS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(package_name="spell-platform", prog_name="spell")
def cli() -> None:
    """Spell: package, sign, verify and cast sandboxed programs.

    \b
    Typical flow:
      spell sign keygen acme              # once, makes .spell-keys/
      spell sign bundle ./my-spell --private-key .spell-keys/acme__default.private.pem
      spell trust add acme <public-key>   # on the caster's machine
      spell install ./my-spell
      spell cast acme/my-spell -p name=world

    \b
    Remote flow (a Spell server):
      spell login --server https://spell.example.com
      spell publish ./my-spell
      spell cast acme/my-spell --remote -p name=world

    State lives in $SPELL_HOME (default ~/.spell). Add --json to data commands for scripts.
    """
