"""``spell violations reinstate spell|user ID``."""

from __future__ import annotations

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="reinstate")
@click.argument("subject_type", type=click.Choice(["spell", "user"]))
@click.argument("subject_id")
@click.option("--note", help="Why (kept in the audit record).")
@json_option
def command(subject_type: str, subject_id: str, note: str | None, as_json: bool) -> None:
    """Reinstate a suspended spell (casts again) or user (authenticates again).

    Their violations so far stop counting towards the next suspension; the audit chain records
    abuse.reinstated with the note. Exit code 7 (NOT_SUSPENDED) when it is not suspended.

    \b
    Example:
      spell violations reinstate spell acme/hello --note "egress fixed in 1.0.1"
      spell violations reinstate user usr_01J... --json
    """
    from spell.cli.commands.admin._platform import open_platform

    with open_platform() as platform, platform.db.unit_of_work() as uow:
        done = platform.abuse.reinstate(uow, None, subject_type, subject_id, note=note)
    human = f"reinstated {subject_type} {subject_id} ({done.cleared} violations cleared)"
    emit(done.model_dump(mode="json"), as_json=as_json, human=human)
