"""``spell license remove NAME``."""

from __future__ import annotations

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="remove")
@click.argument("name")
@json_option
def command(name: str, as_json: bool) -> None:
    """Delete licence NAME and its token."""
    from spell.cli.commands.license._store import home_stores

    licenses, _ = home_stores()
    licenses.remove(name)
    emit({"removed": name.strip()}, as_json=as_json, human=f"removed license={name.strip()}")
