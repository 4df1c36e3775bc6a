"""``spell admin load-buttons FILE``: operator-managed buttons."""

from __future__ import annotations

from pathlib import Path

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="load-buttons")
@click.argument("path", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@json_option
def command(path: Path, as_json: bool) -> None:
    """Create or update the buttons in PATH; each belongs to the tenant that publishes its spell.

    \b
    PATH holds {"buttons": [{"id": "greet", "spell_id": "samples/hello-wasm", "version": "1.0.0",
                 "allowed_roles": ["caster"], "allowed_tenants": ["*"],
                 "require_signature": true, "require_confirmation": false}]}
    `spell serve` loads SPELL_SERVER_BUTTONS_FILE the same way at start.

    \b
    Example:
      spell admin load-buttons buttons.json --json
    """
    from spell.cli.commands.admin._platform import open_platform
    from spell.platform.button.service import read_buttons_file

    entries = read_buttons_file(path)
    with open_platform() as platform, platform.db.unit_of_work() as uow:
        report = platform.buttons.load(uow, entries)
    failed = {k: v for k, v in report.items() if v not in ("created", "updated")}
    lines = [f"{button}: {outcome}" for button, outcome in sorted(report.items())]
    emit({"buttons": report, "failed": len(failed)}, as_json=as_json, human="\n".join(lines) or "no buttons")
