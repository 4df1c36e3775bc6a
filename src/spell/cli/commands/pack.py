"""``spell pack DIR [-o FILE]``: the canonical, reproducible tar of a bundle folder."""

from __future__ import annotations

import hashlib
from pathlib import Path

import click

from spell.cli.console import activity
from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="pack")
@click.argument("bundle_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the tar (default: <publisher>__<name>-<version>.tar here).",
)
@json_option
def command(bundle_dir: Path, output: Path | None, as_json: bool) -> None:
    """Pack BUNDLE_DIR into an uncompressed tar that is the same bytes on any machine.

    Entries are sorted, with mtime 0, owner 0 and modes 0644/0755; links and device files are
    refused; .git and .spell-keys folders are left out. Prints the bundle digest (what signatures
    cover) and the sha256 of the tar itself. Packing twice gives the same sha256.

    \b
    Example:
      spell pack ./hello -o hello.tar --json
    """
    from spell.bundle.archive import write_archive
    from spell.bundle.digest import bundle_digest
    from spell.bundle.loaders import load_manifest

    with activity(f"packing {bundle_dir}", quiet=as_json, transient=True) as progress:
        manifest = load_manifest(bundle_dir)
        progress(f"computing the digest of {manifest.id}@{manifest.version}")
        digest = bundle_digest(bundle_dir, manifest)
        out = output or Path(f"{manifest.id.replace('/', '__')}-{manifest.version}.tar")
        progress(f"writing {out}")
        data = write_archive(bundle_dir, out)
    result = {
        "path": str(out),
        "id": manifest.id,
        "version": manifest.version,
        "digest": digest.text,
        "archive_sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
    }
    human = "\n".join(f"{key}: {value}" for key, value in result.items())
    emit(result, as_json=as_json, human=f"packed: {out}\n{human}")
