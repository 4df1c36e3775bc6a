"""Reading an SBOM at a bundle's root (``sbom.spdx.json`` or ``sbom.cdx.json``) into its components.

Both formats are checked by their maintained libraries (``spdx-tools``, ``cyclonedx-python-lib``);
every component needs a version and a versioned purl (``packageurl-python``). The libraries are
imported only when an SBOM is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from spell.bundle.digest import SBOM_FILES

__all__ = ["PURL_ECOSYSTEMS", "SBOM_FILES", "Component", "Sbom", "parse_sbom", "read_sbom", "sbom_path"]

SbomFormat = Literal["spdx", "cyclonedx"]

#: purl type -> OSV ecosystem name (https://ossf.github.io/osv-schema/#affectedpackage-field).
PURL_ECOSYSTEMS = {
    "cargo": "crates.io",
    "pypi": "PyPI",
    "npm": "npm",
    "golang": "Go",
    "maven": "Maven",
    "nuget": "NuGet",
    "gem": "RubyGems",
    "composer": "Packagist",
    "hex": "Hex",
    "pub": "Pub",
    "swift": "SwiftURL",
    "deb": "Debian",
    "apk": "Alpine",
    "github": "GitHub Actions",
}


@dataclass(frozen=True)
class Component:
    """One package the bundle contains."""

    name: str
    version: str | None
    purl: str | None  # versioned, e.g. pkg:cargo/serde@1.0.200
    licenses: tuple[str, ...] = ()  # SPDX licence expressions as declared

    @property
    def key(self) -> str:
        """The purl, else ``name@version``: how findings name the component."""
        if self.purl:
            return self.purl
        return f"{self.name}@{self.version}" if self.version else self.name

    @property
    def ecosystem(self) -> str | None:
        """The OSV ecosystem of the purl type (``cargo`` -> ``crates.io``, ``pypi`` -> ``PyPI``, …)."""
        if not self.purl or not self.purl.startswith("pkg:"):
            return None
        kind = self.purl[4:].split("/", 1)[0].lower()
        return PURL_ECOSYSTEMS.get(kind)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form kept with a published version."""
        return {
            "name": self.name,
            "version": self.version,
            "purl": self.purl,
            "licenses": list(self.licenses),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Component:
        """The inverse of ``to_dict``."""
        return cls(
            name=str(data["name"]),
            version=data.get("version"),
            purl=data.get("purl"),
            licenses=tuple(data.get("licenses") or ()),
        )


@dataclass(frozen=True)
class Sbom:
    """A validated SBOM document and the components it lists."""

    format: SbomFormat
    spec_version: str  # "2.3", "1.5", "1.6"
    path: str  # the file name at the bundle root
    document: dict[str, Any]
    components: tuple[Component, ...]


def sbom_path(bundle_dir: Path) -> str | None:
    """The SBOM file at the bundle root, or None; both at once is ``InvalidSbom``."""
    raise NotImplementedError


def read_sbom(bundle_dir: Path) -> Sbom | None:
    """The bundle's SBOM, validated, or None when it has none (``InvalidSbom`` when it is bad)."""
    raise NotImplementedError


def parse_sbom(name: str, data: bytes) -> Sbom:
    """Validate ``data`` as the SBOM file ``name`` (one of ``SBOM_FILES``); raises ``InvalidSbom``."""
    raise NotImplementedError
