"""``spell license restore NAME``."""

from __future__ import annotations

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="restore")
@click.argument("name")
@json_option
def command(name: str, as_json: bool) -> None:
    """Clear the revocation of licence NAME so billing can match it again."""
    from spell.cli.commands.license._store import describe, home_stores
    from spell.kit.time import utcnow

    licenses, _ = home_stores()
    stored = licenses.restore(name, now=utcnow())
    data, _ = describe(stored)
    emit(data, as_json=as_json, human=f"restored license={stored.name}")
