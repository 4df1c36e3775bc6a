"""``spell registry catalog [--name NAME]``."""

from __future__ import annotations

import click

from spell.cli.console import table
from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="catalog")
@click.option("--name", "name", help="Index to list (default: default).")
@json_option
def command(name: str | None, as_json: bool) -> None:
    """List every spell version one index offers, with its source and pins.

    Ids are in order and each id's versions highest first, so the first row of an id is what
    `spell install registry:<id>` (latest) would take. A "-" is a pin the entry does not carry;
    whether install needs it is set by SPELL_REGISTRY_REQUIRED_PINS.

    \b
    Examples:
      spell registry catalog
      spell registry catalog --name mirror --json | jq '.spells[].id'
    """
    from spell.bundle.registry import catalog_entries, fetch_index, load_registry_config
    from spell.config.home import SpellHome
    from spell.config.registry import RegistrySettings

    ref = load_registry_config(SpellHome.from_env().registry_file).index(name)
    index = fetch_index(ref.url, timeout_s=float(RegistrySettings.from_env().fetch_timeout_s))
    entries = catalog_entries(index)
    data = {
        "index": ref.name,
        "url": ref.url,
        "spells": [entry.model_dump(mode="json") for entry in entries],
    }
    rows = [(f"{e.id}@{e.version}", e.source, e.commit or "-", e.digest or "-") for e in entries]
    human = table(("id@version", "source", "commit", "digest"), rows) if rows else "No spells in this index"
    emit(data, as_json=as_json, human=human)
