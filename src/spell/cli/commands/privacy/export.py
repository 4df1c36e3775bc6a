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
    import shutil
    import tempfile

    from spell.cli.commands.admin._platform import open_platform
    from spell.kit.private_files import private_file

    with open_platform() as platform:
        with platform.db.unit_of_work(write=False) as uow:
            user_id = platform.privacy.user(uow, user).id  # NOT_FOUND before any file is made
        if out is not None:
            private_file(out)
        # The document is handed over only once its audit record committed: to stdout from a spool.
        with out.open("wb") if out is not None else tempfile.SpooledTemporaryFile(8 << 20) as sink:
            with platform.db.unit_of_work(write=False) as uow:
                platform.privacy.export(uow, user_id, sink)
            with platform.db.unit_of_work() as uow:
                platform.privacy.record_export(uow, user_id, actor_id=None)
            if out is None:
                sink.seek(0)
                shutil.copyfileobj(sink, sys.stdout.buffer)
                sys.stdout.buffer.write(b"\n")
                return
    emit(
        {"user_id": user_id, "path": str(out), "bytes": out.stat().st_size},
        as_json=as_json,
        human=f"exported {user_id} to {out}",
    )
