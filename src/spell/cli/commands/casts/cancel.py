"""``spell casts cancel ID``: stop a queued or running cast on the server."""

from __future__ import annotations

import click

from spell.cli.commands._remote import remote_client, remote_options
from spell.cli.output import emit

__all__ = ["command"]


@click.command(name="cancel")
@click.argument("cast_id")
@remote_options
def command(cast_id: str, profile: str | None, as_json: bool) -> None:
    """Cancel CAST_ID; a queued cast's hold is released. An ended cast is ALREADY_TERMINAL (exit 7).

    \b
    Example:
      spell casts cancel cast_01J...
    """
    with remote_client(profile) as client:
        cast = client.casts.cancel(cast_id)
    emit(cast.model_dump(), as_json=as_json, human=f"{cast.id} {cast.status}")
