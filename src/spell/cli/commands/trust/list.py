"""``spell trust list``."""

from __future__ import annotations

import click

from spell.cli.commands.trust._store import home_trust_store
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
    lines = ["publisher\tkey_id\tstatus", *(f"{r['publisher']}\t{r['key_id']}\t{r['status']}" for r in rows)]
    emit(rows, as_json=as_json, human="\n".join(lines) if rows else "No trusted publishers")
