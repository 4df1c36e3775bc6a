"""``spell casts get ID``: one cast on the server, with its artifact links."""

from __future__ import annotations

import click

from spell.cli.commands._remote import absolute_url, remote_client, remote_options
from spell.cli.output import emit
from spell.client.models import ended

__all__ = ["command"]


@click.command(name="get")
@click.argument("cast_id")
@click.option(
    "--wait", type=click.IntRange(min=0, max=60), default=0, help="Wait up to this many seconds for its end."
)
@remote_options
def command(cast_id: str, wait: int, profile: str | None, as_json: bool) -> None:
    """Show CAST_ID: status, output, error, and links to the files it produced.

    \b
    Examples:
      spell casts get cast_01J...
      spell casts get cast_01J... --wait 30 --json
    """
    from spell.cli.commands._remote_cast import result_text

    with remote_client(profile) as client:
        cast = client.casts.get(cast_id, wait=wait)
        artifacts = client.casts.artifacts(cast.id).items if ended(cast) else []
        server = client.settings.base_url
    links = [{**a.model_dump(), "url": absolute_url(server, a.url)} for a in artifacts]
    data = {**cast.model_dump(), "artifacts": links}
    human = result_text(cast, artifacts, server)
    if cast.error is not None:
        human += f"\nerror: {cast.error.message} [{cast.error.code}]"
    emit(data, as_json=as_json, human=human)
