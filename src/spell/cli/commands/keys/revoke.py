"""``spell keys revoke KEY_ID``: revoke one of your API keys on the server."""

from __future__ import annotations

import click

from spell.cli.commands._remote import remote_client, remote_options
from spell.cli.output import emit

__all__ = ["command"]


@click.command(name="revoke")
@click.argument("key_id")
@remote_options
def command(key_id: str, profile: str | None, as_json: bool) -> None:
    """Revoke KEY_ID at once (DELETE /v1/keys/KEY_ID); requests with it are refused from then on.

    \b
    Example:
      spell keys revoke key_01J...
    """
    from spell.cli.commands.keys.list import key_row

    with remote_client(profile) as client:
        key = client.keys.revoke(key_id)
    emit(key_row(key), as_json=as_json, human=f"{key.id} revoked at {key.revoked_at}")
