"""``spell sbom validate DIR [--advisories PATH] [--visibility …]``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from spell.cli.commands.sbom._gate import advisories_option, local_verdict, show_warnings
from spell.cli.output import emit, json_option

if TYPE_CHECKING:
    from spell.sbom.gate import Verdict

__all__ = ["command"]

VISIBILITIES = ("public", "unlisted", "private", "team")


@click.command(name="validate")
@click.argument("bundle_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@advisories_option
@click.option(
    "--visibility",
    type=click.Choice(VISIBILITIES),
    default="public",
    show_default=True,
    help="The visibility to judge the bundle at (the gate requires an SBOM for some).",
)
@json_option
def command(bundle_dir: Path, advisories: Path | None, visibility: str, as_json: bool) -> None:
    """Check BUNDLE_DIR's SBOM and show the supply-chain gate's verdict, as `spell publish` would.

    The SBOM must be SPDX 2.3 or CycloneDX 1.5/1.6 JSON whose components all have a version and a
    versioned purl. The components are matched against the OSV advisories in --advisories (none
    when left out) and their licences against SPELL_SUPPLY_LICENSE_ALLOW/DENY. Exits non-zero when
    the SBOM is invalid or the gate refuses (a missing SBOM where SPELL_SUPPLY_SBOM_REQUIRED_FOR
    names the visibility, an advisory at or above SPELL_SUPPLY_BLOCK_SCORE, a licence not allowed).

    \b
    Examples:
      spell sbom validate ./my-spell
      spell sbom validate ./my-spell --advisories ./osv-crates.zip --visibility private --json
    """
    verdict = local_verdict(bundle_dir, visibility=visibility, advisories=advisories)
    if not as_json:
        click.echo(_human(verdict, visibility))
        show_warnings(verdict)
    verdict.raise_for_refusal()
    if as_json:
        components = [c.to_dict() for c in verdict.sbom.components] if verdict.sbom is not None else []
        emit({**verdict.to_dict(), "components": components}, as_json=True)


def _human(verdict: Verdict, visibility: str) -> str:
    sbom = verdict.sbom
    if sbom is None:
        lines = ["no SBOM (sbom.spdx.json or sbom.cdx.json)"]
    else:
        kind = "SPDX" if sbom.format == "spdx" else "CycloneDX"
        count = len(sbom.components)
        lines = [f"{sbom.path} ({kind} {sbom.spec_version}): {count} component{'s' if count != 1 else ''}"]
        lines += [
            f"  {c.name} {c.version}  {c.purl}" + (f"  {' AND '.join(c.licenses)}" if c.licenses else "")
            for c in sbom.components
        ]
    lines += [f"blocks: {finding.describe()}" for finding in verdict.blocking]
    lines += [f"licence: {problem.describe()}" for problem in verdict.license_problems]
    lines.append(f"gate ({visibility}): {'passed' if verdict.passed else 'refused'}")
    return "\n".join(lines)
