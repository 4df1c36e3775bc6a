"""``spell registry set URL``."""

from __future__ import annotations

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="set")
@click.argument("url")
@json_option
def command(url: str, as_json: bool) -> None:
    """Make URL the only index, named default (replaces the whole list).

    URL is an http(s):// address (or file:// for a local mirror) of a spell-index.v1.json.
    """
    from spell.bundle.registry import set_default_index
    from spell.config.home import SpellHome

    config = set_default_index(SpellHome.from_env().registry_file, url)
    ref = config.indexes[0]
    emit(config.model_dump(mode="json"), as_json=as_json, human=f"{ref.name}\t{ref.url}")
