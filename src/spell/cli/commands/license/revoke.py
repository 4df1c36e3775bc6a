"""``spell license revoke NAME [--reason TEXT]``."""

from __future__ import annotations

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="revoke")
@click.argument("name")
@click.option("--reason", help="Why (kept in the record).")
@json_option
def command(name: str, reason: str | None, as_json: bool) -> None:
    """Revoke licence NAME: it stays stored but no longer pays for casts. Undo with `restore`."""
    from spell.cli.commands.license._store import describe, home_stores
    from spell.kit.time import utcnow

    licenses, _ = home_stores()
    stored = licenses.revoke(name, now=utcnow(), reason=reason)
    data, _ = describe(stored)
    emit(data, as_json=as_json, human=f"revoked license={stored.name}")
