"""``spell license list``."""

from __future__ import annotations

import click

from spell.cli.console import table
from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="list")
@json_option
def command(as_json: bool) -> None:
    """List stored licences with issuer, mode, currency, max_amount, expiry and revocation."""
    from spell.cli.commands.license._store import home_stores

    licenses, _ = home_stores()
    stored = licenses.list()
    rows = [s.to_dict() for s in stored]
    if not rows:
        emit(rows, as_json=as_json, human="No licenses")
        return
    keys = ("name", "issuer", "mode", "currency", "max_amount", "expires_at", "revoked", "updated_at")
    emit(rows, as_json=as_json, human=table(keys, [tuple(r[k] for k in keys) for r in rows]))
