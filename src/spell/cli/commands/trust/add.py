"""``spell trust add <publisher> <public-key> [--key-id]``."""

from __future__ import annotations

import click

from spell.cli.commands.trust._store import home_trust_store
from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="add")
@click.argument("publisher")
@click.argument("public_key")
@click.option("--key-id", default="default", show_default=True, help="Key id the signatures name.")
@json_option
def command(publisher: str, public_key: str, key_id: str, as_json: bool) -> None:
    """Trust PUBLIC_KEY (Ed25519, SPKI DER as base64url) as KEY_ID of PUBLISHER.

    An existing key with the same id is replaced (and so un-revoked).

    \b
    Example:
      spell trust add acme "$(cat .spell-keys/acme__default.public.b64url.txt)"
    """
    key = home_trust_store().add_key(publisher, public_key, key_id=key_id)
    data = {"publisher": publisher, **key.to_dict()}
    emit(data, as_json=as_json, human=f"trusted publisher={publisher} key_id={key.key_id}")
