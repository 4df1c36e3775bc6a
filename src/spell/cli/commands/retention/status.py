"""``spell retention status``: the periods in force and the newest run."""

from __future__ import annotations

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="status")
@json_option
def command(as_json: bool) -> None:
    """Show the retention periods, the schedule, the key checkpoints are signed with and the newest run.

    The key (Ed25519, SPKI base64url) is what an auditor checks a checkpoint's signature with.

    \b
    Example:
      spell retention status --json
    """
    from spell.cli.commands.admin._platform import open_platform
    from spell.cli.commands.retention.run import describe_report

    with open_platform() as platform, platform.db.unit_of_work(write=False) as uow:
        status = platform.retention.status(uow)
    data = status.model_dump(mode="json")
    periods = data["periods"]
    lines = [
        "periods (days): "
        + ", ".join(f"{name.removesuffix('_days')} {days}" for name, days in periods.items()),
        f"scheduled every {data['interval_s']} s" if data["interval_s"] else "not scheduled",
        f"checkpoint key: {data['checkpoint_key']}",
        describe_report(data["last_run"]) if data["last_run"] else "no run yet",
    ]
    emit(data, as_json=as_json, human="\n".join(lines))
