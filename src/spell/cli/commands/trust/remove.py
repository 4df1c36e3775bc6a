"""``spell trust remove <publisher>``."""

from __future__ import annotations

import click

from spell.cli.commands.trust._store import home_trust_store
from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="remove")
@click.argument("publisher")
@json_option
def command(publisher: str, as_json: bool) -> None:
    """Forget PUBLISHER and all its keys; its signatures become untrusted."""
    home_trust_store().remove(publisher)
    emit({"publisher": publisher, "removed": True}, as_json=as_json, human=f"removed publisher={publisher}")
