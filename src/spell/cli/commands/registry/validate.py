"""``spell registry validate [--name NAME]``."""

from __future__ import annotations

import click

from spell.cli.console import table
from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="validate")
@click.option("--name", "name", help="Validate only this index.")
@json_option
def command(name: str | None, as_json: bool) -> None:
    """Fetch each configured index and check it against the v1 schema.

    Prints one line per index: name, URL and number of spell entries. The first index that cannot
    be fetched or does not validate stops the command with its reason.
    """
    from spell.bundle.registry import fetch_index, load_registry_config
    from spell.config.home import SpellHome
    from spell.config.registry import RegistrySettings
    from spell.errors import SpellError

    config = load_registry_config(SpellHome.from_env().registry_file)
    timeout = float(RegistrySettings.from_env().fetch_timeout_s)
    indexes = config.indexes if name is None else (config.index(name),)
    results = []
    for ref in indexes:
        try:
            index = fetch_index(ref.url, timeout_s=timeout)
        except SpellError as exc:
            exc.message = f"registry validation failed for '{ref.name}': {exc.message}"
            exc.details = {**exc.details, "name": ref.name, "url": ref.url}
            raise
        results.append({"name": ref.name, "url": ref.url, "spell_count": len(index.spells)})
    human = table(("name", "url", "spells"), [(r["name"], r["url"], r["spell_count"]) for r in results])
    emit(results, as_json=as_json, human=human)
