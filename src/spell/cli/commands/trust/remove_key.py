"""``spell trust remove-key <publisher> --key-id K``."""

from __future__ import annotations

import click

from spell.cli.commands.trust._store import home_trust_store, publisher_key
from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="remove-key")
@publisher_key("forget")
@json_option
def command(publisher: str, key_id: str, as_json: bool) -> None:
    """Forget one key of PUBLISHER; signatures by it become untrusted.

    Removing the last key removes the publisher.
    """
    key = home_trust_store().remove_key(publisher, key_id)
    data = {"publisher": publisher, "key_id": key.key_id, "removed": True}
    emit(data, as_json=as_json, human=f"removed publisher={publisher} key_id={key.key_id}")
