"""``spell trust inspect <publisher>``."""

from __future__ import annotations

import click

from spell.cli.commands.trust._store import home_trust_store
from spell.cli.console import table
from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="inspect")
@click.argument("publisher")
@json_option
def command(publisher: str, as_json: bool) -> None:
    """Show PUBLISHER's keys: id, status, algorithm and a short sha256 fingerprint of the key."""
    trust = home_trust_store().get(publisher)
    keys = [{**k.to_dict(), "status": k.status, "fingerprint": k.fingerprint} for k in trust.keys]
    columns = ("key_id", "status", "algorithm", "fingerprint")
    human = table(columns, [tuple(k[c] for c in columns) for k in keys])
    emit({"publisher": trust.publisher, "keys": keys}, as_json=as_json, human=human)
