"""The supply-chain verdict of a bundle folder, as the server would give it: shared by
``spell sbom validate`` and ``spell publish``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from spell.sbom.gate import Verdict

__all__ = ["advisories_option", "local_verdict", "show_warnings"]

advisories_option = click.option(
    "--advisories",
    type=click.Path(exists=True, path_type=Path),
    help="OSV advisories to match the components against: a folder, a .zip or one .json file.",
)


def local_verdict(bundle_dir: Path, *, visibility: str, advisories: Path | None) -> Verdict:
    """The gate's verdict over the bundle's SBOM with this machine's ``SPELL_SUPPLY_*`` settings."""
    from spell.config.supply import SupplySettings
    from spell.sbom.document import read_sbom
    from spell.sbom.gate import GatePolicy, evaluate
    from spell.sbom.osv import OsvIndex, read_osv

    sbom = read_sbom(bundle_dir)
    index = OsvIndex(read_osv(advisories) if advisories is not None else ())
    policy = GatePolicy.from_settings(SupplySettings.from_env())
    return evaluate(sbom, visibility=visibility, policy=policy, advisories=index)


def show_warnings(verdict: Verdict) -> None:
    """The verdict's warnings, on stderr so stdout stays the command's output."""
    for warning in verdict.warnings:
        click.echo(f"warning: {warning}", err=True)
