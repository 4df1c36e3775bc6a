"""``spell advisories rescan``: re-check every published version against the advisories held."""

from __future__ import annotations

from typing import Any

import click

from spell.cli.output import emit, json_option

__all__ = ["command", "describe_scan"]


@click.command(name="rescan")
@json_option
def command(as_json: bool) -> None:
    """Re-scan every version published with an SBOM against the advisories held, now.

    `spell serve` does it every SPELL_SUPPLY_RESCAN_INTERVAL_S and after each import: newly vulnerable
    versions are flagged and their makers notified, flagged ones past their grace period delisted,
    fixed ones cleared.

    \b
    Example:
      spell advisories rescan --json
    """
    from spell.cli.commands.admin._platform import open_platform
    from spell.cli.console import activity

    with (
        activity("re-scanning published versions", quiet=as_json, transient=True),
        open_platform() as platform,
    ):
        data = platform.supply_scan.run(platform.db).to_dict()
    emit(data, as_json=as_json, human=describe_scan(data))


def describe_scan(scan: dict[str, Any]) -> str:
    """One line of counts, then one line per version whose state changed."""
    lines = [
        f"re-scan: {scan['scanned']} versions, {scan['new_findings']} new findings,"
        f" {scan['resolved_findings']} resolved"
    ]
    for kind in ("flagged", "delisted", "cleared"):
        lines += [f"  {kind}: {ref}" for ref in scan[kind]]
    return "\n".join(lines)
