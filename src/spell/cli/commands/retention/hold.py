"""``spell retention hold user|tenant ID --reason …``."""

from __future__ import annotations

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="hold")
@click.argument("kind", type=click.Choice(["user", "tenant"]))
@click.argument("target_id")
@click.option("--reason", required=True, help="Why the data is held (a case or ticket reference).")
@json_option
def command(kind: str, target_id: str, reason: str, as_json: bool) -> None:
    """Exempt a user's or a whole tenant's data from every retention rule and from erasure.

    The hold lasts until `spell retention release`; setting it is recorded in the audit log.
    Exits 3 with LEGAL_HOLD_TARGET_NOT_FOUND for an unknown id.

    \b
    Example:
      spell retention hold user usr_01J... --reason "litigation 2026-17"
    """
    from spell.cli.commands.admin._platform import open_platform

    with open_platform() as platform, platform.db.unit_of_work() as uow:
        held = platform.legal_holds.hold(
            uow, "user" if kind == "user" else "tenant", target_id, reason, actor_id=None
        )
        data = held.model_dump(mode="json")
    emit(data, as_json=as_json, human=f"{kind} {target_id} is under a legal hold: {reason}")
