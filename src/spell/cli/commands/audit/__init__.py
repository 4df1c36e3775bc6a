"""``spell audit``: check the hash-chained audit log (one verb per module)."""

from __future__ import annotations

import click

from spell.cli.lazy import LazyGroup

__all__ = ["group"]

VERBS: dict[str, tuple[str, str]] = {
    "verify": (
        "spell.cli.commands.audit.verify:command",
        "Walk the hash chain and name the first bad record.",
    ),
}


@click.group(name="audit", cls=LazyGroup, lazy=VERBS)
def group() -> None:
    """Operator checks of the append-only audit log in the platform database."""
