"""``spell publisher sigstore list PUBLISHER``."""

from __future__ import annotations

import click

from spell.cli.commands._remote import remote_client, remote_options, rows
from spell.cli.output import emit

__all__ = ["command"]


@click.command(name="list")
@click.argument("publisher")
@remote_options
def command(publisher: str, profile: str | None, as_json: bool) -> None:
    """Show PUBLISHER's Sigstore identities (revoked ones too) and whether Sigstore is required.

    \b
    Example:
      spell publisher sigstore list acme --json
    """
    with remote_client(profile) as client:
        policy = client.spells.sigstore_identities(publisher)
    table = rows(
        ("ID", "IDENTITY", "ISSUER", "ADDED", "REVOKED"),
        [(i.id, i.identity, i.issuer, i.created_at, i.revoked_at) for i in policy.items],
        empty="no identities",
    )
    required = "required" if policy.required else "not required"
    emit(policy.model_dump(), as_json=as_json, human=f"{publisher}: Sigstore {required}\n{table}")
