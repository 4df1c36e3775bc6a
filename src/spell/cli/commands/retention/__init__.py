"""``spell retention``: apply the retention periods and manage legal holds (one verb per module)."""

from __future__ import annotations

import click

from spell.cli.lazy import LazyGroup

__all__ = ["group"]

_V = "spell.cli.commands.retention"

VERBS: dict[str, tuple[str, str]] = {
    "run": (f"{_V}.run:command", "Apply the retention rules now, in batches (--dry-run only counts)."),
    "status": (f"{_V}.status:command", "Show the periods in force and the newest run's report."),
    "hold": (f"{_V}.hold:command", "Put a user's or tenant's data under a legal hold."),
    "release": (f"{_V}.release:command", "Release a legal hold."),
}


@click.group(name="retention", cls=LazyGroup, lazy=VERBS)
def group() -> None:
    """Operator commands on how long the platform database keeps cast data and audit records.

    Periods come from SPELL_RETENTION_* (inputs 30 days, outputs and logs 90, audit 400, money records
    7 years). `spell serve` and `spell worker` run the rules every SPELL_RETENTION_INTERVAL_S; held
    users and tenants are exempt.

    \b
    Typical use:
      spell retention run --dry-run
      spell retention hold tenant ten_01J... --reason "case 2026-17"
    """
