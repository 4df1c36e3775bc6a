"""``spell casts retry ID``: the same request again, as a new cast."""

from __future__ import annotations

import click

from spell.cli.commands._remote import remote_client, remote_options
from spell.cli.output import emit

__all__ = ["command"]


@click.command(name="retry")
@click.argument("cast_id")
@remote_options
def command(cast_id: str, profile: str | None, as_json: bool) -> None:
    """Cast CAST_ID's spell again with the same input; the new cast's retry_of names CAST_ID.

    Only an ended cast that did not succeed, retried once, can be (NOT_RETRYABLE otherwise, exit 7).

    \b
    Example:
      spell casts retry cast_01J... --json
    """
    with remote_client(profile) as client:
        cast = client.casts.retry(cast_id)
    emit(cast.model_dump(), as_json=as_json, human=f"{cast.id} {cast.status} (retry of {cast_id})")
