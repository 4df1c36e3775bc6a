"""``spell publisher sigstore remove PUBLISHER IDENTITY_ID``."""

from __future__ import annotations

import click

from spell.cli.commands._remote import remote_client, remote_options
from spell.cli.output import emit

__all__ = ["command"]


@click.command(name="remove")
@click.argument("publisher")
@click.argument("identity_id")
@remote_options
def command(publisher: str, identity_id: str, profile: str | None, as_json: bool) -> None:
    """Revoke IDENTITY_ID (from `list`): bundles it signed no longer publish.

    Allowed even when it is the last identity of a publisher that requires Sigstore: nothing
    publishes then until another identity is added.

    \b
    Example:
      spell publisher sigstore remove acme sgid_01J...
    """
    with remote_client(profile) as client:
        row = client.spells.revoke_sigstore_identity(publisher, identity_id)
    emit(row.model_dump(), as_json=as_json, human=f"{row.id} revoked at {row.revoked_at}: {row.identity}")
