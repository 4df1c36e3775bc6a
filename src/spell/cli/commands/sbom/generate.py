"""``spell sbom generate DIR [--format spdx|cyclonedx] [--from Cargo.lock] [--force]``."""

from __future__ import annotations

import os
from pathlib import Path

import click

from spell.cli.output import emit, json_option

__all__ = ["command"]


@click.command(name="generate")
@click.argument("bundle_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option(
    "--format",
    "sbom_format",
    type=click.Choice(["spdx", "cyclonedx"]),
    default="spdx",
    show_default=True,
    help="SPDX 2.3 (sbom.spdx.json) or CycloneDX 1.6 (sbom.cdx.json).",
)
@click.option(
    "--from",
    "cargo_lock",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="The Cargo.lock to read (default: BUNDLE_DIR/Cargo.lock when there is one).",
)
@click.option("--force", is_flag=True, help="Replace an SBOM the bundle already has.")
@json_option
def command(bundle_dir: Path, sbom_format: str, cargo_lock: Path | None, force: bool, as_json: bool) -> None:
    """Write the SBOM of BUNDLE_DIR at its root.

    Components come from a Cargo.lock (every crate with a source: pkg:cargo/NAME@VERSION; the
    spell's own crate and path dependencies are left out) and from the manifest's `components:`
    list (name, version, and purl or a purl type). A spell with neither gets an SBOM that lists no
    third-party component. The output is reproducible: SPDX's creation time is SOURCE_DATE_EPOCH
    when set, else 1970-01-01T00:00:00Z.

    The SBOM is covered by the bundle digest, so sign the bundle again afterwards.

    \b
    Examples:
      spell sbom generate ./dict-lookup
      spell sbom generate ./word-count-c --format cyclonedx --force
      spell sbom generate ./my-spell --from ../workspace/Cargo.lock --json
    """
    from typing import cast

    from spell.sbom.document import SbomFormat
    from spell.sbom.generate import created_from_epoch, generate_sbom, write_sbom

    sbom = generate_sbom(
        bundle_dir,
        format=cast("SbomFormat", sbom_format),
        cargo_lock=cargo_lock,
        created=created_from_epoch(os.environ.get("SOURCE_DATE_EPOCH")),
    )
    path = write_sbom(bundle_dir, sbom, force=force)
    data = {
        "path": str(path),
        "format": sbom_format,
        "components": [c.to_dict() for c in sbom.components],
        "resign": True,
    }
    human = (
        f"wrote {path} ({len(sbom.components)} component{'s' if len(sbom.components) != 1 else ''})\n"
        f"the SBOM is in the digest: sign the bundle again (spell sign bundle {bundle_dir} --private-key …)"
    )
    emit(data, as_json=as_json, human=human)
