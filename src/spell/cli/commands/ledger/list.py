"""``spell ledger list``: your postings on the server, newest first."""

from __future__ import annotations

import itertools

import click

from spell.cli.commands._remote import money, remote_client, remote_options, rows
from spell.cli.output import emit

__all__ = ["command"]


@click.command(name="list")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="At most this many.")
@remote_options
def command(limit: int, profile: str | None, as_json: bool) -> None:
    """List your ledger postings on the server of your profile (GET /v1/ledger), newest first.

    \b
    Examples:
      spell ledger list
      spell ledger list --limit 200 --json
    """
    with remote_client(profile) as client:
        entries = list(itertools.islice(client.ledger(limit=min(limit, 500)), limit))
    table = rows(
        ("WHEN", "KIND", "ACCOUNT", "AMOUNT", "CAST"),
        [(e.created_at, e.kind, e.account, money(e.amount_micros, e.currency), e.cast_id) for e in entries],
        empty="no postings",
    )
    emit({"items": [e.model_dump() for e in entries]}, as_json=as_json, human=table)
