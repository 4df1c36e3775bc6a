"""``spell trust revoke-key <publisher> --key-id K [--reason TEXT]``."""

from __future__ import annotations

import click

from spell.cli.commands.trust._store import home_trust_store, publisher_key
from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="revoke-key")
@publisher_key("revoke")
@click.option("--reason", help="Why (kept in the trust file and shown by verify).")
@json_option
def command(publisher: str, key_id: str, reason: str | None, as_json: bool) -> None:
    """Revoke a key of PUBLISHER without forgetting it: its signatures become invalid.

    Undo with `spell trust restore-key`.
    """
    key = home_trust_store().revoke_key(publisher, key_id, reason=reason)
    data = {"publisher": publisher, **key.to_dict()}
    emit(data, as_json=as_json, human=f"revoked publisher={publisher} key_id={key.key_id}")
