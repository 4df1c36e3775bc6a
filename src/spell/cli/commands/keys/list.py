"""``spell keys list``: your API keys on the server (prefixes and scopes, never secrets)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from spell.cli.commands._remote import remote_client, remote_options, rows
from spell.cli.output import emit

if TYPE_CHECKING:
    from spell.client.models import KeyOut

__all__ = ["command", "key_row"]


@click.command(name="list")
@remote_options
def command(profile: str | None, as_json: bool) -> None:
    """List your API keys on the server of your profile (GET /v1/keys).

    \b
    Example:
      spell keys list --json
    """
    with remote_client(profile) as client:
        keys = client.keys.list().items
    table = rows(
        ("ID", "NAME", "PREFIX", "SCOPES", "EXPIRES", "REVOKED"),
        [(k.id, k.name, k.prefix, " ".join(k.scopes), k.expires_at, k.revoked_at) for k in keys],
        empty="no keys",
    )
    emit({"items": [key_row(k) for k in keys]}, as_json=as_json, human=table)


def key_row(key: KeyOut) -> dict[str, Any]:
    """A key without its secret (a new key's token is added by the caller that may show it)."""
    return key.model_dump(exclude={"token"})
