"""``spell list``: installed spells, one row per version."""

from __future__ import annotations

import click

from spell.cli.console import table
from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="list")
@json_option
def command(as_json: bool) -> None:
    """List installed spells: id@version, name, risk, billing, runtime and signature at install.

    \b
    Example:
      spell list --json | jq '.[].id'
    """
    from spell.bundle.store import LocalStore
    from spell.config.home import SpellHome

    spells = LocalStore(SpellHome.from_env().spells).list()
    rows = [
        {
            "id": s.id,
            "version": s.version,
            "name": s.manifest.name,
            "risk": s.manifest.risk,
            "billing_enabled": s.manifest.billing.enabled,
            "execution": s.manifest.runtime.execution,
            "signature": s.source.signature if s.source else None,
            "source": s.source.kind if s.source else None,
            "path": str(s.path),
        }
        for s in spells
    ]
    if not rows:
        emit(rows, as_json=as_json, human="No spells installed")
        return
    columns = ("id@version", "name", "risk", "billing.enabled", "runtime.execution", "signature")
    cells = [
        (
            f"{r['id']}@{r['version']}",
            r["name"],
            r["risk"],
            r["billing_enabled"],
            r["execution"],
            r["signature"],
        )
        for r in rows
    ]
    emit(rows, as_json=as_json, human=table(columns, cells))
