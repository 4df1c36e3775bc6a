"""``spell registry remove NAME``."""

from __future__ import annotations

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="remove")
@click.argument("name")
@json_option
def command(name: str, as_json: bool) -> None:
    """Remove index NAME. The default index cannot be removed (replace it with `set`)."""
    from spell.bundle.registry import remove_index
    from spell.config.home import SpellHome

    config = remove_index(SpellHome.from_env().registry_file, name)
    emit(config.model_dump(mode="json"), as_json=as_json, human=f"removed\t{name.strip()}")
