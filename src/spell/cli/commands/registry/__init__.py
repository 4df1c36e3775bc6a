"""``spell registry``: configure registry indexes and query them (one module per verb)."""

from __future__ import annotations

from spell.cli.lazy import verb_group

__all__ = ["group"]

group = verb_group(
    "registry",
    __name__,
    {
        "set": "Set (replace) the default registry index URL.",
        "show": "Show the configured registry indexes.",
        "add": "Add a named registry index.",
        "remove": "Remove a named registry index (not 'default').",
        "validate": "Fetch and validate the configured indexes.",
        "resolve": "Show what a registry: source resolves to, without installing.",
        "catalog": "List every spell version an index offers, with source and pins.",
    },
    help_text="""Configure registry indexes and query them.

The list lives in $SPELL_HOME/registry.json ({"version": "v1", "indexes": [{name, url}]});
`spell install registry:<id>[@version]` uses the index named default unless --registry says
otherwise. An index is a spell-index.v1.json: {"version": "v1", "spells": [{id, version,
source: "<git-url>#<ref>", commit?, digest?}]}.

\b
Example:
  spell registry set https://registry.example.com/spell-index.v1.json
  spell registry add mirror https://mirror.example.com/spell-index.v1.json
  spell registry resolve registry:acme/hello@latest
  spell registry catalog --name mirror
""",
)
