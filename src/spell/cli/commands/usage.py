"""``spell usage``: what you were charged on the server, per spell or per day."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from spell.cli.commands._remote import money, remote_client, remote_options, rows
from spell.cli.output import emit

__all__ = ["command"]

_DATE = click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"])


@click.command(name="usage")
@click.option("--from", "start", type=_DATE, help="Start (UTC date or time; default: 30 days ago).")
@click.option("--to", "end", type=_DATE, help="End (UTC; default: now).")
@click.option("--by", "group_by", type=click.Choice(["spell", "day"]), default="spell", show_default=True)
@remote_options
def command(
    start: datetime | None, end: datetime | None, group_by: str, profile: str | None, as_json: bool
) -> None:
    """Show what your casts were charged in a time range, grouped by spell or by UTC day.

    \b
    Examples:
      spell usage
      spell usage --by day --from 2026-11-01 --to 2026-12-01 --json
    """
    with remote_client(profile) as client:
        report = client.usage(start=_utc(start), end=_utc(end), group_by=group_by)
    table = rows(
        (group_by.upper(), "CASTS", "AMOUNT"),
        [(getattr(i, group_by), i.casts, money(i.amount_micros, i.currency)) for i in report.items],
        empty="no charges",
    )
    human = f"{report.start} .. {report.end}\n{table}"
    emit(report.model_dump(by_alias=True, exclude_none=True), as_json=as_json, human=human)


def _utc(value: datetime | None) -> datetime | None:
    """A date typed on the command line is read as UTC."""
    return value.replace(tzinfo=UTC) if value is not None else None
