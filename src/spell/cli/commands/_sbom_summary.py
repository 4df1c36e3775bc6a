"""How ``spell inspect`` shows an SBOM: its components, licences and (from a server) advisories."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spell.client.models import VersionSbomOut

__all__ = ["bundle_sbom", "sbom_lines", "served_sbom_lines"]

NO_LICENSE = "NOASSERTION"


def bundle_sbom(bundle: Path) -> dict[str, Any] | None:
    """The summary of an installed bundle's SBOM (format, components, licences), None without one;
    an SBOM that no longer reads is summarised by its error rather than failing the whole inspect."""
    from spell.errors import InvalidSbom
    from spell.sbom.document import read_sbom

    try:
        sbom = read_sbom(bundle)
    except InvalidSbom as exc:
        return {"error": {"code": exc.code, "message": exc.message}}
    if sbom is None:
        return None
    licenses = Counter(e for c in sbom.components for e in (c.licenses or (NO_LICENSE,)))
    return {
        "path": sbom.path,
        "format": sbom.format,
        "spec_version": sbom.spec_version,
        "components": len(sbom.components),
        "licenses": dict(sorted(licenses.items())),
    }


def sbom_lines(summary: dict[str, Any] | None) -> list[str]:
    """The ``sbom`` section of ``spell inspect`` for a bundle's summary."""
    if summary is None:
        return ["sbom", "  (none)"]
    if "error" in summary:
        return ["sbom", f"  invalid: {summary['error']['code']}: {summary['error']['message']}"]
    return [
        "sbom",
        f"  {summary['path']} ({summary['format']} {summary['spec_version']})",
        f"  components: {summary['components']}",
        f"  licenses: {_counts(summary['licenses'])}",
    ]


def served_sbom_lines(served: VersionSbomOut) -> list[str]:
    """The ``sbom`` section for a version's SBOM as the server reports it, advisories included."""
    lines = [
        "sbom",
        f"  {served.path} ({served.format} {served.spec_version})",
        f"  components: {served.summary.components}",
        f"  licenses: {_counts(served.summary.licenses)}",
        f"  advisories: {_counts({k: v for k, v in served.summary.advisories.items() if v})}",
    ]
    for advisory in served.advisories:
        score = "-" if advisory.score is None else f"{advisory.score:.1f}"
        lines.append(f"    {advisory.advisory_id} {advisory.severity} {score} {advisory.component}")
    return lines


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{name}={count}" for name, count in counts.items()) or "(none)"
