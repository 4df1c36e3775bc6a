"""``spell advisories import PATH``: load OSV records into the platform database, then re-scan."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from spell.cli.output import emit, json_option

if TYPE_CHECKING:
    from spell.sbom.osv import AdvisoryRecord

__all__ = ["command"]

_EVERY = 1_000  # records between two progress lines


@click.command(name="import")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@json_option
def command(path: Path, as_json: bool) -> None:
    """Import the OSV advisories under PATH: a directory of OSV JSON files (recursively), a zip as
    osv.dev publishes per ecosystem, or one file.

    A record not newer (its `modified`) than the copy already held changes nothing, so importing the
    same set twice is harmless. The import then re-scans every published version; the counts and what
    the scan flagged, delisted or cleared are printed. Recorded in the audit log.

    \b
    Example:
      spell advisories import crates.io.zip --json
    """
    from spell.cli.commands.admin._platform import open_platform
    from spell.cli.console import activity
    from spell.sbom.osv import read_osv

    with activity(f"importing advisories from {path}", quiet=as_json) as progress:
        with open_platform() as platform, platform.db.unit_of_work() as uow:
            result = platform.advisories.import_records(uow, _counted(read_osv(path), progress))
        progress("re-scanned published versions")
    data = result.to_dict()
    emit(data, as_json=as_json, human=_human(data))


def _counted(records: Iterable[AdvisoryRecord], progress: Callable[[str], None]) -> Iterator[AdvisoryRecord]:
    count = 0
    for count, record in enumerate(records, start=1):
        if count % _EVERY == 0:
            progress(f"{count} records read")
        yield record
    progress(f"{count} records read; re-scanning published versions")


def _human(data: dict[str, object]) -> str:
    from spell.cli.commands.advisories.rescan import describe_scan

    lines = [
        f"advisories: {data['added']} added, {data['updated']} updated, {data['unchanged']} unchanged"
        f" ({data['withdrawn']} withdrawn)"
    ]
    scan = data.get("scan")
    if isinstance(scan, dict):
        lines.append(describe_scan(scan))
    return "\n".join(lines)
