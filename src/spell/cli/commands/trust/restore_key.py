"""``spell trust restore-key <publisher> --key-id K``."""

from __future__ import annotations

import click

from spell.cli.commands.trust._store import home_trust_store, publisher_key
from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="restore-key")
@publisher_key("restore")
@json_option
def command(publisher: str, key_id: str, as_json: bool) -> None:
    """Make a revoked key of PUBLISHER active again."""
    key = home_trust_store().restore_key(publisher, key_id)
    data = {"publisher": publisher, **key.to_dict()}
    emit(data, as_json=as_json, human=f"restored publisher={publisher} key_id={key.key_id}")
