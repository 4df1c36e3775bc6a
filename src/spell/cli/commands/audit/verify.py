"""``spell audit verify``: the audit chain is whole, in order and unedited."""

from __future__ import annotations

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="verify")
@json_option
def command(as_json: bool) -> None:
    """Recompute each audit record's hash and its link to the one before.

    The log is several independent chains ("lanes"; on SQLite only lane 0): each is walked on its
    own. Exits 0 when every lane is intact (--json lists them: records, head_seq, head_hash);
    otherwise exits 4 with AUDIT_CHAIN_BROKEN naming the first edited, deleted or reordered record
    (details.lane, details.lane_seq, details.problem; details.seq and details.id while the record is
    there). After retention folded old records, a lane's walk starts at its newest checkpoint, whose
    signature and kept records are checked first (problem checkpoint_signature or
    checkpoint_mismatch).

    \b
    Example:
      spell audit verify --json
    """
    from spell.cli.commands.admin._platform import open_platform

    with open_platform() as platform, platform.db.unit_of_work(write=False) as uow:
        report = platform.audit.verify(uow)
    emit(
        {"ok": True, **report.model_dump()},
        as_json=as_json,
        human=f"audit chain ok: {report.records} records in {len(report.lanes)} lanes",
    )
