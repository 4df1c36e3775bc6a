"""``spell casts list``: your tenant's casts on the server, newest first."""

from __future__ import annotations

import itertools

import click

from spell.cli.commands._remote import remote_client, remote_options, rows
from spell.cli.output import emit

__all__ = ["command"]

STATUSES = ("queued", "running", "succeeded", "failed", "timeout", "canceled", "aborted")


@click.command(name="list")
@click.option("--status", type=click.Choice(STATUSES), help="Only casts in this state.")
@click.option("--spell", "spell_id", metavar="ID", help="Only casts of this spell.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="At most this many.")
@remote_options
def command(status: str | None, spell_id: str | None, limit: int, profile: str | None, as_json: bool) -> None:
    """List casts of your tenant on the server, newest first (GET /v1/casts, every page as needed).

    \b
    Examples:
      spell casts list
      spell casts list --spell acme/hello --status failed --json
    """
    with remote_client(profile) as client:
        casts = list(itertools.islice(client.casts.list(status=status, spell_id=spell_id), limit))
    table = rows(
        ("ID", "SPELL", "VERSION", "STATUS", "CREATED"),
        [(c.id, c.spell_id, c.version, c.status, c.created_at) for c in casts],
        empty="no casts",
    )
    emit({"items": [c.model_dump() for c in casts]}, as_json=as_json, human=table)
