"""``spell license add NAME TOKEN``."""

from __future__ import annotations

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="add")
@click.argument("name")
@click.argument("token")
@json_option
def command(name: str, token: str, as_json: bool) -> None:
    """Verify TOKEN and store it as NAME (replacing NAME's previous token).

    Give - as TOKEN to read it from stdin (keeps it out of shell history and process lists).
    The issuer's key must be trusted and active, the signature valid and now inside the window.
    """
    import sys

    from spell.cli.commands.license._store import describe, home_stores
    from spell.kit.time import utcnow

    if token == "-":  # noqa: S105 - "-" means stdin, not a password
        token = sys.stdin.read()
    licenses, trust = home_stores()
    stored = licenses.add(name, token, trust=trust, now=utcnow())
    data, _ = describe(stored)
    emit(data, as_json=as_json, human=f"added license={stored.name}")
