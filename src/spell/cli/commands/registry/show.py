"""``spell registry show``."""

from __future__ import annotations

import click

from spell.cli.console import table
from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="show")
@json_option
def command(as_json: bool) -> None:
    """Show the configured indexes (name and URL); says so when none is configured."""
    from spell.bundle.registry import read_registry_config
    from spell.config.home import SpellHome

    config = read_registry_config(SpellHome.from_env().registry_file)
    if config is None:
        emit({"version": "v1", "indexes": []}, as_json=as_json, human="No registry indexes configured")
        return
    human = table(("name", "url"), [(i.name, i.url) for i in config.indexes])
    emit(config.model_dump(mode="json"), as_json=as_json, human=human)
