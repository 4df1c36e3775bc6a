"""``spell privacy export USER [--out FILE]``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="export")
@click.argument("user")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the document to this file (created 0600) instead of standard output.",
)
@json_option
def command(user: str, out: Path | None, as_json: bool) -> None:
    """Write everything kept about USER (id or email) as one JSON document: profile, keys (never their
    secrets), preferences and consents, budget, casts with inputs, outputs, events and artifact list,
    ledger postings and the audit records about them. The export is recorded in the audit log.

    Without --out the document goes to standard output; with it, --json prints where it went.

    \b
    Example:
      spell privacy export alice@example.com --out alice.json --json
    """
    from spell.cli.commands.admin._platform import open_platform
    from spell.kit.private_files import private_file

    with open_platform() as platform, platform.db.unit_of_work() as uow:
        row = platform.privacy.user(uow, user)
        if out is None:
            platform.privacy.export(uow, row.id, sys.stdout.buffer, actor_id=None)
            sys.stdout.buffer.write(b"\n")
            return
        private_file(out)
        with out.open("wb") as sink:
            platform.privacy.export(uow, row.id, sink, actor_id=None)
    emit(
        {"user_id": row.id, "path": str(out), "bytes": out.stat().st_size},
        as_json=as_json,
        human=f"exported {row.id} to {out}",
    )
