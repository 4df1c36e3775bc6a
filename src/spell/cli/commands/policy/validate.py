"""``spell policy validate --file FILE``."""

from __future__ import annotations

from pathlib import Path

import click

from spell.cli.commands.policy._options import policy_file_option
from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="validate")
@policy_file_option
@json_option
def command(file: Path, as_json: bool) -> None:
    """Check FILE against the policy schema (v1, strict keys); prints "policy valid"."""
    from spell.policy.file import read_policy_file

    read_policy_file(file)
    emit({"ok": True, "file": str(file)}, as_json=as_json, human="policy valid")
