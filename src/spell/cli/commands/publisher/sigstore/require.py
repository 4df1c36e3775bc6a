"""``spell publisher sigstore require PUBLISHER [--off]``."""

from __future__ import annotations

import click

from spell.cli.commands._remote import remote_client, remote_options
from spell.cli.output import emit

__all__ = ["command"]


@click.command(name="require")
@click.argument("publisher")
@click.option("--off", is_flag=True, help="Stop requiring it: bundles without one publish again.")
@remote_options
def command(publisher: str, off: bool, profile: str | None, as_json: bool) -> None:
    """Refuse every publish of PUBLISHER without a spell.sigstore.json that verifies.

    Refused (409 CONFLICT) while no identity is active or the server pins no trusted root.

    \b
    Example:
      spell publisher sigstore require acme
      spell publisher sigstore require acme --off
    """
    with remote_client(profile) as client:
        policy = client.spells.require_sigstore(publisher, required=not off)
    state = "required" if policy.required else "no longer required"
    emit(policy.model_dump(), as_json=as_json, human=f"{publisher}: Sigstore {state}")
