"""``spell advisories``: the OSV advisories the server checks spells against (one verb per module)."""

from __future__ import annotations

import click

from spell.cli.lazy import LazyGroup

__all__ = ["group"]

_V = "spell.cli.commands.advisories"

VERBS: dict[str, tuple[str, str]] = {
    "import": (f"{_V}.import_:command", "Load OSV advisories (a directory, a zip or a file), then re-scan."),
    "rescan": (f"{_V}.rescan:command", "Re-scan every published version against the advisories now."),
    "list": (f"{_V}.list_:command", "Show the advisories held, most recently imported first."),
}


@click.group(name="advisories", cls=LazyGroup, lazy=VERBS)
def group() -> None:
    """Operator commands on the platform database's vulnerability advisories.

    Each import re-scans every published version: newly vulnerable ones are flagged, their makers
    notified, and delisted after SPELL_SUPPLY_GRACE_DAYS unless fixed. Everything is offline: fetch
    osv.dev's per-ecosystem zips elsewhere and copy them over.

    \b
    Typical use:
      spell advisories import crates.io.zip
      spell advisories import ./osv/PyPI --json
    """
