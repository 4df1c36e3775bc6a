"""``spell privacy purge``."""

from __future__ import annotations

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="purge")
@click.option(
    "--limit", type=click.IntRange(1, 10_000), default=100, show_default=True, help="Users per run."
)
@json_option
def command(limit: int, as_json: bool) -> None:
    """Purge the erased users whose grace period ended: their casts' inputs, outputs, error messages
    and webhook URLs are replaced, their events (logs) and artifacts deleted. Safe to run as often as
    you like (from cron, say); a user is purged once.

    \b
    Example:
      spell privacy purge --json
    """
    from spell.cli.commands.admin._platform import open_platform

    with open_platform() as platform, platform.db.unit_of_work() as uow:
        report = platform.privacy.purge_due(uow, limit=limit)
    emit(
        report.model_dump(mode="json"),
        as_json=as_json,
        human=f"purged {len(report.users)} users: {report.casts} casts, {report.artifacts} artifacts",
    )
