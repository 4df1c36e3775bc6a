"""``spell admin tenant``: how tokens reach tenants (one verb per module)."""

from __future__ import annotations

import click

from spell.cli.lazy import LazyGroup

__all__ = ["group"]

_V = "spell.cli.commands.admin.tenant"

VERBS: dict[str, tuple[str, str]] = {
    "bind": (f"{_V}.bind:command", "Let tokens of an issuer naming an org land in this tenant."),
}


@click.group(name="tenant", cls=LazyGroup, lazy=VERBS)
def group() -> None:
    """Tenant bindings: a token reaches a tenant only through its (issuer, org) pair."""
