"""``spell registry add NAME URL``."""

from __future__ import annotations

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="add")
@click.argument("name")
@click.argument("url")
@json_option
def command(name: str, url: str, as_json: bool) -> None:
    """Add index NAME at URL (names are unique; run `spell registry set` first)."""
    from spell.bundle.registry import add_index
    from spell.config.home import SpellHome

    config = add_index(SpellHome.from_env().registry_file, name, url)
    added = config.indexes[-1]
    emit(added.model_dump(mode="json"), as_json=as_json, human=f"{added.name}\t{added.url}")
