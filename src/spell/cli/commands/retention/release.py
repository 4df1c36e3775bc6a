"""``spell retention release user|tenant ID``."""

from __future__ import annotations

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="release")
@click.argument("kind", type=click.Choice(["user", "tenant"]))
@click.argument("target_id")
@json_option
def command(kind: str, target_id: str, as_json: bool) -> None:
    """Release a legal hold: the next retention run applies the usual periods to the data again.

    Recorded in the audit log. Exits 3 with LEGAL_HOLD_TARGET_NOT_FOUND for an unknown id.

    \b
    Example:
      spell retention release user usr_01J...
    """
    from spell.cli.commands.admin._platform import open_platform

    with open_platform() as platform, platform.db.unit_of_work() as uow:
        released = platform.legal_holds.release(
            uow, "user" if kind == "user" else "tenant", target_id, actor_id=None
        )
        data = released.model_dump(mode="json")
    emit(data, as_json=as_json, human=f"{kind} {target_id} is no longer held")
