"""``spell license inspect NAME``."""

from __future__ import annotations

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="inspect")
@click.argument("name")
@json_option
def command(name: str, as_json: bool) -> None:
    """Show licence NAME: issuer, key, mode, currency, max_amount, window and revocation."""
    from spell.cli.commands.license._store import describe, home_stores

    licenses, _ = home_stores()
    data, human = describe(licenses.inspect(name))
    emit(data, as_json=as_json, human=human)
