"""``spell casts logs ID [-f]``: what a cast's steps (or its WASM module) wrote, from its events."""

from __future__ import annotations

import sys
from typing import Any

import click

from spell.cli.commands._remote import remote_client, remote_options
from spell.cli.output import emit
from spell.client.models import ended

__all__ = ["command"]


@click.command(name="logs")
@click.argument("cast_id")
@click.option("-f", "--follow", is_flag=True, help="Follow a queued or running cast until it ends.")
@remote_options
def command(cast_id: str, follow: bool, profile: str | None, as_json: bool) -> None:
    """Print CAST_ID's log lines as `STEP STREAM | TEXT` (the server keeps a capped amount).

    The lines come from the cast's server-sent events; -f prints them as they arrive and
    reconnects where it left off if the connection drops. Without -f a cast that has not ended
    is refused (CONFLICT, exit 7), since its logs are not complete yet. --json prints one
    document with every log event once the cast has ended.

    \b
    Examples:
      spell casts logs cast_01J...
      spell casts logs cast_01J... -f
    """
    from spell.cli.commands._remote_cast import log_lines
    from spell.errors import Conflict

    with remote_client(profile) as client:
        cast = client.casts.get(cast_id)
        if not ended(cast) and not follow:
            raise Conflict(
                f"cast {cast_id} is {cast.status}: its logs are not complete yet",
                details={"cast_id": cast_id, "status": cast.status},
                hint=f"follow it: spell casts logs {cast_id} -f",
            )
        logs: list[dict[str, Any]] = []
        status = cast.status
        for event in client.casts.events(cast_id):
            if event.type == "log":
                logs.append(event.data)
                for line in [] if as_json else log_lines(event.data):
                    click.echo(line)
            elif event.is_terminal:
                status = event.type
    if as_json:
        emit({"cast_id": cast_id, "status": status, "logs": logs}, as_json=True)
    else:
        sys.stderr.write(f"spell: cast {cast_id} {status}\n")
