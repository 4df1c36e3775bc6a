"""``spell registry``: configure registry indexes and query them (one module per verb)."""

from __future__ import annotations

import click

from spell.cli.lazy import LazyGroup

__all__ = ["group"]

_V = "spell.cli.commands.registry"

VERBS: dict[str, tuple[str, str]] = {
    "set": (f"{_V}.set:command", "Set (replace) the default registry index URL."),
    "show": (f"{_V}.show:command", "Show the configured registry indexes."),
    "add": (f"{_V}.add:command", "Add a named registry index."),
    "remove": (f"{_V}.remove:command", "Remove a named registry index (not 'default')."),
    "validate": (f"{_V}.validate:command", "Fetch and validate the configured indexes."),
    "resolve": (f"{_V}.resolve:command", "Show what a registry: source resolves to, without installing."),
}


@click.group(name="registry", cls=LazyGroup, lazy=VERBS)
def group() -> None:
    """Configure registry indexes and query them.

    The list lives in $SPELL_HOME/registry.json ({"version": "v1", "indexes": [{name, url}]});
    `spell install registry:<id>[@version]` uses the index named default unless --registry says
    otherwise. An index is a spell-index.v1.json: {"version": "v1", "spells": [{id, version,
    source: "<git-url>#<ref>", commit?, digest?}]}.

    \b
    Example:
      spell registry set https://registry.example.com/spell-index.v1.json
      spell registry add mirror https://mirror.example.com/spell-index.v1.json
      spell registry resolve registry:acme/hello@latest
    """
