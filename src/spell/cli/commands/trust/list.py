"""``spell trust list``."""

from __future__ import annotations

import click

from spell.cli.commands.trust._store import home_trust_store
from spell.cli.console import table
from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="list")
@json_option
def command(as_json: bool) -> None:
    """List trusted publishers, one line per key: publisher, key id, status (active|revoked)."""
    publishers = home_trust_store().list_publishers()
    rows = [
        {"publisher": p.publisher, "key_id": k.key_id, "status": k.status} for p in publishers for k in p.keys
    ]
    cells = [(r["publisher"], r["key_id"], r["status"]) for r in rows]
    human = table(("publisher", "key_id", "status"), cells) if rows else "No trusted publishers"
    emit(rows, as_json=as_json, human=human)
