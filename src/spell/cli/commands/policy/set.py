"""``spell policy set --file FILE``."""

from __future__ import annotations

from pathlib import Path

import click

from spell.cli.commands.policy._options import policy_file_option
from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="set")
@policy_file_option
@json_option
def command(file: Path, as_json: bool) -> None:
    """Validate FILE and write it, normalised, to $SPELL_HOME/policy.json.

    An invalid file changes nothing.
    """
    from spell.config.home import SpellHome
    from spell.policy.file import read_policy_file, save_policy

    policy = read_policy_file(file)
    destination = SpellHome.from_env().policy_file
    save_policy(destination, policy)
    emit({"ok": True, "path": str(destination)}, as_json=as_json, human=f"policy written: {destination}")
